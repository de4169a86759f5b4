package journal

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// BenchmarkReplay prints the replay's pace (revisions/s) into a real etcd
// whose data dir is on /dev/shm, as a restore's is on the tmpfs: N
// revisions of one ~1 KiB put each, the shape of Kubernetes' writes. The
// restore's own figures (bench/) include this replay.
func BenchmarkReplay(b *testing.B) {
	const n = 3000
	root := b.TempDir()
	w, err := Create(root, Header{StartRev: 1, SnapshotID: "s"}, WriterOptions{Sync: (&syncCounter{}).sync})
	if err != nil {
		b.Fatal(err)
	}
	val := strings.Repeat("x", 1000)
	for rev := int64(2); rev <= n+1; rev++ {
		if err := w.Append(&Revision{Rev: rev, Events: []Event{{Type: Put, Key: []byte(fmt.Sprintf("/registry/pods/p%d", rev%300)), Value: []byte(val), ModRev: rev, CreateRev: rev, Version: 1}}}); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		dir, err := os.MkdirTemp("/dev/shm", "replay-bench-")
		if err != nil {
			b.Fatal(err)
		}
		e := startEtcd(b, "replay", dir, "")
		ctx := context.Background()
		// A new etcd is at revision 1, the chain's start: nothing to skip.
		start := time.Now()
		res, err := Replay(ctx, e.cli, root, w.Header().ChainID, ReplayOptions{})
		if err != nil {
			b.Fatal(err)
		}
		d := time.Since(start)
		b.ReportMetric(float64(res.Revisions)/d.Seconds(), "rev/s")
		e.stop(b)
		os.RemoveAll(dir)
	}
}
