#!/usr/bin/env bash
# Installs the .deb `make release` built for this machine the way an operator
# would (dpkg -i), runs it, and removes it, checking that the package holds
# only its own files and that nothing else on the machine changes until
# `etcd-ramdisk install` runs. Also checks the release directory: SHA256SUMS,
# static binaries, the stamped version in both architectures' binaries (arm64
# under qemu-user), and what an unstamped `go build` prints. Needs root; about
# 15 seconds with a warm build cache.
#
#   packaging/deb-test.sh RELEASE_DIR VERSION COMMIT
set -euo pipefail
rel=${1:?usage: deb-test.sh RELEASE_DIR VERSION COMMIT}
version=${2:?usage: deb-test.sh RELEASE_DIR VERSION COMMIT}
commit=${3:?usage: deb-test.sh RELEASE_DIR VERSION COMMIT}
here=$(cd "$(dirname "$0")" && pwd)
pkg=etcd-ramdisk
fail() { echo "deb-test: FAIL: $*" >&2; exit 1; }
step() { echo "deb-test: $*" >&2; }

[ "$(id -u)" = 0 ] || fail "needs root (dpkg -i)"
arch=$(dpkg --print-architecture)
debs=("$rel"/${pkg}_*_"$arch".deb)
[ "${#debs[@]}" = 1 ] && [ -f "${debs[0]}" ] || fail "want one $arch .deb in $rel, found: ${debs[*]}"
deb=${debs[0]}
debver=$(dpkg-deb --field "$deb" Version)

step "release directory $rel"
(cd "$rel" && sha256sum --quiet -c SHA256SUMS) || fail "SHA256SUMS does not match"
for a in amd64 arm64; do
  grep -q " ${pkg}-linux-$a\$" "$rel/SHA256SUMS" && grep -q " ${pkg}_.*_$a.deb\$" "$rel/SHA256SUMS" ||
    fail "SHA256SUMS lacks the $a binary or .deb"
  m=$(go version -m "$rel/${pkg}-linux-$a")
  for want in "build	CGO_ENABLED=0" "build	-trimpath=true" "build	GOARCH=$a"; do
    grep -qF "$want" <<<"$m" || fail "${pkg}-linux-$a was not built with $want"
  done
done
# The package installs a static binary: no interpreter, no shared libraries.
[[ $(ldd "$rel/${pkg}-linux-amd64" 2>&1 || true) == *"not a dynamic executable"* ]] || fail "the amd64 binary is dynamically linked"
want="etcd-ramdisk $version (commit $commit, go"
out=$(qemu-aarch64-static "$rel/${pkg}-linux-arm64" version)
[[ $out == "$want"*", linux/arm64)" ]] || fail "arm64 binary under qemu: version printed \"$out\", want \"$want…, linux/arm64)\""

# A build without the stamp says what Go recorded from git. In a clone: Go
# finds no repository in a `git worktree` (.git is a file there).
step "go build without the stamp, in a clone of HEAD"
src=$(mktemp -d)
trap 'rm -rf "$src"' EXIT
git clone -q "$here/.." "$src"
(cd "$src" && CGO_ENABLED=0 go build -buildvcs=true -trimpath -o "$src/erd" ./cmd/etcd-ramdisk)
rev=$(git -C "$src" rev-parse HEAD)
out=$("$src/erd" version)
[[ $out == "etcd-ramdisk v"*" (commit $rev, go"* ]] || fail "an unstamped build printed \"$out\", want the module version and commit $rev"
rm -rf "$src"

# What must not change before `etcd-ramdisk install` runs: every file install
# writes (assets.Installed), the directories they go in, the backup dir, and
# the binary's path; and the package database holds no scripts of ours.
watched=(/etc/systemd/system/kubelet.service.d/20-etcd-ramdisk.conf /etc/cron.d/etcd-ramdisk
  /etc/systemd/system/etcd-ramdisk-journal.service /etc/etcd-ramdisk /etc/fstab
  /etc/systemd/system /etc/cron.d /var/lib/etcd-ramdisk /var/lib/etcd /run/etcd-ramdisk)
state() {
  local p
  for p in "${watched[@]}"; do
    if [ -d "$p" ]; then echo "$p dir: $(find "$p" -xdev -printf '%P %m %s %T@\n' | sort | sha256sum)"
    elif [ -e "$p" ]; then echo "$p file: $(stat -c '%a %s %Y' "$p") $(sha256sum <"$p")"
    else echo "$p absent"; fi
  done
}

if status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null) && [ "$status" != not-installed ]; then
  fail "$pkg is already known to dpkg here ($status): this test installs and purges it; remove it first"
fi
[ -e /usr/bin/etcd-ramdisk ] && fail "/usr/bin/etcd-ramdisk exists though no package owns it"
before=$(state)
trap 'dpkg --purge "$pkg" >/dev/null 2>&1 || true; rm -rf "${root:-}" "$src"' EXIT

step "dpkg -i $(basename "$deb")"
dpkg -i "$deb" >/dev/null
[ "$(dpkg-query -W -f='${db:Status-Abbrev}${Version}' "$pkg")" = "ii $debver" ] || fail "dpkg does not list $pkg $debver as installed"
listed=$(dpkg -L "$pkg" | sort)
expected=$(printf '%s\n' /usr /usr/bin /usr/bin/etcd-ramdisk /usr/share /usr/share/doc \
  /usr/share/doc/etcd-ramdisk /usr/share/doc/etcd-ramdisk/{LICENSE,NOTICE,README.md.gz,changelog.gz,copyright} | sort)
[ "$listed" = "$expected" ] || fail "dpkg -L lists:"$'\n'"$listed"$'\n'"want:"$'\n'"$expected"
info=$(cd /var/lib/dpkg/info && ls "$pkg".* | sort | tr '\n' ' ')
[ "$info" = "$pkg.list $pkg.md5sums " ] || fail "dpkg's database holds $info(maintainer scripts or conffiles?)"
dpkg --verify "$pkg" || fail "dpkg --verify: installed files differ from the package"
[ "$(state)" = "$before" ] || fail "installing the package changed files outside it:"$'\n'"$(diff <(echo "$before") <(state))"

step "etcd-ramdisk version"
[ "$(command -v etcd-ramdisk)" = /usr/bin/etcd-ramdisk ] || fail "etcd-ramdisk on the PATH is $(command -v etcd-ramdisk)"
out=$(etcd-ramdisk version)
[[ $out == "$want"*", linux/$arch)" ]] || fail "version printed \"$out\", want \"$want…, linux/$arch)\""
[ "$(etcd-ramdisk --version)" = "$out" ] || fail "--version printed \"$(etcd-ramdisk --version)\", version \"$out\""

step "etcd-ramdisk install --dry-run --root (a kubeadm node's manifest)"
root=$(mktemp -d)
mkdir -p "$root/etc/kubernetes/manifests"
cp "$here/../manifest/testdata/kubeadm-1.34-etcd-3.6.4.yaml" "$root/etc/kubernetes/manifests/etcd.yaml"
tree() { find "$root" -printf '%P %m %s %T@\n' | sort; }
tree_before=$(tree)
out=$(cd / && etcd-ramdisk install --dry-run --root "$root" --skip-backup)
for want_line in "would create $root/etc/systemd/system/kubelet.service.d/20-etcd-ramdisk.conf:" \
  "ExecStartPre=/usr/bin/etcd-ramdisk --manifest=/etc/kubernetes/manifests/etcd.yaml" \
  "would create $root/etc/cron.d/etcd-ramdisk:" "would create $root/etc/fstab:"; do
  grep -qF -- "$want_line" <<<"$out" || fail "install --dry-run did not print \"$want_line\":"$'\n'"$out"
done
[ "$(tree)" = "$tree_before" ] || fail "install --dry-run wrote under the test root:"$'\n'"$(diff <(echo "$tree_before") <(tree))"
[ "$(state)" = "$before" ] || fail "install --dry-run changed the machine:"$'\n'"$(diff <(echo "$before") <(state))"

step "dpkg -r, dpkg --purge"
dpkg -r "$pkg" >/dev/null
while read -r f; do
  case $f in /usr | /usr/bin | /usr/share | /usr/share/doc) continue ;; esac
  [ -e "$f" ] && fail "$f is left after dpkg -r"
done <<<"$expected"
# Without conffiles dpkg -r leaves nothing to purge; --purge must agree.
dpkg --purge "$pkg" >/dev/null 2>&1
if status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null) && [ "$status" != not-installed ]; then
  fail "dpkg still knows $pkg after --purge ($status)"
fi
compgen -G "/var/lib/dpkg/info/$pkg.*" >/dev/null && fail "dpkg's database keeps $(ls /var/lib/dpkg/info/$pkg.*)"
[ "$(state)" = "$before" ] || fail "removing the package changed files outside it"
step "ok: $(basename "$deb") ($(stat -c %s "$deb") bytes) installs, runs, dry-runs install and removes cleanly"
