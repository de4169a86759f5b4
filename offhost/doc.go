// Package offhost copies the store's snapshots off the node, so that losing
// the node's disk does not lose every backup: to a directory (an NFS or SMB
// mount of a NAS) or an S3-compatible bucket, encrypted with age to the
// operator's public keys before anything leaves the node. A remote snapshot
// exists only once its manifest object is written, last, after its data was
// read back and checked; remote copies keep the store's order (its sequence,
// in every object name), and restore can bring the newest good one back onto
// a node whose backup dir is empty.
package offhost
