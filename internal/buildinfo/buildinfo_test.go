package buildinfo

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestFrom(t *testing.T) {
	vcs := func(rev, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
	}
	const sha = "e35c186a1b2c3d4e5f60718293a4b5c6d7e8f901"
	for _, tc := range []struct {
		name                 string
		stampV, stampC       string
		bi                   *debug.BuildInfo
		wantVersion, wantCmt string
	}{
		{"release build: the stamp wins", "v1.2.3-4-ge35c186", sha,
			&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("0000000000000000000000000000000000000000", "true")},
			"v1.2.3-4-ge35c186", sha},
		{"stamped version only: the commit from VCS", "v1.2.3", "",
			&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs(sha, "false")}, "v1.2.3", sha},
		{"go build in a clean checkout", "", "",
			&debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261206084705-e35c186a1b2c"}, Settings: vcs(sha, "false")},
			"v0.0.0-20261206084705-e35c186a1b2c", sha},
		{"go build in a modified checkout", "", "",
			&debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261206084705-e35c186a1b2c+dirty"}, Settings: vcs(sha, "true")},
			"v0.0.0-20261206084705-e35c186a1b2c+dirty", sha + "-dirty"},
		{"go install module@v1.2.3", "", "", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}}, "v1.2.3", Unknown},
		{"go install module@main (pseudo-version)", "", "",
			&debug.BuildInfo{Main: debug.Module{Version: "v1.2.4-0.20261206084705-e35c186a1b2c"}},
			"v1.2.4-0.20261206084705-e35c186a1b2c", "e35c186a1b2c"},
		{"pre-release pseudo-version", "", "",
			&debug.BuildInfo{Main: debug.Module{Version: "v1.3.0-rc.1.0.20261206084705-e35c186a1b2c"}},
			"v1.3.0-rc.1.0.20261206084705-e35c186a1b2c", "e35c186a1b2c"},
		{"go build -buildvcs=false: nothing known", "", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, Unknown, Unknown},
		{"vcs revision without a modified flag", "", "",
			&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: sha}}}, Unknown, sha},
		{"no build info at all", "", "", nil, Unknown, Unknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := from(tc.stampV, tc.stampC, tc.bi)
			if got.Version != tc.wantVersion || got.Commit != tc.wantCmt {
				t.Errorf("version %q commit %q, want %q %q", got.Version, got.Commit, tc.wantVersion, tc.wantCmt)
			}
			if got.GoVersion != runtime.Version() || got.Platform != runtime.GOOS+"/"+runtime.GOARCH {
				t.Errorf("go %q platform %q", got.GoVersion, got.Platform)
			}
			if got.Version == "dev" || got.Version == "" || got.Commit == "" {
				t.Errorf("empty or bare dev: %+v", got)
			}
		})
	}
}

func TestString(t *testing.T) {
	i := Info{Version: "v1.2.3", Commit: "abc", GoVersion: "go1.26.8", Platform: "linux/arm64"}
	if s := i.String(); s != "v1.2.3 (commit abc, go1.26.8, linux/arm64)" {
		t.Errorf("String() = %q", s)
	}
}

// The test binary itself: go test records no stamp, so whatever Get says
// comes from the toolchain's build info, and is never empty.
func TestGetNeverEmpty(t *testing.T) {
	i := Get()
	if i.Version == "" || i.Commit == "" || !strings.HasPrefix(i.GoVersion, "go") {
		t.Errorf("Get() = %+v", i)
	}
}
