// Package runtime is etcd-ramdisk's only door to the container runtime: it opens
// containerd, finds the cluster's running etcd by its CRI labels, and runs etcd's
// own tools inside the etcd image, by exec in the running container or in a
// short-lived, locked-down sidecar container from the same image digest, and
// etcd itself in a long-running sidecar locked down the same way.
//
// It shadows the standard library's package of the same name; import it as
// `erdrt` everywhere.
package runtime
