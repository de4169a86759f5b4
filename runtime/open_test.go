package runtime

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"testing"
)

// Interrupted while connecting to containerd (a socket that accepts but never
// answers), Open ends as interrupted, not as containerd unreachable.
func TestOpenInterrupted(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "containerd.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, never answered
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err = Open(ctx, sock, "k8s.io")
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrUnavailable) {
		t.Fatalf("Open with a cancelled context = %v, want context.Canceled, not ErrUnavailable", err)
	}
}
