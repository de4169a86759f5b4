// Package backup takes one verified snapshot of etcd and stores it: hot, with
// etcdctl inside etcd's own image while etcd runs, or cold, a copy of the data
// dir of an etcd that has exited. It guards against a reset cluster, records
// how a shutdown backup ended for the next boot's restore, and after the
// snapshot is durable archives the image, prunes and copies off-host.
package backup
