package testbed

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/images/archive"
	"github.com/containerd/containerd/v2/plugins/content/local"
	"github.com/containerd/platforms"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ociTestReadTar returns the regular files of a tar and the order of all entries.
func ociTestReadTar(t *testing.T, r io.Reader) (map[string][]byte, map[string]*tar.Header, []string) {
	t.Helper()
	files := map[string][]byte{}
	hdrs := map[string]*tar.Header{}
	var order []string
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		order = append(order, h.Name)
		hdrs[h.Name] = h
		if h.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			files[h.Name] = b
		}
	}
	return files, hdrs, order
}

func ociTestBlob(t *testing.T, files map[string][]byte, d ocispec.Descriptor) []byte {
	t.Helper()
	b, ok := files["blobs/sha256/"+d.Digest.Encoded()]
	if !ok {
		t.Fatalf("blob %s missing", d.Digest)
	}
	if digest.FromBytes(b) != d.Digest {
		t.Fatalf("blob %s: content digest %s", d.Digest, digest.FromBytes(b))
	}
	if int64(len(b)) != d.Size {
		t.Fatalf("blob %s: size %d, descriptor says %d", d.Digest, len(b), d.Size)
	}
	return b
}

func TestBuildOCIArchive(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "etcd")
	conf := filepath.Join(dir, "conf")
	if err := os.WriteFile(bin, []byte("#!fake etcd binary\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf, []byte("hello"), 0o640); err != nil {
		t.Fatal(err)
	}
	os.Chmod(bin, 0o755) // undo umask
	os.Chmod(conf, 0o640)
	spec := ImageSpec{
		Ref:   "registry.k8s.io/etcd:3.6.16-0",
		Files: map[string]string{"usr/local/bin/etcd": bin, "/etc/testbed/conf": conf},
		Env:   []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		Cmd:   []string{"/usr/local/bin/etcd"},
	}
	var buf1, buf2 bytes.Buffer
	d1, err := BuildOCIArchive(&buf1, spec)
	if err != nil {
		t.Fatal(err)
	}
	d2, err := BuildOCIArchive(&buf2, spec)
	if err != nil {
		t.Fatal(err)
	}
	if d1 != d2 || !bytes.Equal(buf1.Bytes(), buf2.Bytes()) {
		t.Errorf("not deterministic: %s vs %s", d1, d2)
	}

	files, hdrs, order := ociTestReadTar(t, bytes.NewReader(buf1.Bytes()))
	for _, n := range order {
		if !hdrs[n].ModTime.Equal(ociEpoch) {
			t.Errorf("%s: mtime %v", n, hdrs[n].ModTime)
		}
	}
	var layout ocispec.ImageLayout
	if err := json.Unmarshal(files["oci-layout"], &layout); err != nil || layout.Version != "1.0.0" {
		t.Fatalf("oci-layout %q: %v", files["oci-layout"], err)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(files["index.json"], &idx); err != nil {
		t.Fatal(err)
	}
	if idx.SchemaVersion != 2 || len(idx.Manifests) != 1 {
		t.Fatalf("index %+v", idx)
	}
	md := idx.Manifests[0]
	if md.MediaType != ocispec.MediaTypeImageManifest || md.Digest != d1 {
		t.Errorf("manifest descriptor %+v, returned digest %s", md, d1)
	}
	if md.Annotations["io.containerd.image.name"] != spec.Ref || md.Annotations[ocispec.AnnotationRefName] != "3.6.16-0" {
		t.Errorf("annotations %v", md.Annotations)
	}
	if md.Platform == nil || md.Platform.OS != "linux" || md.Platform.Architecture != runtime.GOARCH {
		t.Errorf("platform %+v", md.Platform)
	}

	var mf ocispec.Manifest
	if err := json.Unmarshal(ociTestBlob(t, files, md), &mf); err != nil {
		t.Fatal(err)
	}
	if mf.SchemaVersion != 2 || mf.MediaType != ocispec.MediaTypeImageManifest || len(mf.Layers) != 1 {
		t.Fatalf("manifest %+v", mf)
	}
	if mf.Config.MediaType != ocispec.MediaTypeImageConfig || mf.Layers[0].MediaType != ocispec.MediaTypeImageLayerGzip {
		t.Errorf("media types %s %s", mf.Config.MediaType, mf.Layers[0].MediaType)
	}
	var cfg ocispec.Image
	if err := json.Unmarshal(ociTestBlob(t, files, mf.Config), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.OS != "linux" || cfg.Architecture != runtime.GOARCH || !slices.Equal(cfg.Config.Env, spec.Env) || !slices.Equal(cfg.Config.Cmd, spec.Cmd) {
		t.Errorf("config %+v", cfg)
	}
	if cfg.RootFS.Type != "layers" || len(cfg.RootFS.DiffIDs) != 1 || len(cfg.History) != 1 {
		t.Fatalf("rootfs/history %+v %+v", cfg.RootFS, cfg.History)
	}

	layerGz := ociTestBlob(t, files, mf.Layers[0])
	zr, err := gzip.NewReader(bytes.NewReader(layerGz))
	if err != nil {
		t.Fatal(err)
	}
	layerTar, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if digest.FromBytes(layerTar) != cfg.RootFS.DiffIDs[0] {
		t.Errorf("diff_id %s, uncompressed layer %s", cfg.RootFS.DiffIDs[0], digest.FromBytes(layerTar))
	}
	lfiles, lhdrs, lorder := ociTestReadTar(t, bytes.NewReader(layerTar))
	wantOrder := []string{"etc/", "etc/testbed/", "etc/testbed/conf", "tmp/", "usr/", "usr/local/", "usr/local/bin/", "usr/local/bin/etcd", "var/", "var/lib/", "var/lib/etcd/"}
	if !slices.Equal(lorder, wantOrder) {
		t.Errorf("layer entries %q, want %q", lorder, wantOrder)
	}
	wantModes := map[string]int64{
		"etc/": 0o755, "etc/testbed/": 0o755, "etc/testbed/conf": 0o640, "tmp/": 0o1777,
		"usr/local/bin/": 0o755, "usr/local/bin/etcd": 0o755, "var/lib/": 0o755, "var/lib/etcd/": 0o700,
	}
	for n, m := range wantModes {
		h := lhdrs[n]
		if h == nil {
			t.Errorf("%s missing", n)
			continue
		}
		if h.Mode != m {
			t.Errorf("%s: mode %o, want %o", n, h.Mode, m)
		}
		if h.Uid != 0 || h.Gid != 0 || !h.ModTime.Equal(ociEpoch) {
			t.Errorf("%s: uid %d gid %d mtime %v", n, h.Uid, h.Gid, h.ModTime)
		}
		wantType := byte(tar.TypeReg)
		if n[len(n)-1] == '/' {
			wantType = tar.TypeDir
		}
		if h.Typeflag != wantType {
			t.Errorf("%s: type %c", n, h.Typeflag)
		}
	}
	if string(lfiles["usr/local/bin/etcd"]) != "#!fake etcd binary\n" || string(lfiles["etc/testbed/conf"]) != "hello" {
		t.Errorf("layer file contents %q", lfiles)
	}

	// A different input changes the digest.
	spec.Ref = "registry.k8s.io/etcd:3.5.21-0"
	d3, err := BuildOCIArchive(io.Discard, spec)
	if err != nil {
		t.Fatal(err)
	}
	if d3 == d1 {
		t.Error("digest did not change with Ref")
	}
	spec.Ref, spec.Cmd = "registry.k8s.io/etcd:3.6.16-0", []string{"/usr/local/bin/etcd", "--version"}
	if d4, _ := BuildOCIArchive(io.Discard, spec); d4 == d1 {
		t.Error("digest did not change with Cmd")
	}
}

func TestBuildOCIArchiveErrors(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "f")
	if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, spec := range map[string]ImageSpec{
		"empty ref":      {Files: map[string]string{"f": f}},
		"missing file":   {Ref: "x/y:1", Files: map[string]string{"f": filepath.Join(dir, "nope")}},
		"dir as source":  {Ref: "x/y:1", Files: map[string]string{"f": dir}},
		"escaping path":  {Ref: "x/y:1", Files: map[string]string{"../f": f}},
		"file is parent": {Ref: "x/y:1", Files: map[string]string{"a": f, "a/b": f}},
		"file over dir":  {Ref: "x/y:1", Files: map[string]string{"tmp": f}},
	} {
		if _, err := BuildOCIArchive(io.Discard, spec); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// Untagged reference gets "latest" as OCI ref name.
	var buf bytes.Buffer
	if _, err := BuildOCIArchive(&buf, ImageSpec{Ref: "registry.k8s.io/pause", Files: map[string]string{"pause": f}}); err != nil {
		t.Fatal(err)
	}
	files, _, _ := ociTestReadTar(t, &buf)
	var idx ocispec.Index
	if err := json.Unmarshal(files["index.json"], &idx); err != nil {
		t.Fatal(err)
	}
	if got := idx.Manifests[0].Annotations[ocispec.AnnotationRefName]; got != "latest" {
		t.Errorf("ref name %q", got)
	}
}

// TestBuildOCIArchiveContainerdImport feeds the archive to containerd's own
// importer (the code behind `ctr images import` / client.Import) with a local
// content store, and resolves the image for this platform like the CRI does.
func TestBuildOCIArchiveContainerdImport(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "pause")
	if err := os.WriteFile(bin, []byte("pause"), 0o755); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	mfDigest, err := BuildOCIArchive(&buf, ImageSpec{Ref: "registry.k8s.io/pause:3.10", Files: map[string]string{"pause": bin}, Cmd: []string{"/pause"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	store, err := local.NewStore(filepath.Join(dir, "content"))
	if err != nil {
		t.Fatal(err)
	}
	idxDesc, err := archive.ImportIndex(ctx, store, &buf)
	if err != nil {
		t.Fatalf("containerd ImportIndex: %v", err)
	}
	idxJSON, err := content.ReadBlob(ctx, store, idxDesc)
	if err != nil {
		t.Fatal(err)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(idxJSON, &idx); err != nil {
		t.Fatal(err)
	}
	if got := idx.Manifests[0].Annotations[images.AnnotationImageName]; got != "registry.k8s.io/pause:3.10" {
		t.Errorf("containerd image name annotation %q", got)
	}
	mf, err := images.Manifest(ctx, store, idxDesc, platforms.Default())
	if err != nil {
		t.Fatalf("resolve manifest for %s: %v", platforms.DefaultString(), err)
	}
	if len(mf.Layers) != 1 {
		t.Fatalf("layers %v", mf.Layers)
	}
	cfgDesc, err := images.Config(ctx, store, idx.Manifests[0], platforms.Default())
	if err != nil || cfgDesc.Digest != mf.Config.Digest {
		t.Fatalf("config %v %v", cfgDesc, err)
	}
	if idx.Manifests[0].Digest != mfDigest {
		t.Errorf("manifest digest %s, BuildOCIArchive returned %s", idx.Manifests[0].Digest, mfDigest)
	}
	diffIDs, err := images.RootFS(ctx, store, mf.Config)
	if err != nil || len(diffIDs) != 1 {
		t.Fatalf("rootfs %v %v", diffIDs, err)
	}
}
