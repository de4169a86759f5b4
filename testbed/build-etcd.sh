#!/usr/bin/env bash
# build-etcd.sh OUTDIR
#
# Builds static etcd binaries for the test bed from the Go module proxy:
#   OUTDIR/etcd-3.7.4/{etcd,etcdctl,etcdutl}        (the etcd kubeadm 1.37 deploys)
#   OUTDIR/etcd-3.6.16/{etcd,etcdctl,etcdutl,etcdkv}
#   OUTDIR/etcd-3.5.21/{etcd,etcdctl}        (Kubernetes' own 3.5 images ship no etcdutl)
# Each version is its own Go module under testbed/etcd/<version>, so the
# tool's go.mod never depends on etcd's server.
#
# A binary is skipped when it is newer than every *.go, go.mod and go.sum file
# of its module (and this script), so a second run only costs a few stats.
# Needs only Go (>= the module's go directive) and the module proxy. go.sum is
# committed and -mod=readonly is used, so every module download is verified
# against go.sum and the checksum database (sum.golang.org) is never
# consulted: no GONOSUMDB/GONOSUMCHECK/GOSUMDB override is needed (none was
# needed when creating go.sum either: all etcd modules are in sum.golang.org).
set -euo pipefail

if [[ $# -ne 1 ]]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
script="$here/$(basename "${BASH_SOURCE[0]}")"
mkdir -p "$1"
out="$(cd "$1" && pwd)"

export CGO_ENABLED=0
# -buildvcs=false: the modules live inside the tool's git checkout; VCS stamping
# would make builds depend on git being installed and on the work tree state.
export GOFLAGS="-mod=readonly -buildvcs=false"
export GOWORK=off # never let a go.work elsewhere pull these modules together

# build VERSION BIN...
build() {
	local version="$1"
	shift
	local mod="$here/etcd/v$version"
	local dest="$out/etcd-$version"
	local stale=() bin newer
	mkdir -p "$dest"
	for bin in "$@"; do
		if [[ -x "$dest/$bin" && ! "$script" -nt "$dest/$bin" ]]; then
			newer="$(find "$mod" -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) \
				-newer "$dest/$bin" -print -quit)"
			if [[ -z "$newer" ]]; then
				echo "build-etcd: $dest/$bin: up to date" >&2
				continue
			fi
		fi
		stale+=("$bin")
	done
	[[ ${#stale[@]} -gt 0 ]] || return 0

	local pkgs=() start=$SECONDS
	for bin in "${stale[@]}"; do pkgs+=("./cmd/$bin"); done
	# One go build for all stale mains of the module: they share compilation
	# and link in parallel. With several packages, -o DIR/ names them by dir.
	(cd "$mod" && go build -trimpath -ldflags "-s -w" -o "$dest/" "${pkgs[@]}")
	for bin in "${stale[@]}"; do
		touch "$dest/$bin" # go build keeps an up-to-date file's old mtime
		echo "build-etcd: $dest/$bin: built ($((SECONDS - start))s)" >&2
	done
}

build 3.7.4 etcd etcdctl etcdutl
build 3.6.16 etcd etcdctl etcdutl etcdkv
build 3.5.21 etcd etcdctl
