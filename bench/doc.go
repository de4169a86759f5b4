// Package bench measures what etcd-ramdisk costs and what it saves, on the test
// bed's real containerd and etcd: persistent-disk writes and fsyncs of etcd on disk
// against etcd on tmpfs with scheduled backups (and with the journal service beside them), backup/restore wall time and memory
// against etcd's bare tools, and the compression the store uses. It prints figures
// and never asserts them; bench/cmd/erd-bench is its command and README.md says what
// each figure means.
package bench
