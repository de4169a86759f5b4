// Package status answers "is this node's etcd safe on its RAM disk?" in one
// report: the data dir's tmpfs and how full it is, the newest good backup and
// its age, whether the image needed to restore it still exists, who holds the
// store lock, whether the kubelet drop-in, cron file, fstab line and journal
// unit are installed (where assets.Installed puts them), and whether the
// journal follows etcd (its published state and its chains on disk). It only
// reads: it never takes the store lock or writes a file, so it is safe to run
// at any time, also while a backup or restore runs.
package status
