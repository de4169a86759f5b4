package restore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/etcd-ramdisk/etcd-ramdisk/etcdtool"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/failpoint"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/logging"
	"github.com/etcd-ramdisk/etcd-ramdisk/journal"
	erdrt "github.com/etcd-ramdisk/etcd-ramdisk/runtime"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// Replayed says what the journal added to the restored snapshot.
type Replayed struct {
	ChainID   string    `json:"chainId"`
	Revisions int       `json:"revisions"`
	FromRev   int64     `json:"fromRevision"`
	LastRev   int64     `json:"lastRevision"`
	UpTo      time.Time `json:"upTo,omitempty"` // when the journal saw its last revision
	TornBytes int64     `json:"tornBytes,omitempty"`
	Method    string    `json:"method"` // ReplayDB or ReplayEtcd
}

// chainFor finds the journal chain that follows snap: started from it (its
// id and revision), of its cluster when both are known, and readable end to
// end. ok is false when none does, or when the chain holds nothing after
// the snapshot. Every chain that follows snap but is passed over (another
// cluster's, unreadable), and every segment of another chain in the one
// chosen, is named in why: the restore says so instead of passing over it
// in silence, also when another chain is replayed.
func (r *run) chainFor(snap *store.Snapshot) (sum journal.Summary, ok bool, why string) {
	chains, err := journal.ListChains(r.st.JournalDir())
	if err != nil {
		return sum, false, err.Error()
	}
	var whys []string
	for _, c := range chains {
		if c.Err != nil || c.Header.SnapshotID != snap.Meta.ID || c.Header.StartRev != snap.Meta.Etcd.Revision {
			continue
		}
		if id := snap.Meta.Etcd.ClusterID; id != "" && c.Header.ClusterID != 0 && strconv.FormatUint(c.Header.ClusterID, 16) != id {
			whys = append(whys, fmt.Sprintf("journal chain %s names cluster %x, the snapshot cluster %s", c.ID, c.Header.ClusterID, id))
			continue
		}
		s, err := journal.Verify(r.st.JournalDir(), c.ID)
		if err != nil {
			whys = append(whys, fmt.Sprintf("journal chain %s: %v", c.ID, err))
			continue
		}
		if s.Revisions > 0 && (!ok || s.LastRev > sum.LastRev) {
			sum, ok = s, true
		}
	}
	if ok {
		foreign, err := journal.ForeignSegments(r.st.JournalDir(), sum.Header.ChainID)
		if err != nil {
			whys = append(whys, err.Error())
		}
		for _, f := range foreign {
			whys = append(whys, fmt.Sprintf("journal chain %s: %s, ignored", sum.Header.ChainID, f))
		}
	}
	return sum, ok, strings.Join(whys, "; ")
}

// replayJournal brings the member restored (without a bump) in the work
// dir's out/ up to the chain's last revision: etcd from the snapshot's image
// runs on it, reachable only through a socket of ours, and the chain is
// applied one txn per revision. Its state is then saved as the snapshot file
// the final `snapshot restore` reads, and out/ is emptied for it.
func (r *run) replayJournal(ctx context.Context, w *etcdtool.Workspace, img *erdrt.Image, sum journal.Summary) (*Replayed, error) {
	defer logging.Step(ctx, "restore", "journal replay")()
	out := w.OutDir()
	etcd, err := etcdtool.StartPrivateEtcd(ctx, r.rt, etcdtool.PrivateEtcdOptions{
		Image: img, DataDir: out, Name: r.m.Member.Name, MaxTxnOps: sum.MaxEvents,
	})
	if err != nil {
		return nil, err
	}
	defer etcd.Stop(context.WithoutCancel(ctx), erdrt.StopGrace)
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{etcd.Endpoint()}, DialTimeout: 10 * time.Second, Context: ctx, Logger: zap.NewNop()})
	if err != nil {
		return nil, fmt.Errorf("connect to the replay etcd: %w", err)
	}
	defer cli.Close()
	res, err := journal.Replay(ctx, cli, r.st.JournalDir(), sum.Header.ChainID, journal.ReplayOptions{MaxTxnOps: max(sum.MaxEvents, 1)})
	if err != nil {
		return nil, err
	}
	if res.LastRev != sum.LastRev {
		return nil, fmt.Errorf("journal replay ended at revision %d, the chain at %d", res.LastRev, sum.LastRev)
	}
	if err := saveReplayed(ctx, cli, w.SnapshotFile()); err != nil {
		return nil, err
	}
	// Closed first: etcd's graceful stop waits for its clients' streams
	// (the replay's lease keepalives), seconds of a restore for nothing.
	cli.Close()
	if err := etcd.Stop(ctx, erdrt.StopGrace); err != nil {
		return nil, fmt.Errorf("stop the replay etcd: %w", err)
	}
	if err := w.ResetOut(); err != nil {
		return nil, err
	}
	return replayed(res, ReplayEtcd), nil
}

func replayed(res journal.ReplayResult, method string) *Replayed {
	return &Replayed{ChainID: res.ChainID, Revisions: res.Revisions, FromRev: res.FromRev, LastRev: res.LastRev, UpTo: res.LastSeen, TornBytes: res.Torn.Bytes, Method: method}
}

// applyJournal writes the chain into the decompressed snapshot in the
// work dir (journal.ApplyToDB), which the one `snapshot restore` then
// restores with the bump. When that fails, it says so and asks for the
// replay through etcd instead (viaEtcd): the file must be decompressed
// again. err is only a cancellation.
func (r *run) applyJournal(ctx context.Context, snap *store.Snapshot, w *etcdtool.Workspace, chain journal.Summary) (viaEtcd bool, err error) {
	done := logging.Step(ctx, "restore", "journal into the database")
	res, err := journal.ApplyToDB(ctx, r.st.JournalDir(), chain.Header.ChainID, w.SnapshotFile())
	done()
	failpoint.Inject("restore-after-journal-db")
	if err == nil {
		err = failpoint.Fail("restore-journal-db")
	}
	if err == nil && res.LastRev != chain.LastRev {
		err = fmt.Errorf("journal applied up to revision %d, the chain ends at %d", res.LastRev, chain.LastRev)
	}
	if err != nil {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		logging.G(ctx).Warn("writing the journal into the snapshot's database failed; replaying it through etcd instead", "snapshot", snap.Meta.ID, "chain", chain.Header.ChainID, "err", err)
		return true, nil
	}
	r.replayed = replayed(res, ReplayDB)
	r.logReplayed(ctx, snap, chain)
	return false, nil
}

// logReplayed says what the journal added, and what a torn tail cut.
func (r *run) logReplayed(ctx context.Context, snap *store.Snapshot, chain journal.Summary) {
	rep := r.replayed
	if rep.TornBytes > 0 {
		logging.G(ctx).Warn(fmt.Sprintf("journal torn tail of %d bytes cut: a commit that a power cut interrupted, never acknowledged as durable, is not replayed", rep.TornBytes),
			"chain", rep.ChainID, "segment", chain.Torn.Segment, "offset", chain.Torn.Offset)
	}
	logging.G(ctx).Info("journal replayed", "snapshot", snap.Meta.ID, "chain", rep.ChainID, "method", rep.Method, "revisions", rep.Revisions, "last_revision", rep.LastRev, "up_to", rep.UpTo)
}

// saveReplayed writes the replay etcd's snapshot over the decompressed one,
// which is no longer needed: the tmpfs holds one snapshot file at a time.
func saveReplayed(ctx context.Context, cli *clientv3.Client, file string) error {
	defer logging.Step(ctx, "restore", "save the replayed state")()
	if err := os.Remove(file); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	rc, err := cli.Snapshot(ctx)
	if err != nil {
		return fmt.Errorf("snapshot of the replayed state: %w", err)
	}
	defer rc.Close()
	f, err := os.OpenFile(file, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, rc); err != nil {
		f.Close()
		return fmt.Errorf("snapshot of the replayed state: %w", err)
	}
	// The file lives on the tmpfs, beside the member it becomes: no fsync.
	return f.Close()
}

// journalChain says whether a journal chain follows snap and is to be
// replayed onto it. A named snapshot (restore --snapshot) is restored as it
// is: the operator chose that point in time.
func (r *run) journalChain(ctx context.Context, snap *store.Snapshot) (journal.Summary, bool) {
	r.replayed, r.journalNote = nil, ""
	if r.opts.Snapshot != "" || r.opts.NoJournal {
		return journal.Summary{}, false
	}
	sum, ok, why := r.chainFor(snap)
	switch {
	case why != "" && ok:
		logging.G(ctx).Warn("journal chains or segments passed over: never applied", "snapshot", snap.Meta.ID, "chain", sum.Header.ChainID, "why", why)
	case why != "":
		r.journalNote = why
		logging.G(ctx).Warn("the journal after this snapshot cannot be used; restoring the snapshot alone", "snapshot", snap.Meta.ID, "why", why)
	}
	return sum, ok
}

// withJournal replays the chain through etcd onto the member restored in the work dir
// and restores the replayed state in its place (with the bump). When the
// replay fails, it says so and restores the snapshot alone, as it would
// without a journal: never a partial replay.
func (r *run) withJournal(ctx context.Context, snap *store.Snapshot, w *etcdtool.Workspace, img *erdrt.Image, chain journal.Summary, bump bool) error {
	rep, err := r.replayJournal(ctx, w, img, chain)
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		r.journalNote = fmt.Sprintf("replay of journal chain %s failed: %v", chain.Header.ChainID, err)
		logging.G(ctx).Warn("journal replay failed; restoring the snapshot alone: the writes after it are lost", "snapshot", snap.Meta.ID, "chain", chain.Header.ChainID, "err", err)
		if err := w.ResetOut(); err != nil {
			return err
		}
		return r.restoreAgain(ctx, snap, w, bump, true)
	}
	if err := r.restoreAgain(ctx, snap, w, bump, false); err != nil {
		return fmt.Errorf("restore the replayed state: %w", err)
	}
	r.replayed = rep
	r.logReplayed(ctx, snap, chain)
	return nil
}

// restoreAgain runs `snapshot restore` once more into the emptied out/:
// of the replayed state saved in place of the snapshot file, or of the
// snapshot itself, decompressed again, after a failed replay.
func (r *run) restoreAgain(ctx context.Context, snap *store.Snapshot, w *etcdtool.Workspace, bump, decompress bool) error {
	var p *erdrt.PreparedSidecar
	var err error
	if decompress {
		os.Remove(w.SnapshotFile())
		p, err = r.prepareWhileDecompressing(ctx, snap, w, bump)
	} else {
		p, err = w.PrepareRestore(ctx, r.m, snap, bump)
	}
	if err != nil {
		return err
	}
	defer p.Close()
	defer logging.Step(ctx, "restore", "etcdutl snapshot restore")()
	return w.RestoreResult(p.Run(ctx))
}
