package kubelet

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"sigs.k8s.io/yaml"
)

// DefaultConfigPath is where kubeadm writes kubelet's KubeletConfiguration.
const DefaultConfigPath = "/var/lib/kubelet/config.yaml"

// Shutdown is kubelet's graceful node shutdown setting. With GracePeriod > 0
// kubelet holds a logind delay lock and, when the system shuts down, kills
// every pod itself (critical pods such as etcd last) before systemd stops any
// unit: etcd has exited before kubelet's ExecStopPost runs.
type Shutdown struct {
	Found        bool // the config file exists
	GracePeriod  time.Duration
	CriticalPods time.Duration
}

// Enabled reports whether kubelet stops the pods itself at shutdown.
func (s Shutdown) Enabled() bool { return s.GracePeriod > 0 }

func (s Shutdown) String() string {
	switch {
	case !s.Found:
		return "kubelet config not found"
	case !s.Enabled():
		return "graceful node shutdown off (shutdownGracePeriod 0): systemd stops etcd's container"
	}
	return fmt.Sprintf("graceful node shutdown on (shutdownGracePeriod %s, critical pods %s): kubelet stops etcd at shutdown; the last backup then copies etcd's data dir", s.GracePeriod, s.CriticalPods)
}

type config struct {
	Kind                            string `json:"kind"`
	ShutdownGracePeriod             string `json:"shutdownGracePeriod"`
	ShutdownGracePeriodCriticalPods string `json:"shutdownGracePeriodCriticalPods"`
}

// ReadShutdown reads the graceful node shutdown setting from kubelet's config
// file. A missing file is not an error (Found is false).
func ReadShutdown(path string) (Shutdown, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Shutdown{}, nil
	}
	if err != nil {
		return Shutdown{}, fmt.Errorf("kubelet config: %w", err)
	}
	var c config
	if err := yaml.Unmarshal(data, &c); err != nil {
		return Shutdown{}, fmt.Errorf("kubelet config %s: %w", path, err)
	}
	if c.Kind != "" && c.Kind != "KubeletConfiguration" {
		return Shutdown{}, fmt.Errorf("kubelet config %s: kind %q is not KubeletConfiguration", path, c.Kind)
	}
	s := Shutdown{Found: true}
	for _, f := range []struct {
		name, v string
		d       *time.Duration
	}{{"shutdownGracePeriod", c.ShutdownGracePeriod, &s.GracePeriod}, {"shutdownGracePeriodCriticalPods", c.ShutdownGracePeriodCriticalPods, &s.CriticalPods}} {
		if f.v == "" {
			continue
		}
		d, err := time.ParseDuration(f.v)
		if err != nil {
			return Shutdown{}, fmt.Errorf("kubelet config %s: %s: %w", path, f.name, err)
		}
		*f.d = d
	}
	return s, nil
}
