package backup

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/store"
	"github.com/etcd-ramdisk/etcd-ramdisk/store/storetest"
)

// Every shutdown backup leaves a record, good or bad; one that found no etcd
// state at all (its boot's restore failed) keeps the previous boot's record.
func TestRecordShutdown(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	storetest.Put(t, st, t0, 100, store.Good)
	newest, _ := st.Newest()
	o := Options{Reason: store.ReasonShutdown, SystemShutdown: true}

	recordShutdown(ctx, st, o, &Result{Skipped: true, Revision: 100, Source: store.SourceDataDir}, nil)
	rec, err := st.ReadShutdownRecord()
	if err != nil || !rec.OK || rec.SnapshotID != newest.Meta.ID || !rec.SystemShutdown {
		t.Fatalf("unchanged: record %+v, %v; want ok naming %s", rec, err, newest.Meta.ID)
	}

	recordShutdown(ctx, st, o, nil, errors.New("etcd is not running"))
	if rec, _ = st.ReadShutdownRecord(); rec.OK || rec.Error != "etcd is not running" {
		t.Fatalf("failure: record %+v", rec)
	}

	recordShutdown(ctx, st, o, &Result{Skipped: true, NoData: "no member"}, nil)
	if rec, _ = st.ReadShutdownRecord(); rec.OK || rec.Error != "etcd is not running" {
		t.Fatalf("no data this boot overwrote the record: %+v", rec)
	}
}
