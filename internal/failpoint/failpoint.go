// Package failpoint lets the fault tests kill etcd-ramdisk at an exact point, as
// etcd's gofail does: with ETCD_RAMDISK_FAILPOINTS=name[,name…] set, Inject(name)
// ends the process with SIGKILL there, which is what a power cut or `kill -9`
// does at that moment. Unset (always, in production) it costs one map lookup.
package failpoint

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
)

// EnvVar names the failpoints to arm.
const EnvVar = "ETCD_RAMDISK_FAILPOINTS"

var armed = sync.OnceValue(func() map[string]bool {
	m := map[string]bool{}
	for _, n := range strings.Split(os.Getenv(EnvVar), ",") {
		if n = strings.TrimSpace(n); n != "" {
			m[n] = true
		}
	}
	return m
})

// Inject kills the process when name is armed.
func Inject(name string) {
	if armed()[name] {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // SIGKILL cannot be caught; never return into the code after the point
	}
}

// Fail returns an error when name is armed, nil otherwise: for a step whose
// failure the caller handles (a fallback), which the fault tests exercise
// without a real fault at hand.
func Fail(name string) error {
	if armed()[name] {
		return fmt.Errorf("failpoint %s armed", name)
	}
	return nil
}
