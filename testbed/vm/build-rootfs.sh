#!/usr/bin/env bash
# build-rootfs.sh [CACHE_DIR]   (default /var/cache/erd-vm)
#
# Builds the VM test bed's base image: a Debian 12 (bookworm) rootfs made with
# mmdebstrap from Debian's archive, as
#   CACHE_DIR/<key>/rootfs.ext4   raw ext4 (mke2fs -d, no loop mount), 8 GiB sparse
#   CACHE_DIR/<key>/vmlinuz       Debian's linux-image-amd64 kernel
#   CACHE_DIR/<key>/initrd.img    its initramfs (virtio + ext4 modules only)
#   CACHE_DIR/<key>/packages.txt  dpkg -l of the image
# <key> is the first 16 hex digits of this script's sha256: everything the image
# holds is written by this script, so a changed script builds a new image and an
# unchanged one costs a sha256sum. testbed/vm (Go) computes the same key from its
# embedded copy of this file. A build goes to CACHE_DIR/.build-* first and is
# renamed into place when complete; old keys are left alone (rm them by hand).
#
# The image: systemd as PID 1, logind + D-Bus (kubelet's graceful node shutdown
# takes logind inhibitor locks), Debian's containerd 1.6 and runc, openssh-server
# (root by key only; the key comes from the kernel command line, see
# erd-authorized-key.service), static network via systemd-networkd (10.0.2.15/24,
# gateway 10.0.2.2: QEMU user networking), persistent journal, serial console,
# cron (etcd-ramdisk install writes /etc/cron.d). Timers and units that only
# cost time under TCG are masked. Runs as root; installs its tools itself.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
script="$here/$(basename "${BASH_SOURCE[0]}")"
cache="${1:-/var/cache/erd-vm}"
key="$(sha256sum "$script" | cut -c1-16)"
dest="$cache/$key"

if [[ -f "$dest/rootfs.ext4" && -f "$dest/vmlinuz" && -f "$dest/initrd.img" ]]; then
	echo "build-rootfs: $dest: up to date" >&2
	exit 0
fi
if [[ $EUID -ne 0 ]]; then
	echo "build-rootfs: must run as root" >&2
	exit 1
fi
"$here/install-deps.sh"

start=$SECONDS
mkdir -p "$cache"
# Leftovers of builds that were killed: --one-file-system never follows a mount
# (proc, sys, dev) that a killed mmdebstrap may have left in its root.
find "$cache" -mindepth 1 -maxdepth 1 -name '.build-*' -mmin +120 -exec rm -rf --one-file-system {} + 2>/dev/null || true
work="$(mktemp -d "$cache/.build-$key-XXXXXX")"
cleanup() { rm -rf --one-file-system "$work"; }
trap cleanup EXIT
root="$work/root"
out="$work/out"
mkdir -p "$out"

pkgs=(
	systemd systemd-sysv dbus libpam-systemd udev
	linux-image-amd64 initramfs-tools zstd kmod
	openssh-server
	containerd runc
	iproute2 util-linux mount e2fsprogs procps ca-certificates cron
)
include="$(IFS=,; echo "${pkgs[*]}")"

# Before any package is installed: a small initramfs (only what root=/dev/vda
# needs). /usr/share/initramfs-tools/modules.d is read with MODULES=list and is
# no package's conffile, so dpkg never asks about it.
setup_hook='mkdir -p "$1/etc/initramfs-tools/conf.d" "$1/usr/share/initramfs-tools/modules.d" &&
printf "MODULES=list\nCOMPRESS=zstd\n" > "$1/etc/initramfs-tools/conf.d/erd-vm.conf" &&
printf "virtio_pci\nvirtio_blk\next4\ncrc32c_generic\n" > "$1/usr/share/initramfs-tools/modules.d/erd-vm"'

echo "build-rootfs: mmdebstrap bookworm into $root" >&2
mmdebstrap --variant=apt --mode=root --format=directory \
	--aptopt='APT::Install-Recommends "false"' \
	--include="$include" \
	--setup-hook="$setup_hook" \
	bookworm "$root" \
	"deb http://deb.debian.org/debian bookworm main" \
	"deb http://deb.debian.org/debian bookworm-updates main" \
	"deb http://deb.debian.org/debian-security bookworm-security main" \
	</dev/null >"$work/mmdebstrap.log" 2>&1 || {
	tail -n 40 "$work/mmdebstrap.log" >&2
	echo "build-rootfs: mmdebstrap failed" >&2
	exit 1
}
echo "build-rootfs: mmdebstrap done ($((SECONDS - start))s)" >&2

# --- configuration ---------------------------------------------------------
echo node1 >"$root/etc/hostname"
cat >"$root/etc/hosts" <<'EOF'
127.0.0.1	localhost
10.0.2.15	node1
::1		localhost ip6-localhost ip6-loopback
EOF
cat >"$root/etc/fstab" <<'EOF'
# erd-vm: root is /dev/vda (kernel command line root=/dev/vda rw)
/dev/vda	/	ext4	rw,errors=remount-ro	0	1
# The per-run payload drive (read-only), mounted on first access (automount): a
# boot never waits for it, and nothing on the node needs it once SetupNode has
# installed what it holds.
LABEL=erd-payload	/mnt/payload	ext4	ro,noatime,noauto,x-systemd.automount,x-systemd.device-timeout=2min	0	0
EOF
mkdir -p "$root/mnt/payload"
# A fixed machine id: no first-boot units (ConditionFirstBoot), and the
# persistent journal keeps one directory across boots of every VM.
printf '%s\n' 0e7d5a3c1b9f4e2a8c6d4b2a19f0e8d7 >"$root/etc/machine-id"

# Network: static, QEMU user networking (slirp's DNS is 10.0.2.3; the bed runs
# QEMU with restrict=on, so nothing leaves the host anyway).
mkdir -p "$root/etc/systemd/network"
cat >"$root/etc/systemd/network/10-eth0.network" <<'EOF'
[Match]
Name=eth0

[Network]
Address=10.0.2.15/24
Gateway=10.0.2.2
DNS=10.0.2.3
LinkLocalAddressing=no
IPv6AcceptRA=no
EOF
rm -f "$root/etc/resolv.conf"
echo "nameserver 10.0.2.3" >"$root/etc/resolv.conf"
systemctl --root="$root" enable systemd-networkd.service >/dev/null 2>&1

# Journal: persistent, so the previous boot can be read with journalctl -b -1.
mkdir -p "$root/var/log/journal" "$root/etc/systemd/journald.conf.d"
cat >"$root/etc/systemd/journald.conf.d/erd-vm.conf" <<'EOF'
[Journal]
Storage=persistent
SystemMaxUse=256M
EOF

# systemd: shorter default timeouts than Debian's 90 s for units that do not set
# their own (kubelet's drop-in from etcd-ramdisk sets its own 15 min).
mkdir -p "$root/etc/systemd/system.conf.d"
cat >"$root/etc/systemd/system.conf.d/erd-vm.conf" <<'EOF'
[Manager]
DefaultTimeoutStartSec=60s
DefaultTimeoutStopSec=30s
EOF

# SSH: root by key only. The key is handed over per VM on the kernel command line
# (erd.authorized_key=<base64 of the public key line>), so a boot never depends on
# the payload drive for SSH.
mkdir -p "$root/etc/ssh/sshd_config.d"
cat >"$root/etc/ssh/sshd_config.d/erd-vm.conf" <<'EOF'
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
GSSAPIAuthentication no
# No PAM: a PAM session would register with logind and start a user@0.service
# manager for every first login, seconds under TCG. Key login needs no PAM.
UsePAM no
# testbed/vm multiplexes every command over one master connection per VM.
MaxSessions 64
EOF
cat >"$root/usr/local/sbin/erd-authorized-key" <<'EOF'
#!/bin/sh
# Writes root's authorized_keys from erd.authorized_key= on the kernel command line.
set -eu
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	erd.authorized_key=*)
		install -d -m 0700 /root/.ssh
		echo "${arg#erd.authorized_key=}" | base64 -d >/root/.ssh/authorized_keys.tmp
		chmod 0600 /root/.ssh/authorized_keys.tmp
		mv /root/.ssh/authorized_keys.tmp /root/.ssh/authorized_keys
		;;
	esac
done
EOF
chmod 0755 "$root/usr/local/sbin/erd-authorized-key"
cat >"$root/etc/systemd/system/erd-authorized-key.service" <<'EOF'
[Unit]
Description=Root's SSH key from the kernel command line (erd-vm)
Before=ssh.service
DefaultDependencies=no
After=local-fs.target
ConditionKernelCommandLine=erd.authorized_key

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/erd-authorized-key

[Install]
WantedBy=multi-user.target
EOF
systemctl --root="$root" enable erd-authorized-key.service >/dev/null 2>&1

# Units that only cost time under TCG (or do nothing in a throwaway VM).
mask=(
	apt-daily.timer apt-daily-upgrade.timer apt-daily.service apt-daily-upgrade.service
	man-db.timer man-db.service
	e2scrub_all.timer e2scrub_all.service e2scrub_reap.service
	fstrim.timer fstrim.service
	dpkg-db-backup.timer dpkg-db-backup.service
	logrotate.timer
	systemd-timesyncd.service
	getty@tty1.service
	systemd-pcrphase.service systemd-pcrphase-sysinit.service systemd-pcrphase-initrd.service
	modprobe@drm.service modprobe@efi_pstore.service modprobe@dm_mod.service
	modprobe@loop.service modprobe@fuse.service
)
systemctl --root="$root" mask "${mask[@]}" >/dev/null 2>&1
systemctl --root="$root" set-default multi-user.target >/dev/null 2>&1
# Modules udev would load for QEMU's emulated PC that a node does not use.
cat >"$root/etc/modprobe.d/erd-vm.conf" <<'EOF'
blacklist kvm
blacklist kvm_amd
blacklist kvm_intel
blacklist powernow_k8
blacklist pcspkr
blacklist psmouse
blacklist serio_raw
blacklist evdev
blacklist joydev
blacklist floppy
blacklist sp5100_tco
blacklist ccp
blacklist ata_piix
blacklist ata_generic
blacklist i2c_piix4
blacklist cfg80211
EOF

# Debian's containerd 1.6 stays enabled (the node setup configures it); keep its
# package config untouched here.
dpkg-query --admindir="$root/var/lib/dpkg" -W -f '${Package} ${Version}\n' >"$out/packages.txt"

# --- kernel, initrd, image -------------------------------------------------
kernel="$(ls "$root"/boot/vmlinuz-* | sort -V | tail -n1)"
initrd="$(ls "$root"/boot/initrd.img-* | sort -V | tail -n1)"
cp "$kernel" "$out/vmlinuz"
cp "$initrd" "$out/initrd.img"
mke2fs -q -t ext4 -L erd-root -d "$root" -E root_owner=0:0 "$out/rootfs.ext4" 8G
chmod 0444 "$out/rootfs.ext4"
{
	echo "key $key"
	echo "kernel $(basename "$kernel")"
	echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ) in $((SECONDS - start))s"
} >"$out/build-info.txt"

rm -rf "$dest"
mv "$out" "$dest"
echo "build-rootfs: $dest: built in $((SECONDS - start))s ($(du -sh --apparent-size "$dest/rootfs.ext4" | cut -f1) apparent, $(du -sh "$dest/rootfs.ext4" | cut -f1) used)" >&2
