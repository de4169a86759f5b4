package main

import (
	"os/exec"
	"testing"
)

func TestDebVersion(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"v1.2.3", "1.2.3"},
		{"1.2.3", "1.2.3"},
		{"v1.2.3-dirty", "1.2.3+0.dirty"},
		{"v1.2.3-4-gabc1234", "1.2.3+4.gabc1234"},
		{"v1.2.3-4-gabc1234-dirty", "1.2.3+4.gabc1234.dirty"},
		{"v1.3.0-rc.1", "1.3.0~rc.1"},
		{"v1.3.0-rc.1-2-gabc1234", "1.3.0~rc.1+2.gabc1234"},
		{"v1.3.0+meta-2-gabc1234", "1.3.0+meta.2.gabc1234"},
		{"v0.0.0-170-ge35c186", "0.0.0+170.ge35c186"},
	} {
		got, err := debVersion(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("debVersion(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "e35c186", "e35c186-dirty", "dev", "vX", "v1.2.3 4", "v1.2.3_4"} {
		if got, err := debVersion(bad); err == nil {
			t.Errorf("debVersion(%q) = %q, want an error", bad, got)
		}
	}
}

// dpkg itself accepts the versions and orders them as the commits go.
func TestDebVersionOrder(t *testing.T) {
	order := []string{"v0.0.0-170-ge35c186", "v0.0.0-171-gabc1234", "v1.3.0-rc.1", "v1.3.0-rc.1-2-gabc1234",
		"v1.3.0", "v1.3.0-dirty", "v1.3.0-1-gabc1234", "v1.3.0-1-gabc1234-dirty", "v1.3.0-12-gabc1234", "v1.3.1"}
	for i := 1; i < len(order); i++ {
		a, errA := debVersion(order[i-1])
		b, errB := debVersion(order[i])
		if errA != nil || errB != nil {
			t.Fatal(errA, errB)
		}
		out, err := exec.Command("dpkg", "--compare-versions", a, "lt", b).CombinedOutput()
		if err != nil {
			t.Errorf("dpkg --compare-versions %s lt %s: %v %s", a, b, err, out)
		}
	}
}
