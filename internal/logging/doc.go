// Package logging carries a run's structured logger on its context, the way
// containerd's log.G does: a job's steps log with G(ctx) instead of taking a
// logger as one more parameter, and Step times a step for the bench.
package logging
