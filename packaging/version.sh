#!/usr/bin/env bash
# Prints the version `make build` and `make release` stamp into etcd-ramdisk:
# `git describe --tags --always --dirty` of the newest vX.Y.Z tag
# (v1.2.3, v1.2.3-4-gabc1234, ...-dirty). Before the first tag describe
# has only a commit to print, which no package manager can order, so it
# counts from an imaginary v0.0.0 at the first commit instead:
# v0.0.0-<commits>-g<sha>[-dirty], in describe's own form.
set -euo pipefail
cd "$(dirname "$0")/.."
v=$(git describe --tags --always --dirty --match 'v[0-9]*')
if [[ $v =~ ^v[0-9] ]]; then
  echo "$v"
  exit
fi
dirty=
[[ $v == *-dirty ]] && dirty=-dirty
echo "v0.0.0-$(git rev-list --count HEAD)-g${v%-dirty}$dirty"
