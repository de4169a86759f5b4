// Package systemd holds the kubelet drop-in that etcd-ramdisk install writes to
// /etc/systemd/system/kubelet.service.d/, as a text/template kept where operators
// look for it. Package install renders it; its tests check it with
// systemd-analyze verify.
package systemd
