package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/etcd-ramdisk/etcd-ramdisk/backup"
	"github.com/etcd-ramdisk/etcd-ramdisk/etcdtool"
	"github.com/etcd-ramdisk/etcd-ramdisk/install"
	"github.com/etcd-ramdisk/etcd-ramdisk/offhost"
	erdrt "github.com/etcd-ramdisk/etcd-ramdisk/runtime"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// Exit codes. cron, systemd and monitoring depend on them: never renumber.
const (
	exitOK          = 0
	exitFailure     = 1  // any other failure
	exitUsage       = 2  // bad flags or arguments
	exitConfig      = 3  // manifest or backup dir unusable
	exitContainerd  = 4  // containerd not reachable
	exitEtcdDown    = 5  // no running etcd container
	exitLocked      = 6  // another etcd-ramdisk held the lock past --lock-timeout
	exitNoSnapshot  = 7  // restore: no usable snapshot; the data dir was left empty
	exitVerify      = 8  // a snapshot failed verification
	exitSuspect     = 9  // backup: revision went backwards; snapshot kept aside as suspect
	exitNeedsAction = 10 // status: something needs attention
	exitNoRoom      = 11 // restore: the data dir's tmpfs (or memory) is too small
	exitInUse       = 12 // backup --from data-dir: a process still has etcd's data dir open
	exitAmbiguous   = 13 // several etcd containers run and none is known to be the manifest's
	exitIdentity    = 14 // restore/verify from the off-host target: the age identity is missing or wrong
	exitOffhost     = 15 // restore/list/verify: the off-host target unreachable, refusing access, or without its bucket
	exitInterrupted = 16 // SIGINT/SIGTERM or --timeout ended the run; nothing half-done was kept
)

var exitTable = []struct {
	code int
	text string
}{
	{exitOK, "success, including nothing to do"},
	{exitFailure, "failure not listed below"},
	{exitUsage, "bad flags or arguments"},
	{exitConfig, "manifest or backup dir unusable"},
	{exitContainerd, "containerd not reachable"},
	{exitEtcdDown, "no running etcd container found"},
	{exitLocked, "another run held the lock past --lock-timeout"},
	{exitNoSnapshot, "restore: no usable snapshot; data dir left empty"},
	{exitVerify, "a snapshot failed verification"},
	{exitSuspect, "backup: revision went backwards; snapshot kept aside as suspect"},
	{exitNeedsAction, "status: something needs attention"},
	{exitNoRoom, "restore: the tmpfs or memory is too small for the snapshot; nothing written"},
	{exitInUse, "backup from the data dir: a process (etcd) still has it open; nothing copied"},
	{exitAmbiguous, "several etcd containers still ran after --pod-update-wait and none is from the manifest's image; nothing done"},
	{exitIdentity, "restore or verify from the off-host copies: the age identity is missing or matches none of their recipients; data dir left empty"},
	{exitOffhost, "restore, list or verify --offhost: the off-host target is unreachable, refuses the credentials or has no such bucket; data dir left empty"},
	{exitInterrupted, "interrupted by SIGINT/SIGTERM or --timeout (also while waiting for the lock); nothing half-done was kept"},
}

func exitCodeHelp() string {
	var b strings.Builder
	for _, e := range exitTable {
		fmt.Fprintf(&b, "   %2d  %s\n", e.code, e.text)
	}
	return b.String()
}

type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// configError marks a problem with the manifest or the backup dir found by
// the command line; install's planning reports its own as *install.ConfigError,
// and exitCode maps both to exitConfig.
type configError struct{ error }

func (e configError) Unwrap() error { return e.error }

func exitCode(err error) int {
	var ue usageError
	var ce configError
	var ice *install.ConfigError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		return exitUsage
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return exitInterrupted
	case errors.Is(err, store.ErrLockTimeout):
		return exitLocked
	case errors.Is(err, erdrt.ErrUnavailable):
		return exitContainerd
	case errors.Is(err, erdrt.ErrEtcdNotRunning):
		return exitEtcdDown
	case errors.Is(err, erdrt.ErrEtcdAmbiguous):
		return exitAmbiguous
	case errors.Is(err, offhost.ErrIdentity):
		return exitIdentity
	case errors.Is(err, offhost.ErrUnreachable), errors.Is(err, offhost.ErrDenied), errors.Is(err, offhost.ErrNoBucket):
		return exitOffhost
	case errors.Is(err, store.ErrNoSnapshot):
		return exitNoSnapshot
	case errors.Is(err, etcdtool.ErrNoRoom):
		return exitNoRoom
	case errors.Is(err, backup.ErrDataDirInUse):
		return exitInUse
	case errors.Is(err, backup.ErrSuspect):
		return exitSuspect
	case errors.Is(err, etcdtool.ErrVerify):
		return exitVerify
	case errors.As(err, &ce), errors.As(err, &ice):
		return exitConfig
	case errors.Is(err, errNeedsAction):
		return exitNeedsAction
	}
	return exitFailure
}

var errNeedsAction = errors.New("needs attention")
