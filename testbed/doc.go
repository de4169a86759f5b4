// Package testbed builds and runs a kubeadm-like single node for end-to-end
// tests: containerd with its CRI plugin, a kubeadm-style etcd PKI and static
// pod manifest, and etcd/pause images built locally as OCI archives so that no
// registry is needed. Everything stays on one machine, with etcd advertising a
// loopback address, so the etcd-ramdisk backup/restore logic can be exercised
// against a realistic control-plane layout.
//
// The containerd is Debian's 1.6 from PATH (configuration version 2), or a 2.x
// (configuration version 3) from the directory NodeOptions.ContainerdBin, or
// ERD_CONTAINERD_BIN when that is empty: build-containerd2.sh puts containerd,
// containerd-shim-runc-v2 and ctr v2.4.2 there (`make containerd2`; `make e2e`
// sets ERD_CONTAINERD_BIN to it, `make e2e-containerd1` empties it). That
// directory goes first in containerd's PATH, so it starts the shim of its own
// version. Either way containerd runs in a mount namespace of its own with a
// private /run.
package testbed
