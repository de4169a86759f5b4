package hostfs

import (
	"context"
	"os/exec"
	"strings"
	"time"
)

// SystemState asks systemd (PID 1) for the state of the whole system, as
// `systemctl is-system-running` prints it: "running", "degraded", "stopping"
// during a shutdown or reboot, … It returns "" when systemd cannot be asked
// (no systemd, or systemctl missing). It talks to PID 1 over its private
// socket, so it works late in a shutdown after D-Bus has stopped.
func SystemState(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// is-system-running exits non-zero for every state but "running"; the
	// state is on stdout either way.
	out, _ := exec.CommandContext(ctx, "systemctl", "is-system-running").Output()
	return strings.TrimSpace(string(out))
}
