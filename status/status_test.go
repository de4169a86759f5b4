package status

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/assets"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

var now = time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)

const testDigest = "sha256:abababababababababababababababababababababababababababababababab"

// fakeImages answers HasImage without containerd.
type fakeImages struct {
	present bool
	err     error
}

func (f fakeImages) HasImage(context.Context, string, string) (bool, error) { return f.present, f.err }

// fakeEtcd answers EtcdRunning without containerd.
type fakeEtcd struct {
	running bool
	err     error
}

func (f fakeEtcd) EtcdRunning(context.Context, string) (bool, error) { return f.running, f.err }

// fixture describes a node; healthy() is one that needs no attention, and
// each test case changes one thing.
type fixture struct {
	backupAges []time.Duration // one good snapshot per entry
	suspect    bool
	stray      bool // an unexpected file in snapshots/: a store problem
	archived   bool
	images     ImageChecker
	etcd       EtcdChecker
	noDB       bool   // the data dir holds no database
	fsType     string // "" when nothing is mounted on the data dir
	stats      FSStats
	dropIn     bool
	cron       bool
	fstab      bool
}

func healthy() fixture {
	return fixture{
		backupAges: []time.Duration{10 * time.Minute, 25 * time.Minute},
		archived:   true,
		images:     fakeImages{present: true},
		etcd:       fakeEtcd{running: true},
		fsType:     "tmpfs",
		stats:      FSStats{Size: 1 << 30, Used: 100 << 20, Free: 924 << 20},
		dropIn:     true, cron: true, fstab: true,
	}
}

// build creates the backup dir, data dir and root the fixture describes.
func (f fixture) build(t *testing.T) Options {
	t.Helper()
	tmp := t.TempDir()
	dataDir := filepath.Join(tmp, "var", "lib", "etcd")
	if f.noDB {
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			t.Fatal(err)
		}
	} else {
		writeFile(t, filepath.Join(dataDir, "member", "snap", "db"), strings.Repeat("x", 40<<10))
	}
	st, err := store.Open(filepath.Join(tmp, "backups"))
	if err != nil {
		t.Fatal(err)
	}
	// backupAges is newest first; the store's order is the order of writing.
	for i := len(f.backupAges) - 1; i >= 0; i-- {
		writeSnap(t, st, testMeta(now.Add(-f.backupAges[i]), int64(100-i)), store.Good)
	}
	if f.suspect {
		m := testMeta(now.Add(-time.Hour), 3)
		m.Suspect = "revision 3 is below 100"
		writeSnap(t, st, m, store.Suspect)
	}
	if f.stray {
		writeFile(t, filepath.Join(st.Dir, "snapshots", "notes.txt"), "?")
	}
	if f.archived {
		err := st.WriteImageArchive(testDigest, func(w io.Writer) error { _, err := io.WriteString(w, "tar"); return err })
		if err != nil {
			t.Fatal(err)
		}
	}
	root := filepath.Join(tmp, "root")
	if f.dropIn {
		writeFile(t, filepath.Join(root, assets.DropIn.Path), "[Service]\n")
	}
	if f.cron {
		writeFile(t, filepath.Join(root, assets.Cron.Path), "*/15 * * * * root etcd-ramdisk backup --reason cron\n")
	}
	fstab := "# /etc/fstab\nUUID=1234 / ext4 defaults 0 1\n"
	if f.fstab {
		fstab += "tmpfs " + dataDir + "/ tmpfs size=1g,mode=0700 0 0\n"
	}
	writeFile(t, filepath.Join(root, assets.Fstab.Path), fstab)

	mounts := []Mount{{Point: "/", FSType: "ext4", Source: "/dev/sda1"}}
	if f.fsType != "" {
		mounts = append(mounts, Mount{Point: dataDir, FSType: f.fsType, Source: f.fsType})
	}
	return Options{
		Manifest:  filepath.Join(tmp, "unused-manifest.yaml"),
		DataDir:   dataDir,
		BackupDir: st.Dir,
		Root:      root,
		Images:    f.images,
		Etcd:      f.etcd,
		Mounts:    func() ([]Mount, error) { return mounts, nil },
		Statfs: func(path string) (FSStats, error) {
			if path != dataDir {
				return FSStats{}, errors.New("statfs of the wrong path " + path)
			}
			return f.stats, nil
		},
		Now: func() time.Time { return now },
	}
}

func testMeta(at time.Time, revision int64) *store.Metadata {
	return &store.Metadata{
		FormatVersion: store.FormatVersion,
		Time:          at,
		Reason:        store.ReasonCron,
		Node:          "node1",
		Image:         store.Image{Reference: "registry.k8s.io/etcd:3.6.16-0", Digest: testDigest},
		Etcd:          store.EtcdStatus{Version: "3.6.16", Revision: revision, Hash: 42, TotalKeys: 100, TotalSize: 1 << 20},
		Member: store.Member{
			Name:                     "node1",
			InitialCluster:           "node1=https://10.0.0.1:2380",
			InitialAdvertisePeerURLs: []string{"https://10.0.0.1:2380"},
			DataDir:                  "/var/lib/etcd",
		},
	}
}

func writeSnap(t *testing.T, st *store.Store, m *store.Metadata, kind store.Kind) {
	t.Helper()
	if _, err := st.Write(context.Background(), m, strings.NewReader("fake etcd database"), kind); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

func gather(t *testing.T, o Options) *Report {
	t.Helper()
	r, err := Gather(context.Background(), o)
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	return r
}

func TestHealthy(t *testing.T) {
	o := healthy().build(t)
	r := gather(t, o)
	if r.NeedsAttention || len(r.Warnings) != 0 {
		t.Fatalf("healthy node: NeedsAttention %v, warnings %q", r.NeedsAttention, r.Warnings)
	}
	d := r.DataDir
	if !d.IsTmpfs() || d.SizeBytes != 1<<30 || d.UsedBytes != 100<<20 || d.DBBytes != 40<<10 || d.Error != "" {
		t.Errorf("DataDir = %+v", d)
	}
	if p := d.DBPercent; p < 0.0037 || p > 0.0039 {
		t.Errorf("DBPercent = %v, want 40K of 1G", p)
	}
	b := r.Backups
	if b.Good != 2 || b.Suspect != 0 || len(b.Problems) != 0 || b.LastGood == nil {
		t.Fatalf("Backups = %+v", b)
	}
	if l := b.LastGood; l.Revision != 100 || l.AgeSeconds != 600 || l.Reason != store.ReasonCron || !l.Time.Equal(now.Add(-10*time.Minute)) {
		t.Errorf("LastGood = %+v", l)
	}
	if img := r.Image; img == nil || img.InContainerd != ImagePresent || !img.Archived || img.Digest != testDigest {
		t.Errorf("Image = %+v", img)
	}
	if in := r.Install; !in.DropIn || !in.Cron || !in.Fstab || !strings.HasPrefix(in.FstabLine, "tmpfs ") {
		t.Errorf("Install = %+v", in)
	}
	if r.Lock.Held || r.Lock.Error != "" {
		t.Errorf("Lock = %+v", r.Lock)
	}
}

// TestWarnings changes one thing at a time on a healthy node: each condition
// alone gives exactly its warning, and only the conditions that matter give one.
func TestWarnings(t *testing.T) {
	tests := []struct {
		name   string
		change func(f *fixture)
		want   string // "" when no warning is expected
	}{
		{"backup too old", func(f *fixture) { f.backupAges = []time.Duration{91 * time.Minute} }, "newest good backup"},
		{"backup just in time", func(f *fixture) { f.backupAges = []time.Duration{89 * time.Minute} }, ""},
		{"no backup at all", func(f *fixture) { f.backupAges = nil }, "no good backup in"},
		{"data dir not mounted, drop-in installed", func(f *fixture) { f.fsType = "" }, "is not a mount point, yet the kubelet drop-in is installed"},
		{"data dir on ext4, drop-in installed", func(f *fixture) { f.fsType = "ext4" }, "is ext4 (source ext4), yet the kubelet drop-in"},
		{"data dir not mounted, no drop-in", func(f *fixture) { f.fsType, f.dropIn = "", false }, ""},
		{"tmpfs 85% full", func(f *fixture) { f.stats = FSStats{Size: 100 << 20, Used: 85 << 20, Free: 15 << 20} }, "tmpfs"},
		{"tmpfs 80% full", func(f *fixture) { f.stats = FSStats{Size: 100 << 20, Used: 80 << 20, Free: 20 << 20} }, ""},
		{"image in neither place", func(f *fixture) { f.archived, f.images = false, fakeImages{} }, "neither in containerd nor archived"},
		{"image unknown and not archived", func(f *fixture) {
			f.archived, f.images = false, fakeImages{err: errors.New("containerd unavailable")}
		}, "containerd could not be checked"},
		{"image only archived", func(f *fixture) { f.images = fakeImages{} }, ""},
		{"image only in containerd", func(f *fixture) { f.archived = false }, ""},
		{"containerd unreachable, image archived", func(f *fixture) { f.images = fakeImages{err: errors.New("containerd unavailable")} }, ""},
		{"no image checker", func(f *fixture) { f.images = nil }, ""},
		{"suspect snapshot", func(f *fixture) { f.suspect = true }, "1 suspect snapshot(s)"},
		{"store problem", func(f *fixture) { f.stray = true }, "1 problem(s) in the backup dir"},
		{"no cron, no fstab", func(f *fixture) { f.cron, f.fstab = false, false }, ""},
		// Clocks: ages are newest first in the store's order; negative is the future.
		{"clock set back for the newest", func(f *fixture) { f.backupAges = []time.Duration{now.Sub(time.Unix(0, 0)), 25 * time.Minute} }, "before the older"},
		{"clock behind now", func(f *fixture) { f.backupAges = []time.Duration{-8760 * time.Hour, -8759 * time.Hour} }, "after this machine's time"},
		{"an older snapshot dated next year", func(f *fixture) { f.backupAges = []time.Duration{10 * time.Minute, -8760 * time.Hour} }, "after this machine's time"},
		{"a minute ahead is within the slack", func(f *fixture) { f.backupAges = []time.Duration{-time.Minute, 10 * time.Minute} }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := healthy()
			tt.change(&f)
			r := gather(t, f.build(t))
			if tt.want == "" {
				if r.NeedsAttention || len(r.Warnings) != 0 {
					t.Fatalf("NeedsAttention %v, warnings %q; want none", r.NeedsAttention, r.Warnings)
				}
				return
			}
			if !r.NeedsAttention || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], tt.want) {
				t.Fatalf("NeedsAttention %v, warnings %q; want exactly one mentioning %q", r.NeedsAttention, r.Warnings, tt.want)
			}
		})
	}
}

func TestContainerdUnreachableReportsTheRest(t *testing.T) {
	o := healthy().build(t)
	o.Images = fakeImages{err: errors.New("containerd unavailable: socket /run/containerd/containerd.sock: no such file")}
	r := gather(t, o)
	img := r.Image
	if img == nil || img.InContainerd != ImageUnknown || !strings.Contains(img.ContainerdError, "no such file") || !img.Archived {
		t.Fatalf("Image = %+v", img)
	}
	if r.Backups.LastGood == nil || !r.DataDir.IsTmpfs() || !r.Install.DropIn {
		t.Errorf("the rest of the report is missing: %+v", r)
	}
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "containerd unknown (containerd unavailable") {
		t.Errorf("screen does not show containerd as unknown:\n%s", b.String())
	}
}

func TestLockHeld(t *testing.T) {
	o := healthy().build(t)
	st, err := store.Open(o.BackupDir)
	if err != nil {
		t.Fatal(err)
	}
	unlock, err := st.Lock(context.Background(), 0, "backup (cron)")
	if err != nil {
		t.Fatal(err)
	}
	r := gather(t, o)
	if !r.Lock.Held || !strings.HasPrefix(r.Lock.Holder, fmt.Sprintf("pid %d: ", os.Getpid())) {
		t.Errorf("while held: Lock = %+v", r.Lock)
	}
	// status must not have disturbed the holder.
	if _, err := st.Lock(context.Background(), 0, "other"); !errors.Is(err, store.ErrLockTimeout) {
		t.Errorf("lock no longer held after status: %v", err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if r := gather(t, o); r.Lock.Held || r.Lock.Error != "" {
		t.Errorf("after unlock: Lock = %+v", r.Lock)
	}
}

// TestWritesNothing runs status on a node with every part present, a held
// lock included, and on an empty backup dir path: nothing is created or changed.
func TestWritesNothing(t *testing.T) {
	o := healthy().build(t)
	tmp := filepath.Dir(o.BackupDir)
	before := tree(t, tmp)
	gather(t, o)
	o.BackupDir = filepath.Join(tmp, "absent")
	r := gather(t, o)
	if after := tree(t, tmp); !slices.Equal(after, before) {
		t.Errorf("status changed files:\nbefore %q\nafter  %q", before, after)
	}
	if r.Backups.Error == "" || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "does not exist") {
		t.Errorf("absent backup dir: error %q, warnings %q", r.Backups.Error, r.Warnings)
	}
}

// tree lists every path under dir with its size and modification time.
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		out = append(out, fmt.Sprintf("%s %v %d %s", path, fi.Mode(), fi.Size(), fi.ModTime()))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestManifest(t *testing.T) {
	o := healthy().build(t)
	o.DataDir = ""
	o.Manifest = "../manifest/testdata/kubeadm-1.34-etcd-3.6.4.yaml"
	if r := gather(t, o); r.DataDir.Path != "/var/lib/etcd" || r.ManifestError != "" {
		t.Errorf("data dir from the manifest = %q (%s)", r.DataDir.Path, r.ManifestError)
	}

	o.Manifest = filepath.Join(t.TempDir(), "missing.yaml")
	r := gather(t, o)
	if r.ManifestError == "" || r.DataDir.Path != "" || len(r.Warnings) != 1 || !strings.HasPrefix(r.Warnings[0], "manifest: ") {
		t.Fatalf("missing manifest: error %q, data dir %q, warnings %q", r.ManifestError, r.DataDir.Path, r.Warnings)
	}
	if r.Backups.LastGood == nil || r.Image == nil || !r.Install.DropIn {
		t.Errorf("a missing manifest hid the rest of the report: %+v", r)
	}
}

func TestWriteText(t *testing.T) {
	f := healthy()
	f.suspect = true
	r := gather(t, f.build(t))
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	keys := []string{"data dir:", "mount:", "tmpfs:", "database:", "last backup:", "snapshots:", "image:", "lock:", "containerd:", "etcd:", "install:", "journal:"}
	if len(lines) != len(keys)+1 {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(keys)+1, out)
	}
	for i, k := range keys {
		if !strings.HasPrefix(lines[i], k) || lines[i][12] != ' ' || lines[i][13] == ' ' {
			t.Errorf("line %q: want key %q with the value at column 14", lines[i], k)
		}
	}
	if !strings.HasPrefix(lines[len(keys)], "WARN 1 suspect snapshot(s)") {
		t.Errorf("last line %q, want the suspect warning", lines[len(keys)])
	}
	for _, want := range []string{"(10m0s ago)", "revision 100", "2 good, 1 suspect, 0 problems", "containerd present, archived yes", "lock:        free", "size 1.0G, used 100.0M (10%)"} {
		if !strings.Contains(out, want) {
			t.Errorf("screen lacks %q:\n%s", want, out)
		}
	}
}

// With the newest snapshot's time wrong, status shows no age for it, flags it
// in --json, and the age check does not fire on a meaningless age.
func TestClockWrongLastBackup(t *testing.T) {
	f := healthy()
	f.backupAges = []time.Duration{now.Sub(time.Unix(0, 0)), 25 * time.Minute}
	r := gather(t, f.build(t))
	last := r.Backups.LastGood
	if last == nil || !last.ClockWrong || last.Revision != 100 {
		t.Fatalf("last good = %+v, want the newest written (revision 100) flagged clockWrong", last)
	}
	if c := r.Backups.Clock; c.NewestDatedBefore == nil || c.NewestDatedBefore.ID != "20261125T143500Z-r99" || !c.Now.Equal(now) {
		t.Fatalf("clock = %+v, want the newest dated before 20261125T143500Z-r99", c)
	}
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "19700101T000000Z-r100 dated 1970-01-01 00:00:00Z (the clock looks wrong: age unknown)") {
		t.Errorf("last backup line:\n%s", b.String())
	}
	for _, w := range r.Warnings {
		if strings.Contains(w, "old (limit") {
			t.Errorf("age warning on a snapshot whose time is wrong: %s", w)
		}
	}
}
