package images

import (
	"archive/tar"
	"bytes"
	"maps"
	"slices"
	"testing"
)

// tarOf writes a layer tar with the entries in the order given.
func tarOf(t *testing.T, names ...string) *bytes.Buffer {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o644}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return &b
}

// A whiteout hides entries of the layers below only, never of its own layer,
// wherever it comes in the layer's tar (OCI image spec).
func TestWhiteoutsHideLowerLayersOnly(t *testing.T) {
	for _, tc := range []struct {
		name         string
		lower, upper []string
		want         []string
	}{
		{"opaque after the layer's own file", []string{"usr/local/bin/etcd", "usr/local/bin/old"},
			[]string{"usr/local/bin/etcdutl", "usr/local/bin/.wh..wh..opq"}, []string{"usr/local/bin/etcdutl"}},
		{"opaque before the layer's own file", []string{"usr/local/bin/old"},
			[]string{"usr/local/bin/.wh..wh..opq", "usr/local/bin/etcdutl"}, []string{"usr/local/bin/etcdutl"}},
		{"whiteout of a file the layer adds again", []string{"bin/etcdctl", "bin/x"},
			[]string{"bin/etcdctl", "bin/.wh.etcdctl"}, []string{"bin/etcdctl", "bin/x"}},
		{"whiteout of a lower directory", []string{"opt/a/b", "opt/ab"},
			[]string{"opt/.wh.a"}, []string{"opt/ab"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]bool{}
			for _, names := range [][]string{tc.lower, tc.upper} {
				l, err := readLayer(tarOf(t, names...))
				if err != nil {
					t.Fatal(err)
				}
				l.applyTo(files)
			}
			if got := slices.Sorted(maps.Keys(files)); !slices.Equal(got, tc.want) {
				t.Errorf("files %q, want %q", got, tc.want)
			}
		})
	}
}
