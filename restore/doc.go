// Package restore puts the newest good snapshot into etcd's empty data dir at
// boot, atomically, with etcd's own tool in the image the snapshot was taken
// with. It tries the candidates of one Source, newest first (the backup dir,
// or the off-host copies when it holds none), passing over bad ones, and
// records which snapshot etcd starts from and whether it may be stale.
package restore
