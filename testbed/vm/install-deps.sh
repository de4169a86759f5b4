#!/usr/bin/env bash
# Installs what the VM test bed needs on the host (Debian 12): QEMU with TCG,
# qemu-img, mmdebstrap for the rootfs, mke2fs (-d) for the images, ssh and
# ssh-keygen. Idempotent: installs only what is missing.
set -euo pipefail
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v qemu-img >/dev/null || need+=(qemu-utils)
command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
command -v mke2fs >/dev/null || need+=(e2fsprogs)
command -v ssh >/dev/null || need+=(openssh-client)
command -v ssh-keygen >/dev/null || need+=(openssh-client)
if [[ ${#need[@]} -gt 0 ]]; then
	echo "vm: installing ${need[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
