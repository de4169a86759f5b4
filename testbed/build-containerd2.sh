#!/usr/bin/env bash
# build-containerd2.sh OUTDIR
#
# Builds static containerd 2.x binaries for the VM test bed (testbed/vm) from the
# Go module proxy: OUTDIR/{containerd,containerd-shim-runc-v2,ctr}. The module
# pinning them is testbed/containerd2 (go.mod and go.sum committed, no Go files);
# the version is the one its go.mod requires (v2.4.2; v2.2.9 builds too).
#
# Skipped when all three binaries exist, are newer than the module's go.mod,
# go.sum and this script, and `containerd --version` reports the pinned version.
# -mod=readonly: every download is verified against the committed go.sum
# (containerd's modules are in sum.golang.org, no GONOSUMDB needed).
# Takes about 4-5 minutes on 2 cores with a cold Go cache.
set -euo pipefail

if [[ $# -ne 1 ]]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
script="$here/$(basename "${BASH_SOURCE[0]}")"
mod="$here/containerd2"
mkdir -p "$1"
out="$(cd "$1" && pwd)"

version="$(awk '$1 == "github.com/containerd/containerd/v2" { print $2 }' "$mod/go.mod")"
if [[ -z "$version" ]]; then
	echo "build-containerd2: no github.com/containerd/containerd/v2 version in $mod/go.mod" >&2
	exit 1
fi
bins=(containerd containerd-shim-runc-v2 ctr)

uptodate() {
	local bin
	for bin in "${bins[@]}"; do
		[[ -x "$out/$bin" ]] || return 1
		[[ "$script" -nt "$out/$bin" || "$mod/go.mod" -nt "$out/$bin" || "$mod/go.sum" -nt "$out/$bin" ]] && return 1
	done
	[[ "$("$out/containerd" --version 2>/dev/null)" == *" $version "* ]]
}

if uptodate; then
	echo "build-containerd2: $out: containerd $version, up to date" >&2
	exit 0
fi

export CGO_ENABLED=0
export GOFLAGS="-mod=readonly -buildvcs=false"
export GOWORK=off
start=$SECONDS
pkgs=()
for bin in "${bins[@]}"; do pkgs+=("github.com/containerd/containerd/v2/cmd/$bin"); done
# Without -X the binaries report version "+unknown".
(cd "$mod" && go build -trimpath -tags "no_btrfs no_devmapper no_zfs" \
	-ldflags "-s -w -X github.com/containerd/containerd/v2/version.Version=$version" \
	-o "$out/" "${pkgs[@]}")
for bin in "${bins[@]}"; do touch "$out/$bin"; done # go build keeps an unchanged file's mtime
got="$("$out/containerd" --version)"
if [[ "$got" != *" $version "* ]]; then
	echo "build-containerd2: $out/containerd reports \"$got\", want $version" >&2
	exit 1
fi
echo "build-containerd2: $out: built containerd $version ($((SECONDS - start))s): $got" >&2
