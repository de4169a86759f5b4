package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/defrag"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/logging"
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
			ctx = logging.WithLogger(ctx, logger(c.Bool("debug")))
			out, err := defrag.Run(ctx, j.rt, j.st, j.m, defrag.Options{LockTimeout: c.Duration("lock-timeout")})
			if strings.TrimSpace(out) != "" {
				fmt.Fprintln(c.App.Writer, strings.TrimSpace(out))
			}
			return err
		},
	}
}
