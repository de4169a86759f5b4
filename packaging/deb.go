package main

import (
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/deb"
	"github.com/goreleaser/nfpm/v2/files"
)

// Package is one .deb of etcd-ramdisk.
type Package struct {
	Binary                  string // the static etcd-ramdisk built for Arch
	Arch                    string // Debian's name, which is Go's: amd64, arm64
	Version                 string // as git describe prints it
	Commit                  string // for the changelog entry
	Readme, License, Notice string // the checkout's files
	Maintainer              string // "Name <email>"
	// MTime dates every file and the changelog entry: the commit's time, so
	// that the same commit gives the same package.
	MTime time.Time
}

const (
	name     = "etcd-ramdisk"
	docDir   = "/usr/share/doc/" + name
	homepage = "https://github.com/etcd-ramdisk/etcd-ramdisk"
	synopsis = "keeps a kubeadm node's etcd on a RAM disk without losing its data"
	// extended is the long description. The package holds no maintainer
	// scripts: installing it changes nothing on the node but its own files.
	extended = `etcd-ramdisk backs up a single-node kubeadm cluster's etcd (from cron, and
at every shutdown after kubelet has stopped) inside etcd's own image, and
restores it into the empty tmpfs before kubelet starts, so that etcd can run
from RAM without the cluster being lost at the next reboot.

Installing this package only puts the program and its documentation in place.
Nothing else on the node changes until "etcd-ramdisk install" is run: it takes
a verified backup, then writes kubelet's drop-in, the cron table, the fstab
tmpfs line and the journal service ("etcd-ramdisk uninstall" removes them).`
)

// Build writes the .deb into outDir and returns its path.
func Build(p Package, outDir string) (string, error) {
	info, err := p.info()
	if err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp("", "erd-package-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	docs, err := p.docs(tmp, info.Version)
	if err != nil {
		return "", err
	}
	info.Contents = append(files.Contents{
		file(p.Binary, "/usr/bin/"+name, 0o755, p.MTime),
		file(p.License, docDir+"/LICENSE", 0o644, p.MTime),
		file(p.Notice, docDir+"/NOTICE", 0o644, p.MTime),
	}, docs...)
	info = nfpm.WithDefaults(info)
	if err := nfpm.PrepareForPackager(info, "deb"); err != nil {
		return "", fmt.Errorf("package %s: %w", p.Arch, err)
	}
	out := filepath.Join(outDir, deb.Default.ConventionalFileName(info))
	return out, writeAtomic(out, func(f *os.File) error { return deb.Default.Package(info, f) })
}

func (p Package) info() (*nfpm.Info, error) {
	v, err := debVersion(p.Version)
	if err != nil {
		return nil, err
	}
	if p.Arch != "amd64" && p.Arch != "arm64" {
		return nil, fmt.Errorf("arch %q: want amd64 or arm64", p.Arch)
	}
	if !strings.Contains(p.Maintainer, "<") || !strings.HasSuffix(p.Maintainer, ">") {
		return nil, fmt.Errorf("maintainer %q: want Name <email>", p.Maintainer)
	}
	return &nfpm.Info{
		Name: name, Arch: p.Arch, Platform: "linux",
		// Version is already Debian's; nfpm's semver parsing would turn
		// 1.2.3+4.gabc into a pre-release that sorts before 1.2.3.
		Version: v, VersionSchema: "none",
		Section: "admin", Priority: "optional",
		Maintainer: p.Maintainer, Homepage: homepage, License: "Apache-2.0",
		Description: synopsis + "\n" + extended,
		MTime:       p.MTime,
		Overridables: nfpm.Overridables{
			// install refuses without /etc/cron.d; dpkg -i ignores this.
			Recommends: []string{"cron | cron-daemon"},
			Deb:        nfpm.Deb{Compression: "xz"},
		},
	}, nil
}

// docs writes what Debian's policy asks for beside the licence: the
// copyright file, and the README and a changelog compressed (gzip -9n).
func (p Package) docs(tmp, version string) (files.Contents, error) {
	readme, err := os.ReadFile(p.Readme)
	if err != nil {
		return nil, err
	}
	changelog := fmt.Sprintf("%s (%s) unstable; urgency=medium\n\n  * Release %s (commit %s).\n\n -- %s  %s\n",
		name, version, p.Version, p.Commit, p.Maintainer, p.MTime.UTC().Format(time.RFC1123Z))
	out := files.Contents{}
	for _, d := range []struct {
		name string
		data []byte
		gz   bool
	}{
		{"copyright", []byte(copyright), false},
		{"README.md.gz", readme, true},
		{"changelog.gz", []byte(changelog), true},
	} {
		path := filepath.Join(tmp, d.name)
		if err := writeAtomic(path, func(f *os.File) error { return write(f, d.data, d.gz) }); err != nil {
			return nil, err
		}
		out = append(out, file(path, docDir+"/"+d.name, 0o644, p.MTime))
	}
	return out, nil
}

// copyright is Debian's machine-readable copyright file.
const copyright = `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: etcd-ramdisk
Source: ` + homepage + `

Files: *
Copyright: 2026 The etcd-ramdisk Authors
License: Apache-2.0
 On Debian systems the full text of the Apache License, Version 2.0 is in
 /usr/share/common-licenses/Apache-2.0; it is also in
 /usr/share/doc/etcd-ramdisk/LICENSE.
`

func write(f *os.File, data []byte, gz bool) error {
	if !gz {
		_, err := f.Write(data)
		return err
	}
	// No name and no time in the header, as gzip -n: the same input gives
	// the same bytes.
	zw, err := gzip.NewWriterLevel(f, gzip.BestCompression)
	if err != nil {
		return err
	}
	if _, err := zw.Write(data); err != nil {
		return err
	}
	return zw.Close()
}

func file(src, dst string, mode os.FileMode, mtime time.Time) *files.Content {
	return &files.Content{Source: src, Destination: dst,
		FileInfo: &files.ContentFileInfo{Owner: "root", Group: "root", Mode: mode, MTime: mtime}}
}

// writeAtomic writes path through a temporary file renamed into place, so
// that a failed run leaves no partial package behind.
func writeAtomic(path string, fill func(*os.File) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := fill(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
