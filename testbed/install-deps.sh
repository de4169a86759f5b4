#!/usr/bin/env bash
# Installs what the test bed needs on a fresh Debian/Ubuntu machine: containerd and
# runc from the distribution (containerd 1.6 on Debian 12), util-linux for unshare,
# systemd's systemd-analyze for checking the unit drop-in, and qemu-user-static,
# whose qemu-aarch64-static runs the arm64 build's unit tests (make unit-arm64)
# and the arm64 release binary (make deb-test), and xfsprogs for the bench's XFS
# disks (make bench; bench's unit tests make one). Idempotent.
set -euo pipefail
need=()
command -v containerd >/dev/null || need+=(containerd)
command -v runc >/dev/null || need+=(runc)
command -v unshare >/dev/null || need+=(util-linux)
command -v systemd-analyze >/dev/null || need+=(systemd)
command -v strace >/dev/null || need+=(strace)
command -v qemu-aarch64-static >/dev/null || need+=(qemu-user-static)
command -v mkfs.xfs >/dev/null || need+=(xfsprogs)
if [ "${#need[@]}" -gt 0 ]; then
  echo "testbed: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# Debian's package would start a system containerd under systemd; the bed runs its
# own private one and never uses /run/containerd, so nothing else is needed here.
