package main

import (
	"context"

	"github.com/etcd-ramdisk/etcd-ramdisk/internal/logging"
	"github.com/etcd-ramdisk/etcd-ramdisk/metrics"
	"github.com/etcd-ramdisk/etcd-ramdisk/status"
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

// journalMetrics is what status found of the journal, in metrics' values.
func journalMetrics(j *status.Journal) metrics.Journal {
	m := metrics.Journal{Running: j.Running, LagRevisions: j.LagRevisions, LagSeconds: j.LagSeconds,
		Bytes: j.Bytes, Syncs: j.Syncs, ChainStartRevision: j.StartRevision}
	if j.LastSync != nil {
		m.LastSync = *j.LastSync
	}
	return m
}
