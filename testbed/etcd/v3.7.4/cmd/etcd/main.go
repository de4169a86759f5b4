// Command etcd is the etcd 3.7.4 server, built from the Go module proxy for
// the etcd-ramdisk test bed (same entry point as etcd's own main.go).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
