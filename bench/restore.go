package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/hostfs"
)

// RestoreConfig is the restore-time experiment: a snapshot, a cron
// interval's worth of the silence load's revisions journaled after it, a
// power cut, and `etcd-ramdisk restore` with the journal against the same
// snapshot restored alone (`restore --no-journal`).
type RestoreConfig struct {
	Fill int64 // etcdkv fill bytes before the snapshot (100 MiB makes a ~135 MiB database)
	// Revisions after the snapshot, one power cut each: the silence load's
	// 10 writes/s over a cron interval (9,000 in 15 min, 36,000 in 1 h).
	Revisions []int
	// Rate is the load's writes/s while it writes them: what a replay costs
	// depends on how many revisions there are and how large, not on how
	// long they took to come.
	Rate     float64
	Interval time.Duration // the journal service's --interval
	Replay   string        // restore's --journal-replay: "db" (its default) or "etcd"
}

// RestoreResult is one power cut and the two restores after it.
type RestoreResult struct {
	Asked       int           `json:"revisionsAsked"`
	DBSize      int64         `json:"dbSizeBytes"`
	SnapshotRev int64         `json:"snapshotRevision"`
	LastRev     int64         `json:"lastRevision"` // etcd's at the cut; the journal had made it durable
	Revisions   int64         `json:"revisions"`    // LastRev - SnapshotRev
	LoadWall    time.Duration `json:"loadWallNs"`
	Keys        int64         `json:"keys"` // before the cut, and after the journal restore
	// The journal service while the revisions came (its whole life).
	JournalPeakRSS int64 `json:"journalPeakRssBytes"`
	// Journal is `restore` (the journal replayed), Snapshot `restore
	// --no-journal` of the same snapshot; each after its own power cut.
	Journal  CmdRun `json:"journalRestore"`
	Snapshot CmdRun `json:"snapshotRestore"`
	// Phases of each restore as its debug log gives them, in order
	// (a step seen twice gets "#2").
	JournalSteps  []Step `json:"journalSteps"`
	SnapshotSteps []Step `json:"snapshotSteps"`
	Replayed      int64  `json:"replayed"`    // restore's "replayed journal …: N revisions"
	ReplayedTo    int64  `json:"replayedTo"`  // "… up to revision R"
	RestoredRev   int64  `json:"restoredRev"` // etcd's revision after the journal restore (bumped)
}

// Step is one logged step of a run.
type Step struct {
	Name string  `json:"name"`
	Secs float64 `json:"seconds"`
}

// Ratio is the journal restore's time over the snapshot-only restore's.
func (r *RestoreResult) Ratio() float64 { return r.Journal.Wall.Seconds() / r.Snapshot.Wall.Seconds() }

// step is the time of the named step, 0 when the run did not log it.
func step(steps []Step, name string) float64 {
	for _, s := range steps {
		if s.Name == name {
			return s.Secs
		}
	}
	return 0
}

// ReplayApply is the journal's own step: its write into the snapshot's
// database, or, replayed through etcd, the replay without saving its
// result (the private etcd's start and one txn per revision).
func (r *RestoreResult) ReplayApply() float64 {
	if s := step(r.JournalSteps, "journal into the database"); s > 0 {
		return s
	}
	return step(r.JournalSteps, "journal replay") - step(r.JournalSteps, "save the replayed state")
}

// RunRestore measures each revision count on one bed, one after another.
func RunRestore(ctx context.Context, e *Env, c RestoreConfig) ([]*RestoreResult, error) {
	o := slot(0)
	o.TmpfsSize = strconv.FormatInt(max(2<<30, 12*c.Fill), 10)
	o.QuotaBytes = 8 << 30
	b, err := e.upBed(ctx, "restore", o, 0, DiskFormat{})
	defer b.down()
	if err != nil {
		return nil, err
	}
	if _, err := b.kv(ctx, "fill", "/bench/fill/", strconv.FormatInt(c.Fill, 10)); err != nil {
		return nil, err
	}
	// The first backup also archives the image (once per etcd version).
	if _, err := b.erd(ctx, "", "backup", "--reason", "install"); err != nil {
		return nil, err
	}
	var out []*RestoreResult
	for i, n := range c.Revisions {
		r, err := restoreRound(ctx, b, c, n, i)
		if err != nil {
			return out, fmt.Errorf("%d revisions: %w", n, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// restoreRound takes a snapshot, writes n revisions after it with the
// journal following, cuts the power, restores with the journal (and checks
// that everything came back), cuts the power again and restores the
// snapshot alone. etcd then runs on that snapshot's state.
func restoreRound(ctx context.Context, b *bed, c RestoreConfig, n, round int) (*RestoreResult, error) {
	r := &RestoreResult{Asked: n}
	var err error
	if r.SnapshotRev, err = b.revision(ctx); err != nil {
		return nil, err
	}
	if _, err := b.erd(ctx, "", "backup", "--reason", "cron"); err != nil {
		return nil, err
	}
	if r.DBSize, err = b.dbSize(ctx); err != nil {
		return nil, err
	}
	scratch := filepath.Join(b.env.ShmDir, fmt.Sprintf("restore-%d", round))
	if err := os.MkdirAll(scratch, 0o700); err != nil {
		return nil, err
	}
	j, err := b.startJournal(ctx, scratch, c.Interval)
	if err != nil {
		return nil, err
	}
	defer j.kill()
	if err := writeRevisions(ctx, b, c.Rate, r); err != nil {
		return nil, err
	}
	if _, err := j.waitDurable(ctx, r.LastRev, 2*time.Minute); err != nil {
		return nil, err
	}
	if jc, err := j.read(); err == nil {
		r.JournalPeakRSS = jc.hwm
	}
	if r.Keys, err = b.count(ctx); err != nil {
		return nil, err
	}
	b.env.Log.Info("power cut", "revisions", r.Revisions, "lastRevision", r.LastRev, "keys", r.Keys)
	j.kill()
	if err := b.Reboot(ctx); err != nil {
		return nil, err
	}
	if err := journalRestore(ctx, b, r, fmt.Sprintf("bench-%d-journal", round), c.Replay); err != nil {
		return nil, err
	}
	if err := b.Reboot(ctx); err != nil {
		return nil, err
	}
	run, err := b.timedRestore(ctx, r.SnapshotRev, r.DBSize, fmt.Sprintf("bench-%d-snapshot", round), "--no-journal")
	if err != nil {
		return nil, err
	}
	r.Snapshot, r.SnapshotSteps = *run, stepSeq(run.Stderr)
	if strings.Contains(run.Stdout, "replayed journal") {
		return nil, fmt.Errorf("restore --no-journal replayed the journal: %s", run.Stdout)
	}
	return r, b.StartEtcd(ctx)
}

// writeRevisions runs the silence load at rate until at least r.Asked
// revisions follow the snapshot (in runs of the load: it stops on time,
// not on a count).
func writeRevisions(ctx context.Context, b *bed, rate float64, r *RestoreResult) error {
	start := time.Now()
	for {
		rev, err := b.revision(ctx)
		if err != nil {
			return err
		}
		r.LastRev, r.Revisions = rev, rev-r.SnapshotRev
		if r.Revisions >= int64(r.Asked) {
			r.LoadWall = time.Since(start)
			return nil
		}
		secs := math.Ceil(float64(int64(r.Asked)-r.Revisions) / rate)
		if _, err := b.kv(ctx, "load", "--duration", fmt.Sprintf("%.0fs", max(secs, 1)), "--rate", strconv.FormatFloat(rate, 'f', -1, 64)); err != nil {
			return fmt.Errorf("load: %w", err)
		}
	}
}

// replayedLine is restore's summary of the journal it replayed.
var replayedLine = regexp.MustCompile(`replayed journal \S+: (\d+) revisions after the snapshot, up to revision (\d+)`)

// journalRestore restores after the power cut with the journal, starts
// etcd, and fails unless every revision came back: restore says it
// replayed up to the last one, records it, and etcd holds the keys it held.
func journalRestore(ctx context.Context, b *bed, r *RestoreResult, boot, replay string) error {
	var args []string
	if replay != "" {
		args = []string{"--journal-replay", replay}
	}
	run, err := b.timedRestore(ctx, r.LastRev, r.DBSize, boot, args...)
	if err != nil {
		return err
	}
	r.Journal, r.JournalSteps = *run, stepSeq(run.Stderr)
	m := replayedLine.FindStringSubmatch(run.Stdout)
	if m == nil {
		return fmt.Errorf("restore did not replay the journal: %s", run.Stdout)
	}
	r.Replayed, _ = strconv.ParseInt(m[1], 10, 64)
	r.ReplayedTo, _ = strconv.ParseInt(m[2], 10, 64)
	if r.ReplayedTo != r.LastRev {
		return fmt.Errorf("restore replayed up to revision %d, the journal had %d durable", r.ReplayedTo, r.LastRev)
	}
	if err := b.StartEtcd(ctx); err != nil {
		return err
	}
	keys, err := b.count(ctx)
	if err != nil {
		return err
	}
	if keys != r.Keys {
		return fmt.Errorf("%d keys after the journal restore, %d at the power cut", keys, r.Keys)
	}
	if r.RestoredRev, err = b.revision(ctx); err != nil {
		return err
	}
	if r.RestoredRev < r.LastRev {
		return fmt.Errorf("etcd at revision %d after the journal restore, below the journal's %d", r.RestoredRev, r.LastRev)
	}
	return nil
}

// timedRestore runs `etcd-ramdisk restore` as a boot would (a boot id of
// its own), warm memory first, and checks the restore record names rev.
func (b *bed) timedRestore(ctx context.Context, rev, db int64, boot string, args ...string) (*CmdRun, error) {
	b.env.warmMemory(warmBytes(db))
	env := append(b.ToolEnv(), "ETCD_RAMDISK_DEBUG=1", hostfs.BootIDEnv+"="+boot)
	run, err := run(ctx, env, append([]string{b.env.tool(), "restore"}, args...)...)
	if err != nil {
		return nil, err
	}
	var rec struct {
		Revision int64 `json:"revision"`
	}
	raw, err := os.ReadFile(filepath.Join(b.BackupDir(), "restore-record.json"))
	if err == nil {
		err = json.Unmarshal(raw, &rec)
	}
	if err != nil {
		return nil, fmt.Errorf("restore record: %w", err)
	}
	if rec.Revision != rev {
		return nil, fmt.Errorf("restore %s recorded revision %d, want %d", strings.Join(args, " "), rec.Revision, rev)
	}
	b.env.Log.Info("restore", "args", args, "wall", run.Wall.Round(time.Millisecond), "out", run.Stdout)
	return run, nil
}

// revision is etcd's current revision.
func (b *bed) revision(ctx context.Context) (int64, error) {
	s, err := b.status(ctx)
	return s.Revision, err
}

// count is the number of keys etcd holds.
func (b *bed) count(ctx context.Context) (int64, error) {
	out, err := b.kv(ctx, "count", "")
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(out, 10, 64)
}

// stepSeq is a run's logged steps in order; a name seen again gets "#2", …
func stepSeq(stderr string) []Step {
	out := logSteps(stderr)
	seen := map[string]int{}
	for i := range out {
		if seen[out[i].Name]++; seen[out[i].Name] > 1 {
			out[i].Name = fmt.Sprintf("%s #%d", out[i].Name, seen[out[i].Name])
		}
	}
	return out
}
