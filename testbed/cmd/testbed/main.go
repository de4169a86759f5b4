// Command testbed builds, starts, reboots and tears down the kubeadm-like node
// that etcd-ramdisk's demo and end-to-end tests run against.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/etcd-ramdisk/etcd-ramdisk/testbed"
	"github.com/urfave/cli/v2"
)

func main() {
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()
	app := &cli.App{
		Name:  "testbed",
		Usage: "a kubeadm-like single node (containerd CRI, etcd static pod on tmpfs) for etcd-ramdisk's tests",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Value: "/var/tmp/erd-bed", EnvVars: []string{"ERD_BED"}, Usage: "directory holding the whole node"},
			&cli.StringFlag{Name: "bin", Value: "_output/bin", EnvVars: []string{"ERD_BIN"}, Usage: "directory of the built etcd binaries"},
		},
		Commands: []*cli.Command{
			buildImagesCommand(),
			upCommand(),
			simple("down", "stop everything, unmount and remove the node", func(ctx context.Context, b *testbed.Bed) error {
				if err := b.Down(ctx); err != nil {
					return err
				}
				fmt.Printf("node %s is down: its containerd and etcd stopped, its mounts gone, the directory removed\n", b.Dir)
				return nil
			}),
			simple("reboot", "power-cycle: kill every container, remount the tmpfs empty, restart containerd", func(ctx context.Context, b *testbed.Bed) error { return b.Reboot(ctx) }),
			simple("kubelet", "start the etcd static pod through CRI (as kubelet does) and wait until healthy", func(ctx context.Context, b *testbed.Bed) error { return b.StartEtcd(ctx) }),
			simple("stop-etcd", "stop and remove the etcd pod", func(ctx context.Context, b *testbed.Bed) error { return b.StopEtcd(ctx) }),
			simple("reset-etcd", "replace etcd's data with a freshly initialised cluster", func(ctx context.Context, b *testbed.Bed) error { return b.ResetEtcd(ctx) }),
			envCommand(),
			etcdCommand(),
		},
	}
	if err := app.RunContext(ctx, os.Args); err != nil {
		slog.Error(err.Error())
		os.Exit(1)
	}
}

func openBed(c *cli.Context) (*testbed.Bed, error) { return testbed.New(c.String("dir")) }

func simple(name, usage string, fn func(context.Context, *testbed.Bed) error) *cli.Command {
	return &cli.Command{Name: name, Usage: usage, Action: func(c *cli.Context) error {
		b, err := openBed(c)
		if err != nil {
			return err
		}
		return fn(c.Context, b)
	}}
}

func upCommand() *cli.Command {
	return &cli.Command{
		Name:  "up",
		Usage: "build and start the node (idempotent)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "image", Value: "registry.k8s.io/etcd:3.6.16-0"},
			&cli.StringFlag{Name: "node-name", Value: "node1"},
			&cli.StringFlag{Name: "ip", Value: "127.0.0.2", Usage: "advertise address (loopback)"},
			&cli.StringFlag{Name: "data-host-path", Usage: "hostPath of etcd-data (default <dir>/var/lib/etcd)"},
			&cli.StringFlag{Name: "tmpfs-size", Value: "512m"},
			&cli.StringFlag{Name: "images", Value: "_output/images", Usage: "directory of OCI archives to import"},
			&cli.IntFlag{Name: "client-port", Value: 2379},
			&cli.IntFlag{Name: "peer-port", Value: 2380},
			&cli.IntFlag{Name: "metrics-port", Value: 2381},
		},
		Action: func(c *cli.Context) error {
			b, err := openBed(c)
			if err != nil {
				return err
			}
			archives, err := filepath.Glob(filepath.Join(c.String("images"), "*.tar"))
			if err != nil || len(archives) == 0 {
				return fmt.Errorf("no image archives in %s: run `make images` first", c.String("images"))
			}
			o := testbed.NodeOptions{Image: c.String("image"), NodeName: c.String("node-name"), IP: c.String("ip"), DataHostPath: c.String("data-host-path"), TmpfsSize: c.String("tmpfs-size"),
				ClientPort: c.Int("client-port"), PeerPort: c.Int("peer-port"), MetricsPort: c.Int("metrics-port")}
			// The node's ports and the host's beds are shared with the demo
			// and the end-to-end tests: one at a time.
			unlock, err := testbed.LockHost(c.Context, os.Stderr)
			if err != nil {
				return err
			}
			defer unlock()
			if err := b.Up(c.Context, o, archives); err != nil {
				return err
			}
			fmt.Printf("node %s is up: etcd %s (%s) on its tmpfs %s, containerd at %s\n", b.Dir, b.Options.Image, fmt.Sprintf("https://127.0.0.1:%d", b.Options.ClientPort), b.DataDir(), b.Containerd.Address)
			fmt.Printf("point etcd-ramdisk at it: eval \"$(%s env)\"; then etcd-ramdisk status\n", os.Args[0])
			return nil
		},
	}
}

func buildImagesCommand() *cli.Command {
	return &cli.Command{
		Name:  "build-images",
		Usage: "write the etcd and pause images as OCI archives",
		Flags: []cli.Flag{&cli.StringFlag{Name: "out", Value: "_output/images"}},
		Action: func(c *cli.Context) error {
			return testbed.BuildImages(c.String("bin"), c.String("out"))
		},
	}
}

func envCommand() *cli.Command {
	return &cli.Command{Name: "env", Usage: "print the environment that points etcd-ramdisk at this node", Action: func(c *cli.Context) error {
		b, err := openBed(c)
		if err != nil {
			return err
		}
		for _, e := range b.ToolEnv() {
			fmt.Println("export " + e)
		}
		return nil
	}}
}

func etcdCommand() *cli.Command {
	return &cli.Command{Name: "etcd", Usage: "run the etcdkv client over TLS (put, get, put-many, check-many, count, status)", SkipFlagParsing: true,
		UsageText: "testbed etcd put KEY VALUE | get KEY | put-many PREFIX N | check-many PREFIX N | count PREFIX | ack-writes PREFIX MAX | fill PREFIX BYTES | status | load [--duration D] [--rate R]", Action: func(c *cli.Context) error {
			// Its flags go to etcdkv, except a request for help.
			if a := c.Args().First(); a == "--help" || a == "-h" || a == "help" {
				return cli.ShowSubcommandHelp(c)
			}
			b, err := openBed(c)
			if err != nil {
				return err
			}
			out, err := b.EtcdClient(c.Context, filepath.Join(c.String("bin"), "etcd-3.6.16", "etcdkv"), c.Args().Slice()...)
			fmt.Print(out)
			return err
		}}
}
