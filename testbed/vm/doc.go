// Package vm runs a real single-node kubeadm etcd node in a QEMU (TCG) virtual
// machine: systemd as PID 1, real shutdowns and reboots, real kubelet v1.37.2
// with kubeadm's unit files, kubeadm's etcd certificates and static pod, and
// Debian's containerd 1.6 or containerd 2.x.
//
// The base image is built once by build-rootfs.sh into a cache directory keyed
// by the script's sha256; each VM boots a qcow2 overlay on it, with a read-only
// payload drive (etcd-ramdisk, kubelet, kubeadm, etcdkv, containerd 2.x, the OCI
// image archives, node-setup.sh). See README.md in this directory.
package vm
