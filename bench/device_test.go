package bench

import (
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/journal"
)

func TestReadStatFile(t *testing.T) {
	// A loop device's stat on kernel 6.x: 17 fields, flush I/Os the 16th.
	p := filepath.Join(t.TempDir(), "stat")
	if err := os.WriteFile(p, []byte("     120        0     2048       11      350       20    90112     4021        0     3810     4100        0        0        0        0      175       63\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := readStatFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if d.WriteIOs != 350 || d.SectorsWritten != 90112 || d.Flushes != 175 {
		t.Errorf("readStatFile = %+v, want 350 write I/Os, 90112 sectors, 175 flushes", d)
	}
}

// The disk's per-hour figures: what it got outside the backups at its
// rate, each backup at its mean, less the continuous share of the backups'
// own time.
func TestDevicePerHour(t *testing.T) {
	r := &SilenceResult{
		Window: 100 * time.Second,
		// 10 s of backups got 1,000 sectors and 30 flushes; the other 90 s got
		// 900 sectors and 90 flushes: 10 sectors and 1 flush per second.
		Loop: DiskStat{SectorsWritten: 1900, Flushes: 120},
		BackupRuns: []BackupRun{
			{Device: DiskStat{SectorsWritten: 600, Flushes: 20}, DeviceWall: 6 * time.Second},
			{Device: DiskStat{SectorsWritten: 400, Flushes: 10}, DeviceWall: 4 * time.Second},
		},
	}
	ph := PerHour{BackupsPerHour: 1}
	devicePerHour(&ph, r)
	// each backup: (1000 - 10·10) / 2 = 450 sectors, (30 - 1·10) / 2 = 10 flushes
	want := PerHour{BackupsPerHour: 1, DeviceBackupBytes: 450 * 512, DeviceBackupFlushes: 10,
		DeviceBytes: 10*512*3600 + 450*512, DeviceFlushes: 3600 + 10}
	if !near(ph.DeviceBytes, want.DeviceBytes) || !near(ph.DeviceFlushes, want.DeviceFlushes) ||
		!near(ph.DeviceBackupBytes, want.DeviceBackupBytes) || !near(ph.DeviceBackupFlushes, want.DeviceBackupFlushes) {
		t.Errorf("devicePerHour = %+v, want %+v", ph, want)
	}

	// Without backups: the window's rate.
	ph = PerHour{}
	devicePerHour(&ph, &SilenceResult{Window: 10 * time.Second, Loop: DiskStat{SectorsWritten: 100, Flushes: 5}})
	if !near(ph.DeviceBytes, 100*512*360) || !near(ph.DeviceFlushes, 1800) {
		t.Errorf("devicePerHour without backups = %+v", ph)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6*max(1, math.Abs(b)) }

// (c) runs at 1 s, the default and the longest interval, each once, and
// each at both DB sizes; its per-hour figures assume the journal's cron
// interval.
func TestJournalSetups(t *testing.T) {
	c := SilenceConfig{RealisticDB: 50 << 20, Journal: true, ProdBackupEvery: 15 * time.Minute, ProdBackupEveryJournal: time.Hour}
	seen := map[time.Duration]int{}
	for _, s := range c.Setups() {
		want := c.ProdBackupEvery
		if s.JournalEvery > 0 {
			seen[s.JournalEvery]++
			want = time.Hour
		}
		if got := c.prodEvery(s); got != want {
			t.Errorf("%s: production interval %s, want %s", s.Label, got, want)
		}
	}
	for _, iv := range []time.Duration{time.Second, journal.DefaultInterval, journal.MaxInterval} {
		if seen[iv] != 2 {
			t.Errorf("interval %s: %d setups, want 2 (both DB sizes)", iv, seen[iv])
		}
	}
}

func TestStepSeq(t *testing.T) {
	stderr := `time=x level=DEBUG msg=step op=restore step="etcdutl snapshot restore" seconds=1.5
time=x level=DEBUG msg=step op=restore step="save the replayed state" seconds=0.5
time=x level=DEBUG msg=step op=restore step="journal replay" seconds=4
time=x level=DEBUG msg=step op=restore step="etcdutl snapshot restore" seconds=1.25
`
	got := stepSeq(stderr)
	want := []Step{{"etcdutl snapshot restore", 1.5}, {"save the replayed state", 0.5}, {"journal replay", 4}, {"etcdutl snapshot restore #2", 1.25}}
	if len(got) != len(want) {
		t.Fatalf("stepSeq = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("step %d = %v, want %v", i, got[i], want[i])
		}
	}
	r := &RestoreResult{JournalSteps: got}
	if r.ReplayApply() != 3.5 {
		t.Errorf("ReplayApply = %g, want 3.5", r.ReplayApply())
	}
}

func TestReplayFit(t *testing.T) {
	steps := func(replay float64) []Step { return []Step{{"journal replay", replay}} }
	rs := []*RestoreResult{{Replayed: 9000, JournalSteps: steps(8 + 9000.0/2000)}, {Replayed: 36000, JournalSteps: steps(8 + 36000.0/2000)}}
	fixed, rate, ok := replayFit(rs)
	if !ok || !near(fixed, 8) || !near(rate, 2000) {
		t.Errorf("replayFit = %g s fixed, %g rev/s, %v; want 8, 2000", fixed, rate, ok)
	}
	if _, _, ok := replayFit(rs[:1]); ok {
		t.Error("a fit from one count")
	}
}
