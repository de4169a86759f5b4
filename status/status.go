package status

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/hostfs"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/clock"
	"github.com/etcd-ramdisk/etcd-ramdisk/journal"
	"github.com/etcd-ramdisk/etcd-ramdisk/manifest"
	"github.com/etcd-ramdisk/etcd-ramdisk/offhost"
)

// DefaultMaxBackupAge is how old the newest good backup may be before status
// asks for attention: cron's backup stores a snapshot every 15 minutes, every
// 20 while the journal follows etcd (assets.CronEveryWithJournal); 90
// minutes is several missed snapshots, not one slow run.
const DefaultMaxBackupAge = 90 * time.Minute

// FullPercent is how full the tmpfs may get before status warns: past it, a
// growing database soon meets etcd's "no space" alarm, and backup --method exec
// has no room to stage a snapshot.
const FullPercent = 80

// Image presence in containerd.
const (
	ImagePresent = "present"
	ImageMissing = "missing"
	ImageUnknown = "unknown" // containerd could not be asked
)

// Report is everything status found. Fields it could not determine are left
// zero and the reason is in the matching Error field.
type Report struct {
	Manifest      string     `json:"manifest"`
	ManifestError string     `json:"manifestError,omitempty"`
	DataDir       DataDir    `json:"dataDir"`
	Backups       Backups    `json:"backups"`
	Image         *ImageInfo `json:"image,omitempty"` // of the newest good snapshot
	Lock          Lock       `json:"lock"`
	Install       Install    `json:"install"`
	Shutdown      Shutdown   `json:"shutdown"`
	Offhost       *Offhost   `json:"offhost,omitempty"` // nil when off-host copies are off
	Journal       Journal    `json:"journal"`
	Runtime       Runtime    `json:"runtime"`
	// Broken is what stops backups, or the next boot's restore, from
	// working at all; Warnings the rest that needs attention.
	Broken         []string `json:"broken"`
	Warnings       []string `json:"warnings"`
	NeedsAttention bool     `json:"needsAttention"`
}

// DataDir describes etcd's data dir on the host and the filesystem under it.
type DataDir struct {
	Path        string  `json:"path"`
	Mounted     bool    `json:"mounted"` // a filesystem is mounted exactly at Path
	FSType      string  `json:"fsType,omitempty"`
	Source      string  `json:"source,omitempty"`
	SizeBytes   uint64  `json:"sizeBytes,omitempty"`
	UsedBytes   uint64  `json:"usedBytes,omitempty"`
	FreeBytes   uint64  `json:"freeBytes,omitempty"`
	UsedPercent float64 `json:"usedPercent,omitempty"`
	DBBytes     int64   `json:"dbBytes,omitempty"`   // member/snap/db
	DBPercent   float64 `json:"dbPercent,omitempty"` // DBBytes of SizeBytes
	Error       string  `json:"error,omitempty"`
}

// IsTmpfs reports whether the data dir is a tmpfs mount point.
func (d *DataDir) IsTmpfs() bool { return d.Mounted && d.FSType == "tmpfs" }

// Backups summarises the backup dir.
type Backups struct {
	Dir      string        `json:"dir"`
	LastGood *SnapshotInfo `json:"lastGood,omitempty"`
	Good     int           `json:"good"`
	Suspect  int           `json:"suspect"`
	Problems []string      `json:"problems"`           // what store.List found wrong
	Clock    Clock         `json:"clock"`              // what the snapshots' times say about the clock
	Missing  bool          `json:"missing,omitempty"`  // the backup dir does not exist
	ReadOnly string        `json:"readOnly,omitempty"` // why the store cannot be written
	Error    string        `json:"error,omitempty"`
}

// SnapshotInfo is the part of a snapshot's metadata that status shows.
type SnapshotInfo struct {
	ID         string        `json:"id"`
	Time       time.Time     `json:"time"`
	AgeSeconds int64         `json:"ageSeconds"`
	age        time.Duration // unrounded, for the age check
	Revision   int64         `json:"revision"`
	Reason     string        `json:"reason"`
	ClockWrong bool          `json:"clockWrong,omitempty"` // its time is implausible, so AgeSeconds means nothing
}

// ImageInfo says whether the image recorded with the newest good snapshot is
// still there for a restore: in containerd, or as an archive in the backup dir.
type ImageInfo struct {
	Reference       string `json:"reference"`
	Digest          string `json:"digest"`
	InContainerd    string `json:"inContainerd"` // ImagePresent, ImageMissing or ImageUnknown
	ContainerdError string `json:"containerdError,omitempty"`
	Archived        bool   `json:"archived"`
}

// Lock is the store lock's state.
type Lock struct {
	Held   bool   `json:"held"`
	Holder string `json:"holder,omitempty"`
	Error  string `json:"error,omitempty"`
}

// Install says which of etcd-ramdisk's install assets are in place.
type Install struct {
	DropIn    bool   `json:"dropIn"`
	Cron      bool   `json:"cron"`
	Fstab     bool   `json:"fstab"`
	FstabLine string `json:"fstabLine,omitempty"`
}

// ImageChecker asks the container runtime whether an image is present. It is
// an interface so that status works, and is tested, without containerd.
type ImageChecker interface {
	HasImage(ctx context.Context, ref, digest string) (bool, error)
}

// Options say where to look. Zero fields take the defaults of a kubeadm node.
type Options struct {
	Manifest     string // kubeadm's etcd manifest: where the data dir is
	DataDir      string // overrides the manifest's data dir
	BackupDir    string
	Root         string        // prefix for the install assets' paths (/etc/...); "/" on a real node
	MaxBackupAge time.Duration // DefaultMaxBackupAge when 0
	Images       ImageChecker  // nil: containerd is reported unknown
	// ContainerdError is why containerd could not be reached; nil when it
	// answered.
	ContainerdError error
	Etcd            EtcdChecker // nil: etcd's container is not looked for
	Mounts          func() ([]Mount, error)
	Statfs          func(path string) (FSStats, error)
	Now             func() time.Time
	Offhost         *offhost.Config // the off-host copies' settings; nil when off
	OffhostError    error           // why their settings could not be read
	// JournalState is the journal service's published state;
	// journal.DefaultStatePath under Root when "".
	JournalState string
	// Alive says whether a process exists (the journal's PID); kill(pid, 0)
	// when nil.
	Alive func(pid int) bool
}

func (o *Options) defaults() {
	if o.Root == "" {
		o.Root = "/"
	}
	if o.MaxBackupAge <= 0 {
		o.MaxBackupAge = DefaultMaxBackupAge
	}
	if o.Mounts == nil {
		o.Mounts = hostfs.Mounts
	}
	if o.Statfs == nil {
		o.Statfs = hostfs.Statfs
	}
	if o.Now == nil {
		o.Now = clock.Now
	}
	if o.JournalState == "" {
		o.JournalState = filepath.Join(o.Root, journal.DefaultStatePath)
	}
	if o.Alive == nil {
		o.Alive = journal.ProcessAlive
	}
}

// Gather builds the report. It fails only on unusable options; everything it
// cannot find out is recorded in the report instead, so that one broken part
// (containerd down, a missing manifest) never hides the rest.
func Gather(ctx context.Context, o Options) (*Report, error) {
	o.defaults()
	if !filepath.IsAbs(o.Root) {
		return nil, fmt.Errorf("root %q is not an absolute path", o.Root)
	}
	r := &Report{Manifest: o.Manifest, Warnings: []string{}}
	r.DataDir.Path = o.DataDir
	podNamespace := "kube-system"
	m, err := manifest.Load(o.Manifest)
	switch {
	case err == nil:
		podNamespace = m.Namespace
		if r.DataDir.Path == "" {
			r.DataDir.Path = m.Member.HostDataDir
		}
	case r.DataDir.Path == "":
		r.ManifestError = err.Error()
	}
	if r.DataDir.Path != "" {
		r.DataDir = checkDataDir(r.DataDir.Path, o.Mounts, o.Statfs)
	}
	st, newest := checkBackups(&r.Backups, o.BackupDir, o.Now())
	if st != nil {
		r.Lock = checkLock(st)
	}
	if newest != nil {
		r.Image = checkImage(ctx, st, newest, o.Images)
	}
	r.Install = checkInstall(o.Root, r.DataDir.Path)
	r.Shutdown = checkShutdown(st, o.Root, hostfs.BootID())
	r.Offhost = checkOffhost(st, &o)
	r.Journal = checkJournal(st, &o)
	r.Runtime = checkRuntime(ctx, &o, podNamespace)
	r.Broken = broken(r, o.BackupDir, r.Install.DropIn || r.Install.Cron)
	r.Warnings = append(warnings(r, o.MaxBackupAge), shutdownWarnings(r.Shutdown)...)
	r.Warnings = append(r.Warnings, offhostWarnings(r, o.Now(), o.MaxBackupAge)...)
	r.Warnings = append(r.Warnings, journalWarnings(&r.Journal)...)
	r.NeedsAttention = len(r.Warnings) > 0 || len(r.Broken) > 0
	return r, nil
}

// WriteText prints the report as aligned "key: value" lines, then one WARN
// line per warning.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	line := func(key, format string, args ...any) {
		fmt.Fprintf(&b, "%-12s %s\n", key+":", fmt.Sprintf(format, args...))
	}
	d := &r.DataDir
	switch {
	case r.ManifestError != "" && d.Path == "":
		line("data dir", "unknown (%s)", r.ManifestError)
	case d.Error != "":
		line("data dir", "%s (%s)", d.Path, d.Error)
	default:
		line("data dir", "%s", d.Path)
	}
	if d.Path != "" {
		line("mount", "%s", d.mountText())
		if d.SizeBytes > 0 {
			line("tmpfs", "size %s, used %s (%.0f%%), free %s", Human(int64(d.SizeBytes)), Human(int64(d.UsedBytes)), d.UsedPercent, Human(int64(d.FreeBytes)))
		}
		line("database", "%s", d.dbText())
	}
	bk := &r.Backups
	line("last backup", "%s", bk.lastText())
	line("snapshots", "%d good, %d suspect, %d problems in %s", bk.Good, bk.Suspect, len(bk.Problems), bk.Dir)
	if r.Image != nil {
		line("image", "%s", r.Image.text())
	}
	line("lock", "%s", r.Lock.text())
	containerd, etcd := r.Runtime.text()
	line("containerd", "%s", containerd)
	line("etcd", "%s", etcd)
	in := &r.Install
	line("install", "kubelet drop-in %s, cron %s, fstab %s", yesNo(in.DropIn), yesNo(in.Cron), yesNo(in.Fstab))
	r.Journal.text(line)
	if r.Shutdown.Last != nil {
		line("shutdown", "%s", r.Shutdown.text())
	}
	if r.Shutdown.StaleAcknowledged != "" {
		line("restore", "%s", r.Shutdown.StaleAcknowledged)
	}
	if r.Shutdown.Kubelet != "" {
		line("kubelet", "%s", r.Shutdown.Kubelet)
	}
	if r.Offhost != nil {
		line("off-host", "%s", r.Offhost.text())
	}
	for _, f := range r.Broken {
		fmt.Fprintf(&b, "FAIL %s\n", f)
	}
	for _, warn := range r.Warnings {
		fmt.Fprintf(&b, "WARN %s\n", warn)
	}
	if len(r.Warnings) == 0 && len(r.Broken) == 0 {
		b.WriteString("OK   nothing needs attention\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (d *DataDir) mountText() string {
	if !d.Mounted {
		return "not a mount point"
	}
	return fmt.Sprintf("%s (source %s)", d.FSType, d.Source)
}

func (d *DataDir) dbText() string {
	switch {
	case d.DBBytes == 0:
		return "none (no member/snap/db)"
	case d.SizeBytes == 0:
		return Human(d.DBBytes)
	}
	return fmt.Sprintf("%s (%.1f%% of the tmpfs)", Human(d.DBBytes), d.DBPercent)
}

func (b *Backups) lastText() string {
	s := b.LastGood
	switch {
	case s != nil && s.ClockWrong:
		return fmt.Sprintf("%s dated %s (the clock looks wrong: age unknown), revision %d, %s", s.ID, s.Time.UTC().Format("2006-01-02 15:04:05Z"), s.Revision, s.Reason)
	case s != nil:
		return fmt.Sprintf("%s at %s (%s ago), revision %d, %s", s.ID, s.Time.UTC().Format("2006-01-02 15:04:05Z"), time.Duration(s.AgeSeconds)*time.Second, s.Revision, s.Reason)
	case b.Error != "":
		return "unknown (" + b.Error + ")"
	}
	return "none"
}

func (i *ImageInfo) text() string {
	cd := i.InContainerd
	if i.ContainerdError != "" {
		cd += " (" + i.ContainerdError + ")"
	}
	return fmt.Sprintf("%s@%s: containerd %s, archived %s", i.Reference, shortDigest(i.Digest), cd, yesNo(i.Archived))
}

func (l *Lock) text() string {
	switch {
	case l.Error != "":
		return "unknown (" + l.Error + ")"
	case !l.Held:
		return "free"
	case l.Holder == "":
		return "held (holder not recorded)"
	}
	return "held by " + l.Holder
}

func shortDigest(d string) string {
	if len(d) > len("sha256:")+12 {
		return d[:len("sha256:")+12]
	}
	return d
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// Human formats a byte count the way status and list show sizes (1.5M, 2.0G).
func Human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1fG", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1fM", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1fK", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%dB", n)
}
