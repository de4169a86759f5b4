// Package buildinfo says which build of etcd-ramdisk is running: the version
// and commit a release build stamps in with -ldflags -X, or, for `go install`
// and `go build`, what the Go toolchain recorded (the module version, the VCS
// revision and whether the tree was modified), and the Go version. It never
// answers with a made-up version: what is not known is "unknown".
package buildinfo
