// Package assets holds what etcd-ramdisk install puts on a node: the kubelet
// drop-in, the cron table and the journal's systemd unit, as text/templates
// kept where operators look for them, and Installed, the one table of every
// file install writes with its mode. install writes and removes these files
// and status checks them, both from this table, so they cannot disagree
// about what is installed where.
package assets
