// Package filelock takes exclusive flock(2) locks, waiting a bounded time and
// no longer than a context allows. The kernel drops such a lock when its
// process dies, however it dies, so a killed run never leaves a stale lock:
// the store, the metrics textfiles and the off-host copy all lock this way.
package filelock
