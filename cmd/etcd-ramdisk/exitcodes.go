package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/etcd-ramdisk/etcd-ramdisk/backup"
	"github.com/etcd-ramdisk/etcd-ramdisk/etcdtool"
	"github.com/etcd-ramdisk/etcd-ramdisk/install"
	"github.com/etcd-ramdisk/etcd-ramdisk/offhost"
	"github.com/etcd-ramdisk/etcd-ramdisk/restore"
	erdrt "github.com/etcd-ramdisk/etcd-ramdisk/runtime"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
	"github.com/etcd-ramdisk/etcd-ramdisk/verify"
)

// exitRow is one documented exit code and the errors that end a run with it.
type exitRow struct {
	code  int
	name  string
	text  string // as the README shows it; --help drops the backquotes
	match func(error) bool
}

// exitCodes is the one table of exit codes: cron, systemd and monitoring
// depend on them, so never renumber. exitCode takes the first row that
// matches, so the order is the precedence (a lock wait cut short by SIGTERM is
// interrupted, not locked); --help and the README list the rows by code.
var exitCodes = []exitRow{
	{0, "ok", "success, including nothing to do", func(err error) bool { return err == nil }},
	{2, "usage", "bad flags or arguments", as[usageError]},
	{16, "interrupted", "interrupted by SIGINT/SIGTERM or `--timeout` (also while waiting for the lock); nothing half-done was kept", is(context.Canceled, context.DeadlineExceeded)},
	{6, "locked", "another run held the lock past `--lock-timeout`", is(store.ErrLockTimeout)},
	{4, "containerd", "containerd not reachable", is(erdrt.ErrUnavailable)},
	{5, "etcd-down", "no running etcd container found", is(erdrt.ErrEtcdNotRunning)},
	{13, "ambiguous", "several etcd containers still ran after `--pod-update-wait` and none is from the manifest's image; nothing done", is(erdrt.ErrEtcdAmbiguous)},
	{14, "identity", "restore or verify from the off-host copies: the age identity is missing or matches none of their recipients; data dir left empty", is(offhost.ErrIdentity)},
	{15, "offhost", "restore, list or verify `--offhost`: the off-host target is unreachable, refuses the credentials or has no such bucket; data dir left empty", is(offhost.ErrUnreachable, offhost.ErrDenied, offhost.ErrNoBucket)},
	{18, "nothing-to-verify", "verify: the store, or the off-host target with `--offhost`, holds no snapshot; nothing was checked", is(verify.ErrNothingToVerify)},
	{7, "no-snapshot", "restore: no usable snapshot; data dir left empty", is(store.ErrNoSnapshot)},
	{11, "no-room", "restore: the tmpfs or memory is too small for the snapshot; nothing written", is(etcdtool.ErrNoRoom)},
	{12, "in-use", "backup from the data dir: a process (etcd) still has it open; nothing copied", is(backup.ErrDataDirInUse)},
	{9, "suspect", "backup: revision went backwards; snapshot kept aside as suspect", is(backup.ErrSuspect)},
	{8, "verify", "a snapshot failed verification", is(etcdtool.ErrVerify)},
	{3, "config", "manifest, backup dir or restore's `--data-dir` unusable (restore never creates a data dir's parents)", func(err error) bool {
		return as[configError](err) || as[*install.ConfigError](err) || errors.Is(err, restore.ErrDataDir)
	}},
	{17, "broken", "status: backups or the next boot's restore cannot work (containerd not reachable, etcd not running, the backup dir missing or read-only, the data dir empty although snapshots exist); each is a `FAIL` line", is(errBroken)},
	{10, "needs-action", "status: something needs attention", is(errNeedsAction)},
	{1, "failure", "failure not listed below", func(error) bool { return true }},
}

// exitCode is the code a run that ended with err exits with. A step that ran
// etcd-ramdisk itself (install's restore) passes its documented code through.
func exitCode(err error) int {
	var te *install.ToolExit
	if errors.As(err, &te) && slices.ContainsFunc(exitCodes, func(r exitRow) bool { return r.code == te.Code }) {
		return te.Code
	}
	for _, r := range exitCodes {
		if r.match(err) {
			return r.code
		}
	}
	return 1 // unreachable: the last row matches every error
}

func is(targets ...error) func(error) bool {
	return func(err error) bool {
		return slices.ContainsFunc(targets, func(t error) bool { return errors.Is(err, t) })
	}
}

func as[T error](err error) bool {
	var target T
	return errors.As(err, &target)
}

// byCode is the table in the order it is shown.
func byCode() []exitRow {
	rows := slices.Clone(exitCodes)
	slices.SortFunc(rows, func(a, b exitRow) int { return a.code - b.code })
	return rows
}

// exitCodeHelp is the EXIT CODES section of --help.
func exitCodeHelp() string {
	var b strings.Builder
	for _, e := range byCode() {
		fmt.Fprintf(&b, "   %2d  %s\n", e.code, strings.ReplaceAll(e.text, "`", ""))
	}
	return b.String()
}

// exitCodeMarkdown is the README's exit code table.
func exitCodeMarkdown() string {
	var b strings.Builder
	b.WriteString("| code | meaning |\n|---|---|\n")
	for _, e := range byCode() {
		fmt.Fprintf(&b, "| %d | %s |\n", e.code, e.text)
	}
	return b.String()
}

type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// configError marks a problem with the manifest or the backup dir found by
// the command line; install's planning reports its own as *install.ConfigError,
// and both exit 3.
type configError struct{ error }

func (e configError) Unwrap() error { return e.error }

// errNeedsAction is status finding something that needs attention.
var errNeedsAction = errors.New("needs attention")

// errBroken is status finding that backups cannot work at all.
var errBroken = errors.New("backups cannot work")
