package assets

import (
	"io/fs"
	"time"
)

// File is one file etcd-ramdisk install writes on the node.
type File struct {
	// Path is where it goes, absolute, as the node sees it; --root writes
	// it below another directory.
	Path string
	// Mode is the file's mode when install creates it; fstab keeps its own.
	Mode fs.FileMode
	// DirMode is the mode of its directory when install has to create it.
	DirMode fs.FileMode
	// Template is the text/template install renders into the file; "" when
	// install edits the file (fstab) or is handed its content (the off-host
	// config). Its data are the absolute paths Binary, Manifest, BackupDir,
	// ContainerdAddress, DataDir and the containerd Namespace.
	Template string
}

// OffhostConfigPath is the off-host config's default place, which every
// command reads (--offhost-config names another).
const OffhostConfigPath = "/etc/etcd-ramdisk/offhost.yaml"

var (
	// DropIn extends kubeadm's kubelet unit: restore before etcd starts,
	// backup after kubelet stops. "20-" sorts it after kubeadm's
	// 10-kubeadm.conf, whose settings it extends.
	DropIn = File{Path: "/etc/systemd/system/kubelet.service.d/20-etcd-ramdisk.conf", Mode: 0o644, DirMode: 0o755, Template: dropInTemplate}
	// Cron is the backup and defrag schedule. No dot in its name: cron
	// ignores such files in /etc/cron.d.
	Cron = File{Path: "/etc/cron.d/etcd-ramdisk", Mode: 0o644, DirMode: 0o755, Template: cronTemplate}
	// JournalUnit runs `etcd-ramdisk journal`, which follows etcd between
	// snapshots; install enables it, uninstall disables and removes it.
	JournalUnit = File{Path: "/etc/systemd/system/" + JournalUnitName, Mode: 0o644, DirMode: 0o755, Template: journalUnitTemplate}
	// Fstab gets one tmpfs line for etcd's data dir, after hostfs.FstabMarker
	// so that uninstall removes exactly what install added.
	Fstab = File{Path: "/etc/fstab", Mode: 0o644, DirMode: 0o755}
	// OffhostConfig holds the off-host copies' settings, root-only in a
	// root-only directory: it names where every Secret of the cluster is
	// copied to, and who could change it could redirect them.
	OffhostConfig = File{Path: OffhostConfigPath, Mode: 0o600, DirMode: 0o700}
)

// JournalUnitName is the journal's systemd unit, as systemctl names it.
const JournalUnitName = "etcd-ramdisk-journal.service"

// Installed is every file install writes, in the order it writes them.
// Uninstall removes the drop-in, the cron table and the journal unit and
// takes the fstab line back out; it leaves the off-host config.
var Installed = []File{DropIn, Cron, OffhostConfig, Fstab, JournalUnit}

// The cron table's schedule (assets/etcd-ramdisk): cron runs a backup
// every CronEvery, which stores a snapshot only once the newest is
// CronMinAge old (so one every CronSnapshotEvery) and, while the journal
// service follows etcd, only once the newest is CronJournalCovers old (so
// one every CronEveryWithJournal). Each threshold is half a run short of
// its interval, so that a snapshot that took seconds never waits a whole
// run more. CronEveryWithJournal bounds what a restore writes from the
// journal: 12,000 revisions at 10 writes/s, a restore under 2× the
// snapshot alone's (bench, section 5), while three snapshots an hour keep
// the disk's bytes under those of the snapshots alone every 15 minutes
// (section 1).
const (
	CronEvery            = 5 * time.Minute
	CronSnapshotEvery    = 15 * time.Minute
	CronMinAge           = CronSnapshotEvery - CronEvery/2
	CronEveryWithJournal = 20 * time.Minute
	CronJournalCovers    = CronEveryWithJournal - CronEvery/2
)
