package kubelet

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestReadShutdown(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       Shutdown
		enabled    bool
		wantErr    bool
	}{
		{"kubeadm default", "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: systemd\n", Shutdown{Found: true}, false, false},
		{"graceful", "kind: KubeletConfiguration\nshutdownGracePeriod: 30s\nshutdownGracePeriodCriticalPods: 10s\n", Shutdown{true, 30 * time.Second, 10 * time.Second}, true, false},
		{"zero", "kind: KubeletConfiguration\nshutdownGracePeriod: 0s\n", Shutdown{Found: true}, false, false},
		{"bad duration", "kind: KubeletConfiguration\nshutdownGracePeriod: soon\n", Shutdown{}, false, true},
		{"wrong kind", "kind: Pod\n", Shutdown{}, false, true},
		{"not yaml", "{", Shutdown{}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "config.yaml")
			if err := os.WriteFile(p, []byte(tc.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := ReadShutdown(p)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			if got != tc.want || got.Enabled() != tc.enabled {
				t.Errorf("got %+v (enabled %v), want %+v (enabled %v)", got, got.Enabled(), tc.want, tc.enabled)
			}
		})
	}
	got, err := ReadShutdown(filepath.Join(t.TempDir(), "missing.yaml"))
	if err != nil || got.Found {
		t.Errorf("missing file: %+v, %v; want not found, no error", got, err)
	}
}
