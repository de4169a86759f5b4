package install

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"text/template"

	"github.com/etcd-ramdisk/etcd-ramdisk/assets"
	"github.com/etcd-ramdisk/etcd-ramdisk/backup"
	"github.com/etcd-ramdisk/etcd-ramdisk/hostfs"
	"github.com/etcd-ramdisk/etcd-ramdisk/kubelet"
	"github.com/etcd-ramdisk/etcd-ramdisk/manifest"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// ConfigError marks a problem with the manifest, a path or the node that the
// operator has to fix; nothing was changed.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

func configErrorf(format string, args ...any) error {
	return &ConfigError{fmt.Errorf(format, args...)}
}

// ErrNotRoot means a real install or uninstall was attempted without root.
var ErrNotRoot = errors.New("must run as root (or use --dry-run, or --root DIR)")

// Options for Install and Uninstall. Paths are as the node sees them; Root
// only says where to write.
type Options struct {
	Root              string // write under this directory instead of /; no commands are run
	Binary            string // etcd-ramdisk as the drop-in and cron table call it
	Manifest          string
	BackupDir         string
	ContainerdAddress string
	Namespace         string
	DryRun            bool // print what would be written and run; change nothing
	Now               bool // install: switch etcd to the tmpfs now instead of at the next reboot
	SkipBackup        bool // install: no first backup (image builders: no etcd runs yet)
	// OffhostConfig, when set, is written to OffhostConfigPath (as
	// assets.OffhostConfig): the off-host copies' settings, which every
	// command reads from there.
	OffhostConfig     []byte
	OffhostConfigPath string

	live bool // tests: run commands through Deps although Root is set
}

// Deps are the side effects on the live node, injectable for tests.
type Deps struct {
	// Backup takes a backup of the etcd m describes with the given reason
	// and verifies it; the string describes the snapshot. from is
	// backup.FromAuto (the running etcd) or backup.FromDataDir (the data dir
	// of the etcd just stopped). m is the manifest Install parsed.
	Backup func(ctx context.Context, m *manifest.Etcd, reason, from string) (string, error)
	// StopEtcd stops the etcd container (kubelet is already stopped).
	StopEtcd func(ctx context.Context, m *manifest.Etcd) error
	// Run runs a system command such as systemctl or mount.
	Run func(ctx context.Context, argv []string) error
	// Mounted reports whether dir is a tmpfs mount point now.
	Mounted func(dir string) (bool, error)
	Geteuid func() int
}

// templateData fills the drop-in and the cron table.
type templateData struct {
	Binary, Manifest, BackupDir, ContainerdAddress, Namespace, DataDir string
}

// plan is everything Install and Uninstall need to know before acting.
type plan struct {
	o       Options
	d       Deps
	m       *manifest.Etcd // parsed once, handed to Backup and StopEtcd
	data    templateData
	quota   int64
	dropIn  asset
	cronTab asset
	journal asset // the journal's systemd unit
	// journalChanged says install created or updated the journal unit, so
	// that a running journal is restarted with it.
	journalChanged bool
	res            *Result
}

// asset is one file of assets.Installed as this install writes it.
type asset struct {
	assets.File
	content []byte
}

// safePath keeps paths writable into a unit file and a cron line without
// quoting: systemd expands % and $, cron turns % into a newline.
var safePath = regexp.MustCompile(`^/[A-Za-z0-9._/+@:,=-]*$`)

func newPlan(d Deps, o Options) (*plan, error) {
	if (o.Root == "" || o.live) && !o.DryRun && d.Geteuid() != 0 {
		return nil, ErrNotRoot
	}
	m, err := manifest.Load(filepath.Join(o.Root, o.Manifest))
	if err != nil {
		return nil, &ConfigError{err}
	}
	if w := m.Member.HostWALDir; w != "" && !within(w, m.Member.HostDataDir) {
		return nil, configErrorf("manifest %s: --wal-dir %s is outside the data dir %s; etcd-ramdisk keeps only the data dir on tmpfs", o.Manifest, w, m.Member.HostDataDir)
	}
	data := templateData{Binary: o.Binary, Manifest: o.Manifest, BackupDir: o.BackupDir,
		ContainerdAddress: o.ContainerdAddress, Namespace: o.Namespace, DataDir: m.Member.HostDataDir}
	if err := checkPaths(data); err != nil {
		return nil, err
	}
	p := &plan{o: o, d: d, m: m, data: data, quota: m.Member.QuotaBackendBytes, res: &Result{DryRun: o.DryRun}}
	if p.dropIn, err = render(assets.DropIn, data); err != nil {
		return nil, err
	}
	if p.cronTab, err = render(assets.Cron, data); err != nil {
		return nil, err
	}
	if p.journal, err = render(assets.JournalUnit, data); err != nil {
		return nil, err
	}
	return p, p.preflight()
}

func checkPaths(d templateData) error {
	for _, f := range []struct{ name, v string }{
		{"--binary", d.Binary}, {"--manifest", d.Manifest}, {"--backup-dir", d.BackupDir},
		{"--containerd-address", d.ContainerdAddress}, {"the manifest's data dir", d.DataDir},
	} {
		if !safePath.MatchString(f.v) {
			return configErrorf("%s %q must be an absolute path of letters, digits and ._/+@:,=-", f.name, f.v)
		}
	}
	if !regexp.MustCompile(`^[A-Za-z0-9._-]+$`).MatchString(d.Namespace) {
		return configErrorf("--namespace %q is not a containerd namespace", d.Namespace)
	}
	return nil
}

// preflight refuses on a live node what would leave backups silently off.
func (p *plan) preflight() error {
	if !p.live() {
		return nil
	}
	if fi, err := os.Stat(p.host(p.o.Binary)); err != nil || fi.Mode()&0o111 == 0 || fi.IsDir() {
		return configErrorf("%s is not an executable (copy etcd-ramdisk there or pass --binary): the drop-in and cron table call it", p.o.Binary)
	}
	cronDir := filepath.Dir(assets.Cron.Path)
	if fi, err := os.Stat(p.host(cronDir)); err != nil || !fi.IsDir() {
		return configErrorf("%s does not exist: is cron installed? (apt-get install cron)", cronDir)
	}
	return nil
}

func render(f assets.File, data templateData) (asset, error) {
	t, err := template.New(filepath.Base(f.Path)).Option("missingkey=error").Parse(f.Template)
	if err != nil {
		return asset{}, fmt.Errorf("template %s: %w", f.Path, err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return asset{}, fmt.Errorf("template %s: %w", f.Path, err)
	}
	return asset{File: f, content: b.Bytes()}, nil
}

func within(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !filepath.IsAbs(rel) && (len(rel) < 3 || rel[:3] != "../")
}

// host is where a node path is written: under Root when set.
func (p *plan) host(path string) string { return filepath.Join(p.o.Root, path) }

// live says whether commands act on this machine (not under --root).
func (p *plan) live() bool { return p.o.Root == "" || p.o.live }

// run runs argv, or only records it in a dry run.
func (p *plan) run(ctx context.Context, argv ...string) error {
	p.res.add(Step{Kind: StepRun, Argv: argv, Done: !p.o.DryRun})
	if p.o.DryRun {
		return nil
	}
	if err := p.d.Run(ctx, argv); err != nil {
		var ee *exec.ExitError
		if argv[0] == p.data.Binary && errors.As(err, &ee) && ee.ExitCode() > 0 {
			err = &ToolExit{Code: ee.ExitCode(), Err: err}
		}
		return fmt.Errorf("%s: %w", join(argv), err)
	}
	return nil
}

// ToolExit is etcd-ramdisk itself, run by install or uninstall as a step
// (restore), ending with one of its documented exit codes: install ends with
// the same code (7: no usable snapshot, 11: no room), not a mere failure.
type ToolExit struct {
	Code int
	Err  error
}

func (e *ToolExit) Error() string { return e.Err.Error() }
func (e *ToolExit) Unwrap() error { return e.Err }

// erd is the command line of etcd-ramdisk with the installed global flags.
func (p *plan) erd(verb ...string) []string {
	d := p.data
	return append([]string{d.Binary, "--manifest=" + d.Manifest, "--backup-dir=" + d.BackupDir,
		"--containerd-address=" + d.ContainerdAddress, "--namespace=" + d.Namespace}, verb...)
}

// backup takes and verifies a backup, or records that it would.
func (p *plan) backup(ctx context.Context, reason, from string) error {
	what := "take and verify a backup (reason " + reason + ")"
	if from == backup.FromDataDir {
		what = "copy the stopped etcd's data dir into a verified snapshot (reason " + reason + "): it holds every write etcd acknowledged"
	}
	if p.o.DryRun {
		p.res.add(Step{Kind: StepBackup, Text: what})
		return nil
	}
	desc, err := p.d.Backup(ctx, p.m, reason, from)
	if err != nil {
		if from == backup.FromDataDir {
			return fmt.Errorf("backup of the stopped etcd's data dir: %w; etcd is stopped and kubelet left stopped: start it with `systemctl start kubelet` to go back", err)
		}
		return fmt.Errorf("backup before changing anything: %w", err)
	}
	p.res.add(Step{Kind: StepBackup, Text: desc, Done: true})
	return nil
}

// Install writes the drop-in, the cron table, the fstab line and the
// journal unit after a verified first backup, then either switches etcd to
// the tmpfs (Now) and starts the journal, or says what is left to do.
func Install(ctx context.Context, d Deps, o Options) (*Result, error) {
	d = d.withDefaults()
	if o.Now && o.Root != "" && !o.live {
		return nil, errors.New("--now switches this machine; it cannot be combined with --root")
	}
	p, err := newPlan(d, o)
	if err != nil {
		return nil, err
	}
	if o.SkipBackup {
		p.res.add(Step{Kind: StepNote, Text: "no first backup (--skip-backup)"})
	} else if err := p.backup(ctx, store.ReasonInstall, backup.FromAuto); err != nil {
		return p.res, err
	}
	if err := p.installFiles(ctx); err != nil {
		return p.res, err
	}
	p.noteKubeletShutdown()
	if !p.live() {
		// Under --root nothing here can say whether the tmpfs is mounted:
		// the next step is the one for a node that has not switched yet.
		p.res.Next = p.nextSteps()
		return p.res, nil
	}
	mounted, err := d.Mounted(p.data.DataDir)
	if err != nil {
		return p.res, err
	}
	switch {
	case mounted:
		p.res.add(Step{Kind: StepNote, Text: p.data.DataDir + " is already a tmpfs: etcd runs from RAM"})
		if p.journalChanged {
			return p.res, p.startJournal(ctx)
		}
	case o.Now:
		if err := p.switchToTmpfs(ctx); err != nil {
			return p.res, err
		}
		return p.res, p.startJournal(ctx)
	default:
		p.res.Next = p.nextSteps()
	}
	return p.res, nil
}

// nextSteps is what is left to do on a node whose etcd does not run from
// the tmpfs yet.
func (p *plan) nextSteps() []string {
	return []string{"reboot (after kubelet stops, its ExecStopPost stops etcd and backs up its data dir; at boot the tmpfs is mounted and restore fills it),",
		"or switch now with `etcd-ramdisk install --now`, which runs:",
		"systemctl stop kubelet",
		"(stops the etcd container through containerd; by hand: crictl stop $(crictl ps -q --name '^etcd$'))",
		join(p.erd("backup", "--reason", store.ReasonInstall, "--from", backup.FromDataDir)),
		"mount " + p.data.DataDir, join(p.erd("restore")), "systemctl start kubelet",
		"systemctl restart " + assets.JournalUnitName}
}

// noteKubeletShutdown says who stops etcd at shutdown: with kubelet's graceful
// node shutdown on, kubelet does, before any unit stops.
func (p *plan) noteKubeletShutdown() {
	ks, err := kubelet.ReadShutdown(p.host(kubelet.DefaultConfigPath))
	switch {
	case err != nil:
		p.res.add(Step{Kind: StepNote, Text: "kubelet's graceful node shutdown unknown: " + err.Error()})
	case ks.Found:
		p.res.add(Step{Kind: StepNote, Text: "kubelet: " + ks.String()})
	}
}

func (p *plan) installFiles(ctx context.Context) error {
	dropIn, err := p.writeAsset(p.dropIn)
	if err != nil {
		return err
	}
	if _, err := p.writeAsset(p.cronTab); err != nil {
		return err
	}
	if err := p.writeOffhost(); err != nil {
		return err
	}
	if err := p.addFstab(); err != nil {
		return err
	}
	if p.journalChanged, err = p.writeAsset(p.journal); err != nil {
		return err
	}
	if (dropIn || p.journalChanged) && p.live() {
		if err := p.run(ctx, "systemctl", "daemon-reload"); err != nil {
			return err
		}
	}
	return p.enableJournal(ctx)
}

// switchToTmpfs moves the running etcd onto the tmpfs. With kubelet stopped
// nothing restarts etcd; once etcd has exited its data dir holds every write it
// acknowledged, and a copy of it is what restore puts on the fresh tmpfs.
func (p *plan) switchToTmpfs(ctx context.Context) error {
	if err := p.run(ctx, "systemctl", "stop", "kubelet"); err != nil {
		return err
	}
	if err := p.stopEtcd(ctx); err != nil {
		return err
	}
	if err := p.backup(ctx, store.ReasonInstall, backup.FromDataDir); err != nil {
		return err
	}
	if err := p.run(ctx, "mount", p.data.DataDir); err != nil {
		return err
	}
	if err := p.run(ctx, p.erd("restore")...); err != nil {
		return fmt.Errorf("%w; kubelet left stopped so etcd does not start empty", err)
	}
	return p.run(ctx, "systemctl", "start", "kubelet")
}

func (p *plan) stopEtcd(ctx context.Context) error {
	p.res.add(Step{Kind: StepDo, Text: "stop the etcd container through containerd", Done: !p.o.DryRun})
	if p.o.DryRun {
		return nil
	}
	if err := p.d.StopEtcd(ctx, p.m); err != nil {
		return fmt.Errorf("stop etcd: %w", err)
	}
	return nil
}

func (d Deps) withDefaults() Deps {
	if d.Geteuid == nil {
		d.Geteuid = os.Geteuid
	}
	if d.Mounted == nil {
		d.Mounted = hostfs.TmpfsMounted
	}
	if d.Run == nil {
		d.Run = ExecRunner(os.Stderr, os.Stderr)
	}
	if d.Backup == nil {
		d.Backup = func(context.Context, *manifest.Etcd, string, string) (string, error) {
			return "", errors.New("no backup function configured")
		}
	}
	if d.StopEtcd == nil {
		d.StopEtcd = func(context.Context, *manifest.Etcd) error { return errors.New("no way to stop etcd configured") }
	}
	return d
}
