#!/usr/bin/env bash
# The demo: a kubeadm-like node with etcd on tmpfs, a backup, a power cycle that
# empties the tmpfs, a restore, and every key back. Run through `make demo`.
set -euo pipefail
: "${ERD_BIN:?run through make demo}" "${ERD_IMAGES:?run through make demo}"
export ERD_BED="${ERD_BED:-/var/tmp/erd-bed}-demo"
# One host bed run at a time (testbed.HostLockPath): they share 127.0.0.2:2379-2381.
if [[ -z "${ERD_HOSTBED_LOCKED:-}" ]]; then
	exec env ERD_HOSTBED_LOCKED=1 flock /var/tmp/erd-hostbed.lock "$0" "$@"
fi
tb() { "$ERD_BIN/testbed" --dir "$ERD_BED" --bin "$ERD_BIN" "$@"; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
trap 'say "tearing down"; tb down' EXIT

tb down 2>/dev/null || true
say "bringing up the node (containerd + CRI, etcd static pod, data on tmpfs)"
tb up --images "$ERD_IMAGES"
eval "$(tb env)"
findmnt -no FSTYPE,SIZE,TARGET "$ERD_BED/var/lib/etcd"

say "writing 500 keys"
tb etcd put-many /registry/demo/ 500
tb etcd count /registry/demo/

say "etcd-ramdisk backup"
"$ERD_BIN/etcd-ramdisk" backup --reason manual
"$ERD_BIN/etcd-ramdisk" list

say "rebooting the node: every container dies, the tmpfs comes back empty"
tb reboot
ls -A "$ERD_BED/var/lib/etcd" | sed 's/^/  data dir: /' || true
echo "  data dir entries: $(ls -A "$ERD_BED/var/lib/etcd" | wc -l)"

say "etcd-ramdisk restore (what kubelet's ExecStartPre runs)"
"$ERD_BIN/etcd-ramdisk" restore

say "starting etcd through the kubelet stand-in"
tb kubelet
tb etcd check-many /registry/demo/ 500
echo "all 500 keys are back"
