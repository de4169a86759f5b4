// Package install puts etcd-ramdisk in place on a kubeadm node and takes it out
// again: the kubelet drop-in (restore before etcd starts, backup when kubelet
// stops), the cron table (backups every 15 minutes, a daily defrag), the
// journal's systemd unit (etcd's changes between snapshots) and the
// /etc/fstab line that mounts etcd's data dir as a tmpfs, each where and with
// the mode assets.Installed says. Every change is compared before it is
// written, so running it twice changes nothing, and the first backup is taken
// and verified before anything is written.
package install
