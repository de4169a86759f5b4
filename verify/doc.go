// Package verify checks stored snapshots the way a restore would read them:
// the store's sha256, then etcd's own status of the decompressed database in
// the image it was taken with. Off-host copies are fetched into a scratch
// store and checked the same way, or, without the identity to decrypt them,
// by their stored bytes only.
package verify
