package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/defrag"
	"github.com/etcd-ramdisk/etcd-ramdisk/metrics"
	"github.com/urfave/cli/v2"
)

func defragCommand() *cli.Command {
	return &cli.Command{
		Name:  "defrag",
		Usage: "defragment etcd's database with etcdctl inside the etcd image (daily cron)",
		Flags: []cli.Flag{metricsFlag()},
		Action: func(c *cli.Context) error {
			return runDefrag(c.Context, defragOptions{globalOptions: readGlobal(c), MetricsFile: c.String("metrics-file")}, newDeps(c))
		},
	}
}

type defragOptions struct {
	globalOptions
	MetricsFile string
}

func runDefrag(ctx context.Context, o defragOptions, d deps) (err error) {
	ctx = d.start(ctx)
	start := time.Now()
	defer func() { writeMetrics(ctx, o.MetricsFile, metrics.DefragRun(start, exitCode(err))) }()
	j, ctx, err := openJob(ctx, o.globalOptions, d, false)
	if err != nil {
		return err
	}
	defer j.rt.Close()
	out, err := defrag.Run(ctx, j.rt, j.st, j.m, defrag.Options{LockTimeout: o.LockTimeout})
	if strings.TrimSpace(out) != "" {
		fmt.Fprintln(d.Stdout, strings.TrimSpace(out))
	}
	return err
}
