package clock

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// EnvVar is the test-only override. It is either an RFC 3339 time, at which
// the clock stands when the process starts and from which it runs at the real
// rate ("1970-01-01T00:00:00Z"), or a signed offset from the real clock
// ("+8760h", "-90m"). Never set it on a real node.
const EnvVar = "ETCD_RAMDISK_TEST_CLOCK"

var offset = sync.OnceValues(func() (time.Duration, error) {
	return parse(os.Getenv(EnvVar), time.Now())
})

func parse(v string, now time.Time) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.Sub(now), nil
	}
	if d, err := time.ParseDuration(v); err == nil && (v[0] == '+' || v[0] == '-') {
		return d, nil
	}
	return 0, fmt.Errorf("%s=%q is neither an RFC 3339 time nor a signed duration such as +8760h", EnvVar, v)
}

// Now returns the current time, moved by the test override when it is set
// (and valid: Check reports one that is not).
func Now() time.Time {
	d, _ := offset()
	return time.Now().Add(d)
}

// Check returns an error for a malformed override, so that a typo in a test
// fails loudly instead of running on the real clock.
func Check() error {
	_, err := offset()
	return err
}

// Overridden reports whether the test override is in effect.
func Overridden() bool {
	d, err := offset()
	return err == nil && d != 0
}
