package runtime

import (
	"context"
	"errors"
	"strings"
	"testing"
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
