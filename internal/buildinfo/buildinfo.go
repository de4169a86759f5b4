package buildinfo

import (
	"fmt"
	"regexp"
	"runtime"
	"runtime/debug"
)

// Stamped by release builds (make release):
//
//	-ldflags "-X github.com/etcd-ramdisk/etcd-ramdisk/internal/buildinfo.version=v1.2.3
//	          -X github.com/etcd-ramdisk/etcd-ramdisk/internal/buildinfo.commit=<sha>"
var (
	version string
	commit  string
)

// Unknown stands for a value the build did not record.
const Unknown = "unknown"

// Info identifies a build.
type Info struct {
	Version   string // v1.2.3, git describe's v1.2.3-4-gabcdef1[-dirty], a Go pseudo-version, or Unknown
	Commit    string // the VCS revision, "-dirty" appended for a modified tree, or Unknown
	GoVersion string // the toolchain that built it, e.g. go1.26.8
	Platform  string // GOOS/GOARCH
}

// String is the one line `etcd-ramdisk version` prints after the name.
func (i Info) String() string {
	return fmt.Sprintf("%s (commit %s, %s, %s)", i.Version, i.Commit, i.GoVersion, i.Platform)
}

// Get describes the running binary.
func Get() Info {
	bi, _ := debug.ReadBuildInfo()
	return from(version, commit, bi)
}

// from combines the stamped values (preferred) with the build info the Go
// toolchain recorded (nil when there is none).
func from(stampVersion, stampCommit string, bi *debug.BuildInfo) Info {
	i := Info{Version: stampVersion, Commit: stampCommit, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi != nil {
		if i.Version == "" && bi.Main.Version != "(devel)" {
			i.Version = bi.Main.Version
		}
		if i.Commit == "" {
			i.Commit = vcsCommit(bi)
		}
		if i.Commit == "" {
			i.Commit = pseudoRevision(i.Version)
		}
	}
	if i.Version == "" {
		i.Version = Unknown
	}
	if i.Commit == "" {
		i.Commit = Unknown
	}
	return i
}

// vcsCommit is the revision `go build` in a checkout records (not with
// -buildvcs=false, nor for `go install module@version`).
func vcsCommit(bi *debug.BuildInfo) string {
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev != "" && modified == "true" {
		rev += "-dirty"
	}
	return rev
}

// pseudo matches the revision at the end of a Go pseudo-version:
// v0.0.0-20261206084705-e35c186abcde, v1.2.4-0.20261206084705-e35c186abcde,
// v1.2.3-rc.1.0.20261206084705-e35c186abcde, each perhaps with +dirty.
var pseudo = regexp.MustCompile(`[-.]\d{14}-([0-9a-f]{12})(\+dirty)?$`)

// pseudoRevision is the (short) commit a pseudo-version names, as
// `go install module@branch` records it; "" for a tagged version.
func pseudoRevision(v string) string {
	m := pseudo.FindStringSubmatch(v)
	if m == nil {
		return ""
	}
	if m[2] != "" {
		return m[1] + "-dirty"
	}
	return m[1]
}
