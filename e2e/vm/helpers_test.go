package vmtest

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/testbed/vm"
)

// containerds lists the containerd flavours to run table tests for
// (ERD_VM_CONTAINERD, default both).
func containerds() []string {
	var out []string
	for _, c := range strings.Split(envOr("ERD_VM_CONTAINERD", "1.6,2"), ",") {
		if c = strings.TrimSpace(c); c != "" {
			out = append(out, c)
		}
	}
	return out
}

// forEachContainerd runs f as a subtest per containerd flavour
// ("containerd1.6", "containerd2").
func forEachContainerd(t *testing.T, f func(t *testing.T, containerd string)) {
	for _, c := range containerds() {
		t.Run("containerd"+c, func(t *testing.T) { f(t, c) })
	}
}

var unsafeChars = regexp.MustCompile(`[^a-zA-Z0-9.]+`)

// testName is t.Name() made safe for a directory name.
func testName(t *testing.T) string {
	name := strings.Trim(unsafeChars.ReplaceAllString(t.Name(), "-"), "-")
	if len(name) > 60 {
		name = name[len(name)-60:]
	}
	return name
}

// startVM boots a fresh VM in ERD_VM_WORK/<test name> (removed first) and
// registers its cleanup: on failure it saves the guest's journal of all boots
// to the work dir and prints where the console, QEMU log and journal are; QEMU
// is always killed. mod may adjust the options before the boot.
func startVM(t *testing.T, containerd string, mod ...func(*vm.Options)) *vm.VM {
	t.Helper()
	work := filepath.Join(workBase, testName(t))
	if err := os.RemoveAll(work); err != nil {
		t.Fatal(err)
	}
	o := vm.Options{
		Work:       work,
		Cache:      cacheDir,
		Bin:        binDir,
		Images:     imageDir,
		Containerd: containerd,
		Logf:       t.Logf,
	}
	if s := os.Getenv("ERD_VM_MEMORY_MIB"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("ERD_VM_MEMORY_MIB: %v", err)
		}
		o.MemoryMiB = n
	}
	for _, m := range mod {
		m(&o)
	}
	var v *vm.VM
	t.Cleanup(func() {
		if v != nil {
			if t.Failed() {
				saveJournal(t, v)
			}
			if r := v.Restarts(); r > 0 {
				t.Logf("vm: the console watchdog restarted QEMU %d time(s) in this test", r)
			}
			v.Close()
		}
		if t.Failed() {
			t.Logf("vm: logs kept in %s: console %s, QEMU log %s, journal %s",
				work, filepath.Join(work, "console.log"), filepath.Join(work, "qemu.log"), filepath.Join(work, "journal.txt"))
		}
	})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Minute)
	defer cancel()
	var err error
	if v, err = vm.Start(ctx, o); err != nil {
		t.Fatalf("vm.Start: %v", err)
	}
	return v
}

// saveJournal writes the guest's journal of every boot to Work/journal.txt (if
// the guest still answers).
func saveJournal(t *testing.T, v *vm.VM) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := v.Journal(ctx, "--no-hostname -o short-monotonic")
	if err != nil {
		t.Logf("vm: could not read the journal: %v", err)
		if out == "" {
			return
		}
	}
	path := filepath.Join(v.Work(), "journal.txt")
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		t.Logf("vm: %v", err)
	}
}

// ctxFor returns a context for one step of a test with its own limit.
func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// round formats a duration for timing logs.
func round(d time.Duration) string { return d.Round(100 * time.Millisecond).String() }

// clockSkew is the guest's clock minus the host's (half the SSH round trip is
// taken off), logged: certificates, cron and backup ages depend on it.
func clockSkew(t *testing.T, v *vm.VM) time.Duration {
	t.Helper()
	t0 := time.Now()
	out, err := v.Run(ctxFor(t, time.Minute), "date +%s.%N")
	if err != nil {
		t.Fatal(err)
	}
	t1 := time.Now()
	secs, err := strconv.ParseFloat(strings.TrimSpace(out), 64)
	if err != nil {
		t.Fatalf("guest date: %q: %v", out, err)
	}
	mid := t0.Add(t1.Sub(t0) / 2)
	skew := time.Unix(0, int64(secs*1e9)).Sub(mid)
	t.Logf("guest clock %+v off the host's (round trip %s)", skew.Round(time.Millisecond), round(t1.Sub(t0)))
	return skew
}
