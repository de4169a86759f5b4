#!/bin/bash
# node-setup.sh: turns the VM into a single-node kubeadm control plane's etcd
# node, the way a kubeadm node is set up (run by testbed/vm's SetupNode as root
# in the guest, from the read-only payload at /mnt/payload).
#
#   ERD_CONTAINERD   1.6 (Debian's containerd) or 2 (payload's containerd 2.x)
#   ERD_ETCD_REPO    kubeadm etcd.local.imageRepository, e.g. registry.k8s.io
#   ERD_ETCD_TAG     kubeadm etcd.local.imageTag, e.g. 3.6.16-0
#   ERD_KUBELET_EXTRA file with YAML lines appended to kubelet's config (optional)
#
# Steps: containerd with SystemdCgroup and the pause:3.6 sandbox image; the OCI
# archives imported into namespace k8s.io; kubelet + kubeadm at /usr/bin with
# kubelet.service and 10-kubeadm.conf as kubeadm's Debian packages ship them,
# plus a drop-in that empties KUBELET_KUBECONFIG_ARGS (standalone kubelet, no
# API server); kubeadm's etcd certificates and etcd static pod; kubelet enabled
# and started; waits until etcd answers over TLS. etcd's data is on disk at
# /var/lib/etcd (etcd-ramdisk install moves it to tmpfs later).
set -euo pipefail
: "${ERD_CONTAINERD:?}" "${ERD_ETCD_REPO:?}" "${ERD_ETCD_TAG:?}"
P=/mnt/payload
log() { echo "node-setup: +${SECONDS}s $*"; }

mountpoint -q "$P" || mount "$P"
test -f "$P/node-setup.sh" || {
	echo "node-setup: payload not mounted at $P" >&2
	exit 1
}

# --- binaries ----------------------------------------------------------------
install -m 0755 "$P/bin/kubelet" /usr/bin/kubelet
install -m 0755 "$P/bin/kubeadm" /usr/bin/kubeadm
install -m 0755 "$P/bin/etcd-ramdisk" /usr/local/bin/etcd-ramdisk
install -m 0755 "$P/bin/etcdkv" /usr/local/bin/etcdkv

# --- containerd --------------------------------------------------------------
mkdir -p /etc/containerd
case "$ERD_CONTAINERD" in
1.6)
	rm -f /etc/systemd/system/containerd.service.d/10-erd-containerd2.conf
	# Debian's config.toml (cni and opt sections) plus what kubeadm's docs ask for:
	# the systemd cgroup driver, and the sandbox image the node has.
	cat >/etc/containerd/config.toml <<'EOF'
version = 2

[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "registry.k8s.io/pause:3.6"
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "/usr/lib/cni"
      conf_dir = "/etc/cni/net.d"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = true
  [plugins."io.containerd.internal.v1.opt"]
    path = "/var/lib/containerd/opt"
EOF
	;;
2)
	install -m 0755 "$P/containerd2/containerd" "$P/containerd2/containerd-shim-runc-v2" "$P/containerd2/ctr" /usr/local/bin/
	mkdir -p /etc/systemd/system/containerd.service.d
	cat >/etc/systemd/system/containerd.service.d/10-erd-containerd2.conf <<'EOF'
# erd-vm: Debian's containerd.service runs containerd 2.x from /usr/local/bin
# (its shim is found there first: /usr/local/bin precedes /usr/bin in PATH).
[Service]
ExecStart=
ExecStart=/usr/local/bin/containerd
EOF
	cat >/etc/containerd/config.toml <<'EOF'
version = 3

[plugins."io.containerd.cri.v1.images".pinned_images]
  sandbox = "registry.k8s.io/pause:3.6"

[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
    SystemdCgroup = true

[plugins."io.containerd.cri.v1.runtime".cni]
  bin_dirs = ["/usr/lib/cni"]
  conf_dir = "/etc/cni/net.d"
EOF
	;;
*)
	echo "node-setup: ERD_CONTAINERD=$ERD_CONTAINERD: want 1.6 or 2" >&2
	exit 2
	;;
esac
systemctl daemon-reload
systemctl enable containerd.service >/dev/null 2>&1
systemctl restart containerd.service
for ((i = 0; i < 120; i++)); do
	ctr version >/dev/null 2>&1 && break
	sleep 1
done
ctr version >/dev/null
log "containerd ready: $(containerd --version)"

# In parallel: unpacking is CPU work, and the VM has two vCPUs.
pids=()
for f in "$P"/images/*.tar; do
	ctr -n k8s.io images import "$f" >/dev/null &
	pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
log "images imported: $(ctr -n k8s.io images ls -q | grep -v '^sha256:' | tr '\n' ' ')"

# --- kubelet, as kubeadm's Debian packages install it ---------------------------
# kubelet.deb: /usr/lib/systemd/system/kubelet.service and /etc/default/kubelet
# (kubernetes/release cmd/krel/templates/latest/kubelet/kubelet.service, kubelet.env).
cat >/usr/lib/systemd/system/kubelet.service <<'EOF'
[Unit]
Description=kubelet: The Kubernetes Node Agent
Documentation=https://kubernetes.io/docs/
Wants=network-online.target
After=network-online.target

[Service]
ExecStart=/usr/bin/kubelet
Restart=always
StartLimitInterval=0
RestartSec=10

[Install]
WantedBy=multi-user.target
EOF
[[ -f /etc/default/kubelet ]] || echo "KUBELET_EXTRA_ARGS=" >/etc/default/kubelet
# kubeadm.deb: /usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf
# (templates/latest/kubeadm/10-kubeadm.conf, with the Debian build's
# /etc/default/kubelet in place of /etc/sysconfig/kubelet).
mkdir -p /usr/lib/systemd/system/kubelet.service.d
cat >/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf <<'EOF'
# Note: This dropin only works with kubeadm and kubelet v1.11+
[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
# This is a file that "kubeadm init" and "kubeadm join" generates at runtime, populating the KUBELET_KUBEADM_ARGS variable dynamically
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
# This is a file that the user can use for overrides of the kubelet args as a last resort. Preferably, the user should use
# the .NodeRegistration.KubeletExtraArgs object in the configuration files instead. KUBELET_EXTRA_ARGS should be sourced from this file.
EnvironmentFile=-/etc/default/kubelet
ExecStart=
ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
EOF
# The test node's only deviation: no API server, so kubelet runs standalone.
mkdir -p /etc/systemd/system/kubelet.service.d
cat >/etc/systemd/system/kubelet.service.d/15-erd-vm-standalone.conf <<'EOF'
# erd-vm: standalone kubelet (no API server): no kubeconfig.
[Service]
Environment="KUBELET_KUBECONFIG_ARGS="
EOF

mkdir -p /var/lib/kubelet /etc/kubernetes/manifests
{
	cat <<'EOF'
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
staticPodPath: /etc/kubernetes/manifests
authentication:
  anonymous:
    enabled: true
  webhook:
    enabled: false
authorization:
  mode: AlwaysAllow
cgroupDriver: systemd
containerRuntimeEndpoint: unix:///run/containerd/containerd.sock
registerNode: false
EOF
	if [[ -n "${ERD_KUBELET_EXTRA:-}" && -s "$ERD_KUBELET_EXTRA" ]]; then
		echo "# KubeletConfigExtra"
		cat "$ERD_KUBELET_EXTRA"
	fi
} >/var/lib/kubelet/config.yaml

# --- kubeadm: etcd certificates and the etcd static pod -------------------------
# kubernetesVersion: kubeadm's own (build-kube.sh stamps it), as `kubeadm init` would use
# for a cluster of its release; given explicitly, or kubeadm asks dl.k8s.io.
kver="$(kubeadm version -o short)"
cat >/root/kubeadm.yaml <<EOF
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: 10.0.2.15
  bindPort: 6443
nodeRegistration:
  name: node1
  criSocket: unix:///run/containerd/containerd.sock
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: $kver
etcd:
  local:
    imageRepository: $ERD_ETCD_REPO
    imageTag: $ERD_ETCD_TAG
    dataDir: /var/lib/etcd
EOF
for phase in etcd-ca etcd-server etcd-peer etcd-healthcheck-client; do
	kubeadm init phase certs "$phase" --config /root/kubeadm.yaml
done
kubeadm init phase etcd local --config /root/kubeadm.yaml
log "kubeadm wrote $(ls /etc/kubernetes/pki/etcd | tr '\n' ' ') and /etc/kubernetes/manifests/etcd.yaml"

systemctl daemon-reload
systemctl enable --now kubelet.service
log "kubelet started: $(kubelet --version), kubeadm $kver"

pki=/etc/kubernetes/pki/etcd
for ((i = 0; i < 600; i++)); do
	if etcdkv --cacert "$pki/ca.crt" --cert "$pki/healthcheck-client.crt" --key "$pki/healthcheck-client.key" \
		--timeout 3s count erd-vm/ >/dev/null 2>&1; then
		log "etcd answers over TLS"
		exit 0
	fi
	sleep 1
done
echo "node-setup: etcd did not answer within 10 minutes" >&2
systemctl status --no-pager kubelet containerd >&2 || true
journalctl --no-pager -u kubelet -n 60 >&2 || true
ctr -n k8s.io containers ls >&2 || true
exit 1
