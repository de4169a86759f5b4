package jobs

import (
	"log/slog"
	"time"
)

// timeStep logs how long one step of op took, at debug level, when the
// returned func is called: `make bench` reads these lines for its per-step
// breakdown. Steps that overlap each log their own time.
func timeStep(log *slog.Logger, op, step string) func() {
	start := time.Now()
	return func() {
		log.Debug("step", "op", op, "step", step, "seconds", time.Since(start).Seconds())
	}
}
