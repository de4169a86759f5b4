package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v2"
)

// version is what `version` and --version print.
var version = "dev"

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version",
		Action: func(c *cli.Context) error {
			return runVersion(c.Context, versionOptions{Version: version}, newDeps(c))
		},
	}
}

type versionOptions struct {
	Version string
}

func runVersion(_ context.Context, o versionOptions, d deps) error {
	fmt.Fprintln(d.Stdout, "etcd-ramdisk", o.Version)
	return nil
}
