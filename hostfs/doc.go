// Package hostfs owns what etcd-ramdisk knows about the host's filesystems:
// the kernel's mount table, the /etc/fstab line that mounts etcd's data dir as
// a tmpfs, and durable writes (temporary file, fsync, rename, fsync of the
// directory). install, status and the snapshot store all ask it, so they
// cannot disagree about what is mounted or installed.
package hostfs
