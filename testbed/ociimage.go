package testbed

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ImageSpec describes a single-layer image built by BuildOCIArchive.
type ImageSpec struct {
	Ref   string            // full reference, e.g. "registry.k8s.io/etcd:3.6.16-0"
	Files map[string]string // path inside the image (e.g. "usr/local/bin/etcd") -> host file to copy (mode kept)
	Env   []string          // e.g. PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
	Cmd   []string
}

// OCIImageNameAnnotation is the index.json annotation containerd's importer
// (ctr images import, client.Import) reads first for the image name; it falls
// back to ocispec.AnnotationRefName ("org.opencontainers.image.ref.name").
const OCIImageNameAnnotation = "io.containerd.image.name"

// ociEpoch is the fixed timestamp used for every tar entry and the config.
var ociEpoch = time.Unix(0, 0).UTC()

// ociLayerDirs are directories always present in the layer, with their modes.
var ociLayerDirs = map[string]int64{
	"tmp":          0o1777,
	"var/lib/etcd": 0o700,
}

// BuildOCIArchive writes to w a tar of an OCI image layout (oci-layout,
// index.json, blobs/sha256/…) holding one linux image for runtime.GOARCH with
// a single gzip layer. The layer contains spec.Files (owner 0:0, host mode
// kept), the directories leading to them (0755), an empty /tmp (1777) and
// /var/lib/etcd (0700); there is no shell. index.json's manifest descriptor
// carries the platform and the annotations "io.containerd.image.name" = Ref and
// "org.opencontainers.image.ref.name" = the tag (as `ctr images export` writes).
//
// The output is deterministic (epoch mtimes, sorted entries, no user/group
// names, fixed config creation time): identical inputs give identical bytes.
// It returns the digest of the image manifest.
func BuildOCIArchive(w io.Writer, spec ImageSpec) (digest.Digest, error) {
	if spec.Ref == "" {
		return "", errors.New("testbed: BuildOCIArchive: empty Ref")
	}
	tag, err := ociRefTag(spec.Ref)
	if err != nil {
		return "", err
	}

	// Layer.
	layerTar, err := ociLayerTar(spec.Files)
	if err != nil {
		return "", err
	}
	var layerGz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&layerGz, gzip.BestCompression)
	if err != nil {
		return "", err
	}
	zw.ModTime = time.Time{} // no mtime in the gzip header
	if _, err := zw.Write(layerTar); err != nil {
		return "", err
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	diffID := digest.FromBytes(layerTar)
	layerDesc := ocispec.Descriptor{
		MediaType: ocispec.MediaTypeImageLayerGzip,
		Digest:    digest.FromBytes(layerGz.Bytes()),
		Size:      int64(layerGz.Len()),
	}

	// Config.
	created := ociEpoch
	platform := ocispec.Platform{Architecture: runtime.GOARCH, OS: "linux"}
	cfg := ocispec.Image{
		Created:  &created,
		Platform: platform,
		Config: ocispec.ImageConfig{
			Env: append([]string(nil), spec.Env...),
			Cmd: append([]string(nil), spec.Cmd...),
		},
		RootFS: ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{diffID}},
		History: []ocispec.History{{
			Created:   &created,
			CreatedBy: "etcd-ramdisk testbed BuildOCIArchive",
			Comment:   spec.Ref,
		}},
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return "", err
	}
	cfgDesc := ocispec.Descriptor{
		MediaType: ocispec.MediaTypeImageConfig,
		Digest:    digest.FromBytes(cfgJSON),
		Size:      int64(len(cfgJSON)),
	}

	// Manifest.
	mf := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    cfgDesc,
		Layers:    []ocispec.Descriptor{layerDesc},
	}
	mfJSON, err := json.Marshal(mf)
	if err != nil {
		return "", err
	}
	mfDesc := ocispec.Descriptor{
		MediaType: ocispec.MediaTypeImageManifest,
		Digest:    digest.FromBytes(mfJSON),
		Size:      int64(len(mfJSON)),
		Platform:  &platform,
		Annotations: map[string]string{
			OCIImageNameAnnotation:    spec.Ref,
			ocispec.AnnotationRefName: tag,
		},
	}

	// Index and layout.
	idx := ocispec.Index{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageIndex,
		Manifests: []ocispec.Descriptor{mfDesc},
	}
	idxJSON, err := json.Marshal(idx)
	if err != nil {
		return "", err
	}
	layoutJSON, err := json.Marshal(ocispec.ImageLayout{Version: ocispec.ImageLayoutVersion})
	if err != nil {
		return "", err
	}

	blobs := map[digest.Digest][]byte{
		layerDesc.Digest: layerGz.Bytes(),
		cfgDesc.Digest:   cfgJSON,
		mfDesc.Digest:    mfJSON,
	}
	tw := tar.NewWriter(w)
	dir := func(name string) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o755, ModTime: ociEpoch, Format: tar.FormatPAX})
	}
	file := func(name string, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: ociEpoch, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	if err := dir("blobs/"); err != nil {
		return "", err
	}
	if err := dir("blobs/sha256/"); err != nil {
		return "", err
	}
	dgsts := make([]digest.Digest, 0, len(blobs))
	for d := range blobs {
		dgsts = append(dgsts, d)
	}
	sort.Slice(dgsts, func(i, j int) bool { return dgsts[i] < dgsts[j] })
	for _, d := range dgsts {
		if err := file("blobs/sha256/"+d.Encoded(), blobs[d]); err != nil {
			return "", err
		}
	}
	if err := file(ocispec.ImageIndexFile, idxJSON); err != nil {
		return "", err
	}
	if err := file(ocispec.ImageLayoutFile, layoutJSON); err != nil {
		return "", err
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	return mfDesc.Digest, nil
}

// ociRefTag returns the tag of ref ("registry.k8s.io/etcd:3.6.16-0" ->
// "3.6.16-0"); a reference without tag gets "latest".
func ociRefTag(ref string) (string, error) {
	r := ref
	if i := strings.IndexByte(r, '@'); i >= 0 {
		r = r[:i]
	}
	name, tag := r, ""
	if i := strings.LastIndexByte(r, ':'); i >= 0 && !strings.Contains(r[i+1:], "/") {
		name, tag = r[:i], r[i+1:]
	}
	if name == "" {
		return "", fmt.Errorf("testbed: invalid image reference %q", ref)
	}
	if tag == "" {
		tag = "latest"
	}
	return tag, nil
}

// ociLayerEntry is one entry of the layer tar.
type ociLayerEntry struct {
	name string // clean, relative, no trailing slash
	dir  bool
	mode int64
	src  string // host file for regular files
}

// ociLayerTar returns the uncompressed layer tar.
func ociLayerTar(files map[string]string) ([]byte, error) {
	entries := map[string]*ociLayerEntry{}
	addParents := func(p string) {
		for d := path.Dir(p); d != "." && d != "/"; d = path.Dir(d) {
			if _, ok := entries[d]; !ok {
				entries[d] = &ociLayerEntry{name: d, dir: true, mode: 0o755}
			}
		}
	}
	for p, mode := range ociLayerDirs {
		addParents(p)
		entries[p] = &ociLayerEntry{name: p, dir: true, mode: mode}
	}
	for p, src := range files {
		name := path.Clean(strings.TrimLeft(p, "/"))
		if name == "." || name == ".." || strings.HasPrefix(name, "../") {
			return nil, fmt.Errorf("testbed: invalid image path %q", p)
		}
		st, err := os.Stat(src)
		if err != nil {
			return nil, fmt.Errorf("testbed: image file %q: %w", p, err)
		}
		if !st.Mode().IsRegular() {
			return nil, fmt.Errorf("testbed: image file %q: %s is not a regular file", p, src)
		}
		if e, ok := entries[name]; ok && e.dir {
			return nil, fmt.Errorf("testbed: image path %q is also a directory", p)
		}
		addParents(name)
		entries[name] = &ociLayerEntry{name: name, mode: ociTarMode(st.Mode()), src: src}
	}
	// A file used as a parent directory of another path is a conflict.
	for _, e := range entries {
		for d := path.Dir(e.name); d != "."; d = path.Dir(d) {
			if pe := entries[d]; pe != nil && !pe.dir {
				return nil, fmt.Errorf("testbed: image path %q is both a file and a directory", d)
			}
		}
	}

	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	sort.Strings(names)

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		e := entries[n]
		hdr := &tar.Header{Name: e.name, Mode: e.mode, ModTime: ociEpoch, Format: tar.FormatPAX}
		if e.dir {
			hdr.Typeflag = tar.TypeDir
			hdr.Name += "/"
			if err := tw.WriteHeader(hdr); err != nil {
				return nil, err
			}
			continue
		}
		data, err := os.ReadFile(e.src)
		if err != nil {
			return nil, fmt.Errorf("testbed: image file %q: %w", e.name, err)
		}
		hdr.Typeflag = tar.TypeReg
		hdr.Size = int64(len(data))
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ociTarMode converts an fs.FileMode to tar permission bits (incl. setuid,
// setgid, sticky).
func ociTarMode(m fs.FileMode) int64 {
	mode := int64(m.Perm())
	if m&fs.ModeSetuid != 0 {
		mode |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		mode |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		mode |= 0o1000
	}
	return mode
}
