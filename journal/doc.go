// Package journal keeps a continuous, checksummed journal of etcd's changes
// on the persistent disk, so that a power cut loses the last commit
// interval instead of everything since the last snapshot, and puts it back
// onto the restored snapshot under the original revisions.
//
// # On disk
//
// The journal's root (beside the snapshots, mode 0700) holds one directory
// per chain, named by its chain ID (NewChainID: the start revision and the
// creation time in hex, so names sort by history). A chain directory (0700)
// holds segment files (0600) named <first revision, 16 hex digits>.seg: the
// first revision the segment holds, which is the previous segment's last
// revision + 1 (the chain's start revision + 1 for the first). Segments are
// preallocated (SegmentSize of zeros written, FirstSegmentSize for a chain's
// first, so that a commit overwrites blocks and its fdatasync needs no ext4
// journal commit of its own: one cache flush, plus ext4's periodic commit of
// the file's new mtime, which no write avoids; WriterOptions.Fallocate
// instead) and created under a temporary name, fsynced and renamed, so a
// segment exists whole with its header or not at all; after that each
// commit is one write and one fdatasync. A new segment starts when the next
// record does not fit.
//
// A segment is a sequence of records followed by zeros: the first zero
// length field ends it. A record is
//
//	length  uint32, little endian: of the payload
//	crc     uint32, little endian: CRC-32C (Castagnoli) of the payload
//	payload type byte, then fields (varints as encoding/binary writes them,
//	        byte strings as a uvarint length and the bytes, times as
//	        Unix milliseconds, 0 for none)
//
// Record types:
//
//	1 chain header: format version (uvarint, 1), chain ID, cluster ID
//	  (uvarint), member ID (uvarint), start revision (the revision of the
//	  snapshot the chain follows), snapshot ID, creation time. Every segment
//	  starts with the same header, so a segment of another chain or cluster
//	  is recognised: copied into a chain's directory, it is never read as
//	  part of the chain (ForeignSegments names it).
//	2 revision: revision, time seen, event count (uvarint), then per event:
//	  type byte (0 put, 1 delete), key, value, create revision, mod revision
//	  (the record's revision), version, lease ID. One record per etcd
//	  revision: a txn's events share it.
//	3 lease: lease ID, granted TTL (0 when the lease was already gone),
//	  TTL left when learned (-1 when gone), time learned. Written before
//	  the first revision that uses a lease the chain does not know yet.
//
// # The chain rule
//
// A chain follows one snapshot: its revisions are contiguous, the first is
// the start revision + 1, and each segment starts where the previous one
// ended. A gap is never bridged: a missing segment or revision is ErrGap, a
// bad record with a good record after it (or any bad record before the
// last segment) is ErrCorrupt. Only the end of the last segment may be
// torn, by a power cut during a commit that was never acknowledged: a bad
// record followed by zeros or other bad records is reported (Torn) as the
// chain's end, and OpenAppend zeroes it before appending. When etcd's
// history is not the chain's (compacted past it, restored, reset, another
// cluster or member), the Follower returns ErrGap and the caller starts a
// new chain from a fresh snapshot.
//
// # API
//
// Follower (NewFollower, Run, Stats) watches etcd with its Go client and
// appends through a Writer (Create, OpenAppend, Append, Flush, Close,
// Stats), which group-commits once per interval and only when something
// was appended. Reader (OpenChain, Next, Torn) and Verify read a chain
// back; ListChains and RemoveChain manage the root. ApplyToDB writes a
// chain into the snapshot's database in etcd's own layout (restore's way);
// Replay applies it to an etcd started on the restored snapshot instead. Serve is the long-running
// service: it follows etcd into the chain of the newest good snapshot,
// rotates to a new chain when a newer snapshot appears (copying what the
// old chain holds after it, then removing the old chain), asks for a fresh
// snapshot after a gap, and publishes its State. It builds a new chain in
// the root's .new directory, which ListChains skips, and moves it in under
// the store lock, so that a restore never sees a chain half made.
package journal
