package bench

import (
	"strings"
	"testing"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/journal"
)

// The report prints the disk's own figures per setup, the (c) setups
// against their targets, and the restore section; no format verb is left
// unfilled.
func TestReportDiskAndRestore(t *testing.T) {
	disk := &loopDisk{Dev: "/dev/loop7", Size: 4 << 30, WriteCache: "write back"}
	iv := journal.DefaultInterval
	r := &Results{
		Silence: SilenceConfig{Duration: time.Minute, BackupEvery: 30 * time.Second, ProdBackupEvery: 15 * time.Minute, ProdBackupEveryJournal: time.Hour, Rate: 10},
		Restore: RestoreConfig{Fill: 100 << 20, Rate: 500, Interval: iv, Revisions: []int{9000}},
		Setups: []*SilenceResult{
			{Setup: Setup{Label: "(b) tmpfs", Short: "(b)", Tmpfs: true, Backups: true}, LoopDisk: disk, Window: time.Minute,
				PerHour: PerHour{BackupsPerHour: 4, DeviceBytes: 100 << 20, DeviceFlushes: 48}},
			{Setup: Setup{Label: "(c) journal", Short: "(c) " + iv.String(), Tmpfs: true, Backups: true, JournalEvery: iv}, LoopDisk: disk, Window: time.Minute,
				Journal: &JournalResult{Interval: iv, PeakRSS: 30 << 20, CPUShare: 0.5},
				PerHour: PerHour{BackupsPerHour: 1, DeviceBytes: 50 << 20, DeviceFlushes: 1500}},
		},
		Restores: []*RestoreResult{{Asked: 9000, Revisions: 9001, DBSize: 135 << 20, Replayed: 9001, ReplayedTo: 12345,
			Journal: CmdRun{Wall: 9 * time.Second}, Snapshot: CmdRun{Wall: 3 * time.Second},
			JournalSteps:  []Step{{"save the replayed state", 1}, {"journal replay", 4}, {"etcdutl snapshot restore #2", 1}},
			SnapshotSteps: []Step{{"etcdutl snapshot restore", 1}}}},
	}
	var b strings.Builder
	r.WriteMarkdown(&b)
	md := b.String()
	for _, want := range []string{
		"**device flushes / h**", "| loop7 |",
		"| **(c) " + iv.String() + " (default)** | 1500 | **not met** | 50 MiB | 100 MiB | **met** |",
		"| **30 MiB** | **met** | **0.50** | **met** |",
		"**3×** | **not met** | 9001 up to 12345 | 3s | **3000 rev/s** |",
		"| etcdutl snapshot restore #2 | 1s | – |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "%!") {
		t.Errorf("report has a bad format verb:\n%s", md)
	}
}
