// Package defrag defragments etcd's database with etcdctl inside the running
// etcd container, under the store's lock so that it never overlaps a backup.
package defrag
