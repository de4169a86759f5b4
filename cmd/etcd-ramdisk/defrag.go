package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/jobs"
	"github.com/etcd-ramdisk/etcd-ramdisk/metrics"
	"github.com/urfave/cli/v2"
)

func defragCommand() *cli.Command {
	return &cli.Command{
		Name:  "defrag",
		Usage: "defragment etcd's database with etcdctl inside the etcd image (daily cron)",
		Flags: []cli.Flag{metricsFlag()},
		Action: func(c *cli.Context) (err error) {
			start := time.Now()
			defer func() { writeMetrics(c, metrics.DefragRun(start, exitCode(err))) }()
			j, ctx, err := openJob(c)
			if err != nil {
				return err
			}
			defer j.rt.Close()
			out, err := jobs.Defrag(ctx, j.rt, j.st, j.m, jobs.DefragOptions{LockTimeout: c.Duration("lock-timeout"), Logger: logger(c.Bool("debug"))})
			if strings.TrimSpace(out) != "" {
				fmt.Fprintln(c.App.Writer, strings.TrimSpace(out))
			}
			return err
		},
	}
}
