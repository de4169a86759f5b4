package etcdtool

import (
	"errors"
	"syscall"
)

// ErrVerify means a snapshot failed verification.
var ErrVerify = errors.New("verification failed")

// ErrNoRoom means the filesystem where a snapshot is staged (etcd's data dir,
// the backup dir) has no room for it.
var ErrNoRoom = errors.New("not enough room")

// ErrBadSnapshot marks a fault of the snapshot itself, after which a restore
// tries an older one.
var ErrBadSnapshot = errors.New("bad snapshot")

var errNoSpace = syscall.ENOSPC
