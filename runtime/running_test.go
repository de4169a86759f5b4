package runtime

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The nerdctl backend has no long-running sidecars: the caller learns it
// before anything is created.
func TestStartSidecarNerdctlUnsupported(t *testing.T) {
	r := &Runtime{nerdctl: "/usr/bin/nerdctl"}
	_, err := r.StartSidecar(context.Background(), SidecarOptions{Purpose: "etcd", Args: []string{"etcd"}})
	if !errors.Is(err, ErrBackendUnsupported) || !strings.Contains(err.Error(), "--runtime nerdctl") {
		t.Fatalf("StartSidecar with nerdctl = %v, want ErrBackendUnsupported naming --runtime nerdctl", err)
	}
}

// A run dir lives with a long-running sidecar's FIFO directory; a sidecar run
// to completion has none, so asking for one is a mistake said at once.
func TestPrepareSidecarRefusesRunDir(t *testing.T) {
	r := &Runtime{}
	if _, err := r.PrepareSidecar(context.Background(), SidecarOptions{Purpose: "verify", RunDir: "/run/x"}); err == nil {
		t.Fatal("PrepareSidecar with a run dir succeeded")
	}
}

// A killed run's long-running sidecar leaves a run dir with a socket in its
// FIFO directory: the sweep of FIFO directories removes it with the rest.
func TestRemoveLeftoverIOSweepsRunDir(t *testing.T) {
	dir := t.TempDir()
	run := filepath.Join(dir, "etcd-ramdisk-io-999999999-1-1", runDirName)
	if err := os.MkdirAll(run, 0o700); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", filepath.Join(run, "etcd.sock"))
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	removed, held, err := removeLeftoverIO(dir, func(int, uint64) bool { return false }, time.Now())
	if err != nil || len(removed) != 1 || len(held) != 0 {
		t.Fatalf("removed %v, held %d, err %v; want the directory removed, nothing held", removed, len(held), err)
	}
	if _, err := os.Stat(filepath.Dir(run)); !os.IsNotExist(err) {
		t.Errorf("FIFO directory with a run dir left: %v", err)
	}
}
