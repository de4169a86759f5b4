// Package hostfs owns what etcd-ramdisk knows about the host: its filesystems
// and what it reads of the kernel's /proc: the mount table, the /etc/fstab
// line that mounts etcd's data dir as a tmpfs, durable writes (temporary file,
// fsync, rename, fsync of the directory), the boot id, process start times,
// who holds an flock or a file open, and the state systemd says the system is
// in (a shutdown backup stops etcd only while the node goes down). install,
// status, the runtime and the snapshot store all ask it, so they cannot
// disagree about the host.
package hostfs
