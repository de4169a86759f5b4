#!/usr/bin/env bash
# build-nerdctl.sh OUTDIR
#
# Builds a static nerdctl v2.0.5 into OUTDIR/nerdctl from the Go module proxy,
# for the e2e test of scripts/docker (the docker shim). The module pinning it is
# testbed/nerdctl (go.mod and go.sum committed, no Go files); -mod=readonly
# means every download is verified against that go.sum.
#
# The build is skipped when OUTDIR/nerdctl already reports version 2.0.5.
# Only v2.0.5 is known to build here: v2.2.0 needs a test-only module that the
# proxy does not serve. No release the proxy serves (up to v2.3.5) has the fix of
# `run -i` losing a piped stdin's EOF (containerd/nerdctl#5042, in v2.4.0, which
# the proxy does not serve); scripts/docker works around it, so staying on v2.0.5
# costs nothing there. nerdctl's modules are not in sum.golang.org, so the
# checksum database is switched off for github.com/containerd only; go.sum
# already holds their hashes.
set -euo pipefail

if [[ $# -ne 1 ]]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi

version=2.0.5
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mkdir -p "$1"
out="$(cd "$1" && pwd)/nerdctl"

if [[ -x "$out" ]] && [[ "$("$out" --version 2>/dev/null)" == "nerdctl version $version" ]]; then
	echo "build-nerdctl: $out: $version, up to date" >&2
	exit 0
fi

export CGO_ENABLED=0
export GOFLAGS="-mod=readonly -buildvcs=false"
export GOWORK=off
export GONOSUMDB=github.com/containerd
start=$SECONDS
(cd "$here/nerdctl" && go build -trimpath -ldflags "-s -w" -o "$out" github.com/containerd/nerdctl/v2/cmd/nerdctl)
got="$("$out" --version)"
if [[ "$got" != "nerdctl version $version" ]]; then
	echo "build-nerdctl: $out reports \"$got\", want $version" >&2
	exit 1
fi
echo "build-nerdctl: $out: built $version ($((SECONDS - start))s)" >&2
