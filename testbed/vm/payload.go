package vm

import (
	"context"
	_ "embed"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
)

//go:embed node-setup.sh
var nodeSetupScript []byte

// PayloadMount is where the guest mounts the payload drive (read-only).
const PayloadMount = "/mnt/payload"

// buildPayload lays out the per-run payload and makes it an ext4 image
// (mke2fs -d, no journal) that QEMU attaches read-only as vdb, mounted at
// /mnt/payload:
//
//	bin/{etcd-ramdisk,kubelet,kubeadm,etcdkv}
//	containerd2/{containerd,containerd-shim-runc-v2,ctr}   (Containerd "2" only)
//	images/*.tar                                           (OCI archives; Options.ImageArchives, default all)
//	node-setup.sh, authorized_keys
//
// Files are hard-linked into the layout where possible (copied otherwise).
// It returns the payload's size in bytes.
func (v *VM) buildPayload(ctx context.Context) (int64, error) {
	dir := filepath.Join(v.o.Work, "payload")
	if err := os.RemoveAll(dir); err != nil {
		return 0, err
	}
	var total int64
	add := func(src, dst string, mode os.FileMode) error {
		st, err := os.Stat(src)
		if err != nil {
			return fmt.Errorf("vm: payload: %v", err)
		}
		dst = filepath.Join(dir, dst)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		total += st.Size()
		// A hard link shares the mode: link only files that already have it.
		if st.Mode().Perm() == mode && os.Link(src, dst) == nil {
			return nil
		}
		if err := copyFile(src, dst); err != nil {
			return fmt.Errorf("vm: payload: %v", err)
		}
		return os.Chmod(dst, mode)
	}
	bins := map[string]string{
		"etcd-ramdisk":       "bin/etcd-ramdisk",
		"kubelet":            "bin/kubelet",
		"kubeadm":            "bin/kubeadm",
		"etcd-3.6.16/etcdkv": "bin/etcdkv",
	}
	if v.o.Containerd == "2" {
		for _, b := range []string{"containerd", "containerd-shim-runc-v2", "ctr"} {
			bins["containerd2/"+b] = "containerd2/" + b
		}
	}
	for src, dst := range bins {
		if err := add(filepath.Join(v.o.Bin, src), dst, 0o755); err != nil {
			return 0, err
		}
	}
	tars, _ := filepath.Glob(filepath.Join(v.o.Images, "*.tar"))
	if len(v.o.ImageArchives) > 0 {
		tars = tars[:0]
		for _, name := range v.o.ImageArchives {
			tars = append(tars, filepath.Join(v.o.Images, name))
		}
	}
	if len(tars) == 0 {
		return 0, fmt.Errorf("vm: payload: no image archives (*.tar) in %s (make images)", v.o.Images)
	}
	for _, t := range tars {
		if err := add(t, "images/"+filepath.Base(t), 0o644); err != nil {
			return 0, err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "node-setup.sh"), nodeSetupScript, 0o755); err != nil {
		return 0, err
	}
	if err := add(v.key+".pub", "authorized_keys", 0o644); err != nil {
		return 0, err
	}
	// Room for ext4's metadata: 10% + 32 MiB.
	kib := (total+total/10)/1024 + 32<<10
	cmd := exec.CommandContext(ctx, "mke2fs", "-q", "-t", "ext4", "-O", "^has_journal", "-L", "erd-payload",
		"-E", "root_owner=0:0", "-d", dir, v.payload, strconv.FormatInt(kib, 10)+"k")
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("vm: payload: mke2fs: %v: %s", err, out)
	}
	return total, nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
