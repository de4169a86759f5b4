package main

import (
	"context"

	"github.com/etcd-ramdisk/etcd-ramdisk/internal/logging"
	"github.com/etcd-ramdisk/etcd-ramdisk/metrics"
)

// writeMetrics records a run in --metrics-file (path; "" for none). Metrics
// never change a job's outcome: a failure to write them only warns.
func writeMetrics(ctx context.Context, path string, run metrics.Run) {
	if path == "" {
		return
	}
	if err := metrics.Write(path, run); err != nil {
		logging.G(ctx).Warn("metrics not written", "file", path, "err", err)
	}
}
