package store

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

func TestNewID(t *testing.T) {
	tests := []struct {
		t    time.Time
		rev  int64
		want string
	}{
		{baseTime, 123, "20261125T144530Z-r123"},
		{time.Date(2026, 11, 25, 15, 45, 30, 999, time.FixedZone("CET", 3600)), 1, "20261125T144530Z-r1"},
	}
	for _, tt := range tests {
		if got := NewID(tt.t, tt.rev); got != tt.want || !ValidID(got) {
			t.Errorf("NewID(%v, %d) = %q (valid %v), want %q", tt.t, tt.rev, got, ValidID(got), tt.want)
		}
	}
}

func TestMetadataValidate(t *testing.T) {
	complete := func() *Metadata {
		m := testMeta(baseTime, 5)
		m.ID = NewID(baseTime, 5)
		m.File = m.ID + ".db.zst"
		m.SHA256 = strings.Repeat("0f", 32)
		m.RawSize, m.StoredSize = 10, 5
		m.Compression = "zstd"
		return m
	}
	tests := []struct {
		name   string
		mutate func(*Metadata)
		want   string // "" for valid
	}{
		{"complete", func(*Metadata) {}, ""},
		{"no token is fine", func(m *Metadata) { m.Member.InitialClusterToken = "" }, ""},
		{"no image digest is fine", func(m *Metadata) { m.Image.Digest = "" }, ""},
		{"file for another id", func(m *Metadata) { m.File = "20261125T144530Z-r6.db.zst" }, "does not match id"},
		{"file with a path", func(m *Metadata) { m.File = "../" + m.ID + ".db.zst" }, "does not match id"},
		{"id with a path", func(m *Metadata) { m.ID = "x/" + m.ID }, "invalid snapshot id"},
		{"short sha256", func(m *Metadata) { m.SHA256 = "abc" }, "sha256"},
		{"uppercase sha256", func(m *Metadata) { m.SHA256 = strings.Repeat("0F", 32) }, "sha256"},
		{"zero raw size", func(m *Metadata) { m.RawSize = 0 }, "rawSize"},
		{"zero stored size", func(m *Metadata) { m.StoredSize = 0 }, "storedSize"},
		{"other compression", func(m *Metadata) { m.Compression = "gzip" }, "compression"},
		{"no node", func(m *Metadata) { m.Node = "" }, "node"},
		{"no member name", func(m *Metadata) { m.Member.Name = "" }, "member name"},
		{"no peer urls", func(m *Metadata) { m.Member.InitialAdvertisePeerURLs = nil }, "initialAdvertisePeerURLs"},
		{"negative keys", func(m *Metadata) { m.Etcd.TotalKeys = -1 }, "negative"},
		{"no etcd version is fine", func(m *Metadata) { m.Etcd.Version = "" }, ""},
		{"format version 0", func(m *Metadata) { m.FormatVersion = 0 }, "formatVersion"},
		{"etcd ids are fine", func(m *Metadata) { m.Etcd.Identity = NewIdentity(14830667137242166833, 4604945885705123002) }, ""},
		{"uppercase cluster id", func(m *Metadata) { m.Etcd.ClusterID = "CDD0" }, "clusterId"},
		{"member id too long", func(m *Metadata) { m.Etcd.MemberID = strings.Repeat("a", 17) }, "memberId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := complete()
			tt.mutate(m)
			err := m.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Validate = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestNewIdentity(t *testing.T) {
	// The IDs of a real etcd 3.6.16 (token "etcd-cluster"): the cluster ID is
	// above 2^63, so it must stay a uint64 all the way.
	id := NewIdentity(14830667137242166833, 4604945885705123002)
	if id.ClusterID != "cdd11d2f6160f631" || id.MemberID != "3fe80de28f59b4ba" {
		t.Errorf("NewIdentity = %+v", id)
	}
	if id := NewIdentity(0, 0); id != (Identity{}) {
		t.Errorf("zero IDs = %+v, want unknown", id)
	}
}

// The IDs sit in the "etcd" object beside the revision; metadata written
// before they existed still loads, with the IDs unknown.
func TestMetadataEtcdIDs(t *testing.T) {
	s := newStore(t)
	m := testMeta(baseTime, 5)
	m.Etcd.Identity = Identity{ClusterID: "cdd11d2f6160f631", MemberID: "3fe80de28f59b4ba"}
	snap, err := s.Write(context.Background(), m, bytes.NewReader(testData(4096, 1)), Good)
	if err != nil {
		t.Fatal(err)
	}
	path := snap.MetaPath
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(raw, []byte(`"clusterId": "cdd11d2f6160f631"`)) || !bytes.Contains(raw, []byte(`"memberId": "3fe80de28f59b4ba"`)) {
		t.Fatalf("metadata lacks the IDs:\n%s", raw)
	}
	got, err := readMetadata(path)
	if err != nil || got.Etcd.Identity != m.Etcd.Identity {
		t.Fatalf("read back %+v, %v", got, err)
	}
	old := bytes.Replace(bytes.Replace(raw, []byte(`"clusterId": "cdd11d2f6160f631",`), nil, 1), []byte(`"memberId": "3fe80de28f59b4ba",`), nil, 1)
	if bytes.Contains(old, []byte("clusterId")) || bytes.Contains(old, []byte("memberId")) {
		t.Fatalf("test did not remove the IDs:\n%s", old)
	}
	if err := os.WriteFile(path, old, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err = readMetadata(path)
	if err != nil || got.Etcd.Identity != (Identity{}) || got.Etcd.Revision != 5 {
		t.Fatalf("old metadata: %+v, %v", got, err)
	}
}
