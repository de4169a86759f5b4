// Package kubelet reads what etcd-ramdisk needs to know of kubelet's own
// configuration file (/var/lib/kubelet/config.yaml on a kubeadm node): whether
// kubelet's graceful node shutdown stops etcd before systemd does.
package kubelet
