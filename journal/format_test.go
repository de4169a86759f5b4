package journal

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestRecordRoundTrip(t *testing.T) {
	ms := time.UnixMilli(time.Now().UnixMilli())
	for _, rec := range []Record{
		&Header{ChainID: "c1", ClusterID: 1<<63 + 5, MemberID: 7, StartRev: 42, SnapshotID: "snap-1", Created: ms},
		&Revision{Rev: 43, Seen: ms, Events: []Event{
			{Type: Put, Key: []byte("/a"), Value: []byte("v"), CreateRev: 43, ModRev: 43, Version: 1, Lease: 0x694d7e8f1c2a0b11},
			{Type: Delete, Key: []byte("/b"), Value: []byte{}, ModRev: 43},
		}},
		&Lease{ID: 0x694d7e8f1c2a0b11, GrantedTTL: 3600, TTL: 3599, Learned: ms},
		&Lease{ID: 9, TTL: -1},
	} {
		b := appendRecord(nil, rec)
		payload, size, err := readFrame(append(b, 0, 0, 0))
		if err != nil || size != len(b) {
			t.Fatalf("%T: frame: size %d of %d, %v", rec, size, len(b), err)
		}
		got, err := decodePayload(payload)
		if err != nil {
			t.Fatalf("%T: %v", rec, err)
		}
		if !reflect.DeepEqual(got, rec) {
			t.Errorf("round trip:\n got %#v\nwant %#v", got, rec)
		}
	}
}

func TestFrameChecks(t *testing.T) {
	b := appendRecord(nil, &Lease{ID: 1, GrantedTTL: 10})
	for i := range b {
		c := bytes.Clone(b)
		c[i] ^= 0x40
		if p, _, err := readFrame(c); err == nil && p != nil {
			t.Errorf("flipped byte %d: frame accepted", i)
		}
	}
	if p, n, err := readFrame(make([]byte, 20)); p != nil || n != 0 || err != nil {
		t.Errorf("zeros: %v %d %v, want the end", p, n, err)
	}
	if _, _, err := readFrame([]byte{0, 0, 1}); !errors.Is(err, errFrame) {
		t.Errorf("short non-zero tail: %v", err)
	}
}

func TestDecodeRefusesJunk(t *testing.T) {
	good := appendPayload(nil, &Lease{ID: 1, GrantedTTL: 10})
	for name, p := range map[string][]byte{
		"unknown type":   {9, 1, 2},
		"trailing bytes": append(bytes.Clone(good), 0),
		"truncated":      good[:len(good)-1],
		"bad version":    appendPayload(nil, &Header{})[:1:1],
		"event type":     {typeRevision, 2, 0, 1, 7, 0, 0, 0, 0, 0, 0},
	} {
		if _, err := decodePayload(p); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
	h := appendPayload(nil, &Header{ChainID: "x"})
	h[1] = FormatVersion + 1
	if _, err := decodePayload(h); err == nil {
		t.Error("a newer format version decoded")
	}
}
