// Package testbed builds and runs a kubeadm-like single node for end-to-end
// tests: containerd with its CRI plugin, a kubeadm-style etcd PKI and static
// pod manifest, and etcd/pause images built locally as OCI archives so that no
// registry is needed. Everything stays on one machine, with etcd advertising a
// loopback address, so the etcd-ramdisk backup/restore logic can be exercised
// against a realistic control-plane layout.
package testbed
