#!/usr/bin/env bash
# build-s3.sh OUTDIR
#
# Builds versitygw v1.8.0 (an S3-compatible gateway; its POSIX backend serves
# buckets from plain directories) from the Go module proxy into
# OUTDIR/versitygw, for the off-host copy tests: a real S3 server on
# 127.0.0.1, no mocks. Its own module (testbed/s3) keeps versitygw's many
# dependencies out of the tool's go.mod.
#
# Skipped when OUTDIR/versitygw already reports this version and is newer than
# testbed/s3/go.mod, go.sum and this script. go.sum is committed and
# -mod=readonly is used, so every download is checked against it.
set -euo pipefail

if [[ $# -ne 1 ]]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi

version=v1.8.0
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
script="$here/$(basename "${BASH_SOURCE[0]}")"
mkdir -p "$1"
out="$(cd "$1" && pwd)/versitygw"

if [[ -x "$out" ]] && "$out" --version 2>/dev/null | grep -qx "Version  : $version" &&
	[[ -z "$(find "$here/s3" "$script" -newer "$out" -print -quit)" ]]; then
	echo "build-s3: $out: $version, up to date" >&2
	exit 0
fi

export CGO_ENABLED=0
export GOFLAGS="-mod=readonly -buildvcs=false"
export GOWORK=off
start=$SECONDS
(cd "$here/s3" && go build -trimpath -ldflags "-s -w -X main.Version=$version" -o "$out" github.com/versity/versitygw/cmd/versitygw)
touch "$out"
echo "build-s3: $out: built $version ($((SECONDS - start))s)" >&2
