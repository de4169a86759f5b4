package systemd

import _ "embed"

// DropInName is the drop-in's file name; "20-" sorts it after kubeadm's
// 10-kubeadm.conf, whose settings it extends.
const DropInName = "20-etcd-ramdisk.conf"

// KubeletDropIn is the template of the drop-in. Its data are the absolute paths
// Binary, Manifest, BackupDir, ContainerdAddress, DataDir and the containerd
// Namespace.
//
//go:embed 20-etcd-ramdisk.conf
var KubeletDropIn string
