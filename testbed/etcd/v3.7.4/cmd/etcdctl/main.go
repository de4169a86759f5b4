// Command etcdctl is etcdctl 3.7.4 (v3 API only), built from the Go module
// proxy for the etcd-ramdisk test bed.
package main

import (
	"go.etcd.io/etcd/etcdctl/v3/ctlv3"
)

func main() {
	ctlv3.MustStart()
}
