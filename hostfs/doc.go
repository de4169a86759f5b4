// Package hostfs owns what etcd-ramdisk knows about the host: the kernel's
// mount table, the /etc/fstab line that mounts etcd's data dir as a tmpfs,
// durable writes (temporary file, fsync, rename, fsync of the directory) and
// the state systemd says the system is in (a shutdown backup stops etcd only
// while the node goes down). install, status and the snapshot store all ask
// it, so they cannot disagree about what is mounted or installed.
package hostfs
