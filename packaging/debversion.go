package main

import (
	"fmt"
	"regexp"
	"strings"
)

// describe splits what `git describe --tags --always --dirty` prints for a
// tag vX.Y.Z: the tag, the commits after it and the abbreviated commit (both
// absent on the tag itself), and -dirty.
var describe = regexp.MustCompile(`^v?(\d[0-9A-Za-z.+~-]*?)(?:-(\d+)-g([0-9a-f]{4,40}))?(-dirty)?$`)

// debVersion turns a git describe version into a version dpkg accepts and
// orders the way the commits go: v1.2.3 -> 1.2.3; v1.2.3-4-gabc1234 ->
// 1.2.3+4.gabc1234 (after 1.2.3, before 1.2.4); a pre-release tag
// v1.3.0-rc.1 -> 1.3.0~rc.1 (before 1.3.0); v1.2.3-dirty -> 1.2.3+0.dirty;
// v1.2.3-4-gabc1234-dirty -> 1.2.3+4.gabc1234.dirty.
// There is no Debian revision: the project packages itself (native).
func debVersion(v string) (string, error) {
	m := describe.FindStringSubmatch(v)
	if m == nil {
		return "", fmt.Errorf("version %q: want git describe's vX.Y.Z[-N-gSHA][-dirty] (make release VERSION=v1.2.3 to set one)", v)
	}
	up, n, sha, dirty := strings.ReplaceAll(m[1], "-", "~"), m[2], m[3], m[4] != ""
	var meta []string
	if n != "" {
		meta = append(meta, n, "g"+sha)
	} else if dirty {
		meta = append(meta, "0") // a modified tag: before the next commit's
	}
	if dirty {
		meta = append(meta, "dirty")
	}
	if len(meta) == 0 {
		return up, nil
	}
	sep := "+"
	if strings.Contains(up, "+") {
		sep = "."
	}
	return up + sep + strings.Join(meta, "."), nil
}
