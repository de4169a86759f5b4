// Package jobs holds etcd-ramdisk's jobs: taking a verified snapshot of the
// running etcd inside its own image, restoring the newest good snapshot into the
// empty tmpfs, verifying stored snapshots, and defragmenting. Each job takes
// (ctx, runtime, store, options) and knows nothing of the command line.
package jobs
