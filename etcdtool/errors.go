package etcdtool

import (
	"errors"
	"syscall"
)

// ErrVerify means a snapshot failed verification.
var ErrVerify = errors.New("verification failed")

// ErrNoRoom means the data dir's filesystem is too small for the snapshot.
var ErrNoRoom = errors.New("data dir too small")

// ErrBadSnapshot marks a fault of the snapshot itself, after which a restore
// tries an older one.
var ErrBadSnapshot = errors.New("bad snapshot")

var errNoSpace = syscall.ENOSPC
