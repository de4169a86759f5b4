package cron

import _ "embed"

// FileName is the table's name in /etc/cron.d (no dot: cron ignores such names).
const FileName = "etcd-ramdisk"

// Table is the template of the cron table. Its data are the absolute paths
// Binary, Manifest, BackupDir, ContainerdAddress, DataDir and the containerd
// Namespace.
//
//go:embed etcd-ramdisk
var Table string
