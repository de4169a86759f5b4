package store

import (
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
