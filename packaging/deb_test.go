package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func testPackage(t *testing.T, arch string) Package {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "etcd-ramdisk")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho fake\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return Package{Binary: bin, Arch: arch, Version: "v1.2.3-4-gabc1234", Commit: "abc1234def",
		Readme: "../README.md", License: "../LICENSE", Notice: "../NOTICE",
		Maintainer: "The etcd-ramdisk Authors <maintainers@example.invalid>",
		MTime:      time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)}
}

func dpkgDeb(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("dpkg-deb", args...).Output()
	if err != nil {
		t.Fatalf("dpkg-deb %v: %v", args, err)
	}
	return string(out)
}

// dpkg's own tool reads the package: its fields, its files with their modes,
// and a control archive with no maintainer scripts and no conffiles.
func TestBuildDeb(t *testing.T) {
	for _, arch := range []string{"amd64", "arm64"} {
		t.Run(arch, func(t *testing.T) {
			out := t.TempDir()
			path, err := Build(testPackage(t, arch), out)
			if err != nil {
				t.Fatal(err)
			}
			if want := filepath.Join(out, "etcd-ramdisk_1.2.3+4.gabc1234_"+arch+".deb"); path != want {
				t.Errorf("path %s, want %s", path, want)
			}
			for field, want := range map[string]string{"Package": "etcd-ramdisk", "Version": "1.2.3+4.gabc1234",
				"Architecture": arch, "Maintainer": "The etcd-ramdisk Authors <maintainers@example.invalid>",
				"Section": "admin", "Priority": "optional", "Depends": "", "Pre-Depends": ""} {
				if got := strings.TrimSpace(dpkgDeb(t, "--field", path, field)); got != want {
					t.Errorf("%s: %q, want %q", field, got, want)
				}
			}
			desc := dpkgDeb(t, "--field", path, "Description")
			if !strings.HasPrefix(desc, synopsis+"\n") || !strings.Contains(desc, "etcd-ramdisk install") {
				t.Errorf("Description:\n%s", desc)
			}
			ctrl := strings.Fields(tarList(t, path, "--ctrl-tarfile"))
			slices.Sort(ctrl)
			if !slices.Equal(ctrl, []string{"./control", "./md5sums"}) {
				t.Errorf("control archive holds %v: want only control and md5sums (no maintainer scripts, no conffiles)", ctrl)
			}
			var got []string
			for _, l := range strings.Split(strings.TrimSpace(dpkgDeb(t, "--contents", path)), "\n") {
				f := strings.Fields(l)
				got = append(got, f[0]+" "+f[1]+" "+f[len(f)-1])
			}
			want := []string{
				"drwxr-xr-x root/root ./usr/", "drwxr-xr-x root/root ./usr/bin/",
				"-rwxr-xr-x root/root ./usr/bin/etcd-ramdisk",
				"drwxr-xr-x root/root ./usr/share/", "drwxr-xr-x root/root ./usr/share/doc/",
				"drwxr-xr-x root/root ./usr/share/doc/etcd-ramdisk/",
				"-rw-r--r-- root/root ./usr/share/doc/etcd-ramdisk/LICENSE",
				"-rw-r--r-- root/root ./usr/share/doc/etcd-ramdisk/NOTICE",
				"-rw-r--r-- root/root ./usr/share/doc/etcd-ramdisk/README.md.gz",
				"-rw-r--r-- root/root ./usr/share/doc/etcd-ramdisk/changelog.gz",
				"-rw-r--r-- root/root ./usr/share/doc/etcd-ramdisk/copyright",
			}
			if !slices.Equal(got, want) {
				t.Errorf("contents:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			x := t.TempDir()
			dpkgDeb(t, "-x", path, x)
			for src, dst := range map[string]string{"../LICENSE": "LICENSE", "../NOTICE": "NOTICE"} {
				a, _ := os.ReadFile(src)
				b, err := os.ReadFile(filepath.Join(x, "usr/share/doc/etcd-ramdisk", dst))
				if err != nil || !bytes.Equal(a, b) {
					t.Errorf("%s differs from %s: %v", dst, src, err)
				}
			}
			readme, err := exec.Command("zcat", filepath.Join(x, "usr/share/doc/etcd-ramdisk/README.md.gz")).Output()
			if want, _ := os.ReadFile("../README.md"); err != nil || !bytes.Equal(readme, want) {
				t.Errorf("README.md.gz is not the README: %v", err)
			}
			changelog, err := exec.Command("zcat", filepath.Join(x, "usr/share/doc/etcd-ramdisk/changelog.gz")).Output()
			if err != nil || !strings.HasPrefix(string(changelog), "etcd-ramdisk (1.2.3+4.gabc1234) unstable; urgency=medium\n") ||
				!strings.Contains(string(changelog), " -- The etcd-ramdisk Authors <maintainers@example.invalid>  Sun, 06 Dec 2026 08:00:00 +0000\n") {
				t.Errorf("changelog: %v\n%s", err, changelog)
			}
		})
	}
}

func tarList(t *testing.T, deb, member string) string {
	t.Helper()
	ctrl, err := exec.Command("dpkg-deb", member, deb).Output()
	if err != nil {
		t.Fatalf("dpkg-deb %s: %v", member, err)
	}
	cmd := exec.Command("tar", "-t")
	cmd.Stdin = bytes.NewReader(ctrl)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tar -t: %v", err)
	}
	return strings.ReplaceAll(string(out), "./\n", "")
}

// The same inputs give the same bytes, so that SHA256SUMS can be checked
// against a rebuild.
func TestBuildReproducible(t *testing.T) {
	p := testPackage(t, "amd64")
	a, err := Build(p, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, err := Build(p, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	da, _ := os.ReadFile(a)
	db, _ := os.ReadFile(b)
	if len(da) == 0 || !bytes.Equal(da, db) {
		t.Errorf("two builds differ (%d and %d bytes)", len(da), len(db))
	}
}

func TestBuildRefuses(t *testing.T) {
	for name, edit := range map[string]func(*Package){
		"a version dpkg would refuse": func(p *Package) { p.Version = "e35c186" },
		"another arch":                func(p *Package) { p.Arch = "armhf" },
		"a maintainer without email":  func(p *Package) { p.Maintainer = "someone" },
		"a missing README":            func(p *Package) { p.Readme = "nope.md" },
	} {
		p := testPackage(t, "amd64")
		edit(&p)
		out := t.TempDir()
		if _, err := Build(p, out); err == nil {
			t.Errorf("%s: built", name)
		}
		if left, _ := os.ReadDir(out); len(left) > 0 {
			t.Errorf("%s: left %v behind", name, left)
		}
	}
}
