// Command package builds etcd-ramdisk's .deb for one architecture with nfpm
// (as a library), from a binary `make release` built: the binary in /usr/bin,
// the README, licence and changelog under /usr/share/doc/etcd-ramdisk, and no
// maintainer scripts. It lives in a Go module of its own so that nfpm's
// dependencies stay out of the tool's go.mod.
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	var p Package
	var out string
	var mtime int64
	flag.StringVar(&p.Binary, "binary", "", "the static etcd-ramdisk binary for -arch")
	flag.StringVar(&p.Arch, "arch", "", "Debian architecture: amd64 or arm64")
	flag.StringVar(&p.Version, "version", "", "version as git describe prints it (vX.Y.Z[-N-gSHA][-dirty])")
	flag.StringVar(&p.Commit, "commit", "", "the commit the binary was built from")
	flag.StringVar(&p.Readme, "readme", "README.md", "README to ship")
	flag.StringVar(&p.License, "license", "LICENSE", "licence to ship")
	flag.StringVar(&p.Notice, "notice", "NOTICE", "notice to ship")
	flag.StringVar(&p.Maintainer, "maintainer", "", "Debian Maintainer field: Name <email>")
	flag.Int64Var(&mtime, "mtime", sourceDateEpoch(), "Unix time of every file (default $SOURCE_DATE_EPOCH, else now)")
	flag.StringVar(&out, "out", ".", "directory to write the .deb into")
	flag.Parse()
	if flag.NArg() > 0 || p.Binary == "" || p.Commit == "" {
		fmt.Fprintln(os.Stderr, "usage: package -binary FILE -arch ARCH -version V -commit SHA -maintainer 'Name <email>' [-out DIR]")
		os.Exit(2)
	}
	p.MTime = time.Unix(mtime, 0).UTC()
	path, err := Build(p, out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "package:", err)
		os.Exit(1)
	}
	fmt.Println(path)
}

func sourceDateEpoch() int64 {
	if n, err := strconv.ParseInt(os.Getenv("SOURCE_DATE_EPOCH"), 10, 64); err == nil {
		return n
	}
	return time.Now().Unix()
}
