// Package metrics records how etcd-ramdisk's jobs (backup, restore, defrag)
// last ran in a node_exporter textfile: timestamps, duration, exit code, a
// failure counter kept across runs, and what the backup or restore produced;
// and the journal service's figures as samples (running, lag, last fsync,
// bytes and fsyncs, chain start). One file may be shared by all jobs: each
// write keeps the other jobs' series and replaces its own, under a lock on
// the file's directory. Every write also records the writer's build
// (etcd_ramdisk_build_info: version, commit, Go version).
package metrics
