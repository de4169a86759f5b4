package testbed

import (
	"fmt"
	"os"
	"path/filepath"
)

// EtcdImages are the etcd images the bed provides: official-style 3.7 (what
// kubeadm 1.37 deploys; no --experimental-* flags) and 3.6 images with
// etcdutl, and a 3.5 image without it, like the ones Kubernetes built itself.
var EtcdImages = []struct {
	Ref, Version string
	Tools        []string
}{
	{"registry.k8s.io/etcd:3.7.4-0", "3.7.4", []string{"etcd", "etcdctl", "etcdutl"}},
	{"registry.k8s.io/etcd:3.6.16-0", "3.6.16", []string{"etcd", "etcdctl", "etcdutl"}},
	{"registry.k8s.io/etcd:3.5.21-0", "3.5.21", []string{"etcd", "etcdctl"}},
}

const imagePath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// BuildImages writes one OCI archive per etcd image, plus the pause image, into out.
// binDir holds etcd-<version>/<tool> and pause, as `make testbed-bins` builds them.
func BuildImages(binDir, out string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for _, img := range EtcdImages {
		files := map[string]string{}
		for _, t := range img.Tools {
			files["usr/local/bin/"+t] = filepath.Join(binDir, "etcd-"+img.Version, t)
		}
		spec := ImageSpec{Ref: img.Ref, Files: files, Env: []string{imagePath}, Cmd: []string{"/usr/local/bin/etcd"}}
		if err := writeArchive(filepath.Join(out, "etcd-"+img.Version+".tar"), spec); err != nil {
			return err
		}
	}
	pause := ImageSpec{Ref: PauseImage, Files: map[string]string{"pause": filepath.Join(binDir, "pause")}, Cmd: []string{"/pause"}}
	return writeArchive(filepath.Join(out, "pause.tar"), pause)
}

func writeArchive(path string, spec ImageSpec) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := BuildOCIArchive(f, spec); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("build image %s: %w", spec.Ref, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
