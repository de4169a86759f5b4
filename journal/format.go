package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"time"
)

// FormatVersion is written in every chain header; a reader refuses versions
// outside [minFormatVersion, FormatVersion]. Version 2 added batch records.
const (
	FormatVersion    = 2
	minFormatVersion = 1
)

// frameSize is the record frame: payload length and CRC-32C, little endian.
const frameSize = 8

// maxPayload bounds a record's claimed length, so that a torn or corrupt
// length field is never taken for a 4 GiB allocation.
const maxPayload = 256 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Record types: the first payload byte.
const (
	typeHeader   byte = 1
	typeRevision byte = 2
	typeLease    byte = 3
	// typeBatch holds one group commit's records, zstd-compressed: the
	// records' own frames (length, CRC-32C, payload) one after the other.
	// The batch's frame checksums the compressed bytes, so a torn batch is
	// a torn tail like any other record, and each inner record is checked
	// again after decompression.
	typeBatch byte = 4
)

// Record is one journal record: *Header, *Revision or *Lease.
type Record interface{ recordType() byte }

// Header opens every segment of a chain; all segments of a chain carry the
// same one, so a segment from another chain or cluster is recognised.
type Header struct {
	ChainID    string
	ClusterID  uint64
	MemberID   uint64
	StartRev   int64 // the snapshot's revision that the chain follows
	SnapshotID string
	Created    time.Time
}

// EventType says what an event did to its key.
type EventType byte

// Event types, as etcd's mvccpb.Event_EventType.
const (
	Put    EventType = 0
	Delete EventType = 1
)

// Event is one key's change at a revision, as etcd's watch reported it.
type Event struct {
	Type      EventType
	Key       []byte
	Value     []byte
	CreateRev int64
	ModRev    int64
	Version   int64
	Lease     int64
}

// Revision holds every event of one etcd revision (a txn's several events
// share one). Seen is when the follower received it.
type Revision struct {
	Rev    int64
	Seen   time.Time
	Events []Event
}

// Lease is a lease the chain's revisions use, learned when it was first
// seen. GrantedTTL 0 means the lease was already gone when it was learned.
type Lease struct {
	ID         int64
	GrantedTTL int64 // seconds
	TTL        int64 // seconds left when learned, -1 when gone
	Learned    time.Time
}

func (*Header) recordType() byte   { return typeHeader }
func (*Revision) recordType() byte { return typeRevision }
func (*Lease) recordType() byte    { return typeLease }

// appendRecord appends rec's frame and payload to dst.
func appendRecord(dst []byte, rec Record) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, frameSize)...)
	dst = appendPayload(dst, rec)
	putFrame(dst[start:], dst[start+frameSize:])
	return dst
}

// putFrame writes payload's frame (length, CRC-32C) into frame.
func putFrame(frame, payload []byte) {
	binary.LittleEndian.PutUint32(frame, uint32(len(payload)))
	binary.LittleEndian.PutUint32(frame[4:], crc32.Checksum(payload, castagnoli))
}

func appendPayload(b []byte, rec Record) []byte {
	b = append(b, rec.recordType())
	switch r := rec.(type) {
	case *Header:
		b = binary.AppendUvarint(b, FormatVersion)
		b = appendBytes(b, []byte(r.ChainID))
		b = binary.AppendUvarint(b, r.ClusterID)
		b = binary.AppendUvarint(b, r.MemberID)
		b = binary.AppendVarint(b, r.StartRev)
		b = appendBytes(b, []byte(r.SnapshotID))
		b = appendTime(b, r.Created)
	case *Revision:
		b = binary.AppendVarint(b, r.Rev)
		b = appendTime(b, r.Seen)
		b = binary.AppendUvarint(b, uint64(len(r.Events)))
		for _, e := range r.Events {
			b = append(b, byte(e.Type))
			b = appendBytes(b, e.Key)
			b = appendBytes(b, e.Value)
			for _, v := range []int64{e.CreateRev, e.ModRev, e.Version, e.Lease} {
				b = binary.AppendVarint(b, v)
			}
		}
	case *Lease:
		b = binary.AppendVarint(b, r.ID)
		b = binary.AppendVarint(b, r.GrantedTTL)
		b = binary.AppendVarint(b, r.TTL)
		b = appendTime(b, r.Learned)
	}
	return b
}

func appendBytes(b, v []byte) []byte {
	return append(binary.AppendUvarint(b, uint64(len(v))), v...)
}

// appendTime stores Unix milliseconds, 0 for the zero time.
func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return binary.AppendVarint(b, 0)
	}
	return binary.AppendVarint(b, t.UnixMilli())
}

// errFrame is a frame whose length or checksum does not hold; whether it is
// a torn tail or corruption depends on what follows it (see scanSegment).
var errFrame = errors.New("bad record frame")

// readFrame returns the payload of the record at b[0:] and the record's
// size, or errFrame. A zero length field is returned as size 0: the end.
func readFrame(b []byte) (payload []byte, size int, err error) {
	if len(b) < frameSize {
		if allZero(b) {
			return nil, 0, nil
		}
		return nil, 0, errFrame
	}
	n := binary.LittleEndian.Uint32(b)
	if n == 0 {
		return nil, 0, nil
	}
	if n > maxPayload || int(n) > len(b)-frameSize {
		return nil, 0, errFrame
	}
	payload = b[frameSize : frameSize+int(n)]
	if crc32.Checksum(payload, castagnoli) != binary.LittleEndian.Uint32(b[4:]) {
		return nil, frameSize + int(n), errFrame
	}
	return payload, frameSize + int(n), nil
}

// decodePayload parses a payload whose checksum held. An error here is
// corruption (or a newer format), never a torn write.
func decodePayload(p []byte) (Record, error) {
	d := decoder{b: p[1:]}
	var rec Record
	switch p[0] {
	case typeHeader:
		if v := d.uvarint(); d.err == nil && (v < minFormatVersion || v > FormatVersion) {
			return nil, fmt.Errorf("chain format version %d, this tool reads %d to %d", v, minFormatVersion, FormatVersion)
		}
		rec = &Header{ChainID: string(d.bytes()), ClusterID: d.uvarint(), MemberID: d.uvarint(),
			StartRev: d.varint(), SnapshotID: string(d.bytes()), Created: d.time()}
	case typeRevision:
		r := &Revision{Rev: d.varint(), Seen: d.time()}
		n := d.uvarint()
		if n > uint64(len(d.b)) {
			return nil, fmt.Errorf("revision record claims %d events in %d bytes", n, len(d.b))
		}
		r.Events = make([]Event, 0, n)
		for i := uint64(0); i < n && d.err == nil; i++ {
			r.Events = append(r.Events, d.event())
		}
		rec = r
	case typeLease:
		rec = &Lease{ID: d.varint(), GrantedTTL: d.varint(), TTL: d.varint(), Learned: d.time()}
	case typeBatch:
		return nil, errors.New("a batch record inside a batch")
	default:
		return nil, fmt.Errorf("unknown record type %d", p[0])
	}
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%d bytes after the record", len(d.b))
	}
	if d.err != nil {
		return nil, fmt.Errorf("decode record type %d: %w", p[0], d.err)
	}
	return rec, nil
}

// decoder reads fields in order and keeps the first error.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 { return readVarint(d, binary.Uvarint) }
func (d *decoder) varint() int64   { return readVarint(d, binary.Varint) }

func readVarint[T int64 | uint64](d *decoder, read func([]byte) (T, int)) T {
	if d.err != nil {
		return 0
	}
	v, n := read(d.b)
	if n <= 0 {
		d.err = errors.New("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = fmt.Errorf("field of %d bytes, %d left", n, len(d.b))
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) time() time.Time {
	ms := d.varint()
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

func (d *decoder) event() Event {
	if len(d.b) == 0 {
		d.err = errors.New("event truncated")
		return Event{}
	}
	e := Event{Type: EventType(d.b[0])}
	d.b = d.b[1:]
	if e.Type != Put && e.Type != Delete {
		d.err = fmt.Errorf("unknown event type %d", e.Type)
	}
	e.Key, e.Value = d.bytes(), d.bytes()
	e.CreateRev, e.ModRev, e.Version, e.Lease = d.varint(), d.varint(), d.varint(), d.varint()
	return e
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
