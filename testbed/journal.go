package testbed

import (
	"os"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/journal"
)

// WriteJournalChain writes a journal chain under root as the journal
// service would: hdr's start revision is the snapshot's, and revisions
// start+1..last follow, each one put of the key /k in a commit of its own,
// seen at seen(rev). Its
// segments are small and nothing is fsynced: for tests of the readers.
func WriteJournalChain(root string, hdr journal.Header, last int64, seen func(rev int64) time.Time) (string, error) {
	w, err := journal.Create(root, hdr, journal.WriterOptions{SegmentSize: 64 << 10, Sync: func(*os.File) error { return nil }})
	if err != nil {
		return "", err
	}
	first := hdr.StartRev + 1
	for rev := first; rev <= last; rev++ {
		ev := journal.Event{Type: journal.Put, Key: []byte("/k"), Value: []byte("v"), CreateRev: first, ModRev: rev, Version: rev - hdr.StartRev}
		if err := w.Append(&journal.Revision{Rev: rev, Seen: seen(rev), Events: []journal.Event{ev}}); err != nil {
			w.Close()
			return "", err
		}
		if err := w.Flush(); err != nil { // one commit per revision, as at a slow pace
			w.Close()
			return "", err
		}
	}
	return w.Header().ChainID, w.Close()
}
