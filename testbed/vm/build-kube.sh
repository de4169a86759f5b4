#!/usr/bin/env bash
# build-kube.sh OUTDIR
#
# Builds the real kubelet and kubeadm that the VM node runs (testbed/vm) from the
# Go module proxy: OUTDIR/kubelet and OUTDIR/kubeadm, static (CGO_ENABLED=0).
# The module pinning them is testbed/vm/kubelet: it requires k8s.io/kubernetes
# (v1.37.2) and replaces each staging module that k8s.io/kubernetes' own go.mod
# points at ./staging/... with its published version; tools.go keeps both
# commands in `go mod tidy`. go.mod and go.sum are committed and -mod=readonly is
# used, so every download is verified against go.sum.
#
# Skipped when both binaries exist and are newer than the module's go.mod,
# go.sum, tools.go and this script. The build takes 10-15 minutes on 2 busy
# cores with a cold Go cache (kubeadm ~6 min, kubelet ~5.5 min when alone).
#
# The version is stamped as Kubernetes' own release build does (hack/lib/version.sh:
# -X k8s.io/component-base/version.gitVersion=... and the client-go copy), from the
# k8s.io/kubernetes version in go.mod: `kubelet --version` and `kubeadm version`
# report it and the VM suite prints it. Stamping happens at link time only: it
# costs nothing in the Go build cache.
set -euo pipefail

if [[ $# -ne 1 ]]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
script="$here/$(basename "${BASH_SOURCE[0]}")"
mod="$here/kubelet"
mkdir -p "$1"
out="$(cd "$1" && pwd)"
bins=(kubelet kubeadm)

version="$(awk '($1 == "require" && $2 == "k8s.io/kubernetes") { print $3 } ($1 == "k8s.io/kubernetes") { print $2 }' "$mod/go.mod" | head -n1)"

stale=0
for bin in "${bins[@]}"; do
	if [[ ! -x "$out/$bin" || "$script" -nt "$out/$bin" ]]; then
		stale=1
		break
	fi
	for f in "$mod/go.mod" "$mod/go.sum" "$mod/tools.go"; do
		if [[ "$f" -nt "$out/$bin" ]]; then
			stale=1
		fi
	done
done
if [[ $stale -eq 0 ]]; then
	echo "build-kube: $out/{kubelet,kubeadm}: k8s.io/kubernetes $version, up to date" >&2
	exit 0
fi

export CGO_ENABLED=0
# -buildvcs=false: the module lives inside the tool's git checkout.
export GOFLAGS="-mod=readonly -buildvcs=false"
export GOWORK=off
minor="${version#v}"
major="${minor%%.*}"
minor="${minor#*.}"
minor="${minor%%.*}"
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	ldflags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
done
start=$SECONDS
echo "build-kube: building kubelet and kubeadm from k8s.io/kubernetes $version (10-15 min on 2 cores)" >&2
(cd "$mod" && go build -trimpath -ldflags "$ldflags" -o "$out/" k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kubeadm)
for bin in "${bins[@]}"; do touch "$out/$bin"; done # go build keeps an unchanged file's mtime
for got in "$("$out/kubelet" --version)" "$("$out/kubeadm" version -o short)"; do
	if [[ "$got" != *"$version" ]]; then
		echo "build-kube: built binaries report \"$got\", want $version" >&2
		exit 1
	fi
done
echo "build-kube: $out/{kubelet,kubeadm}: built k8s.io/kubernetes $version ($((SECONDS - start))s)" >&2
