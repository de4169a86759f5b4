package etcdtool

import (
	"crypto/sha256"
	"math/rand"
	"testing"
)

// withTrailer is a database of n bytes (a whole number of 512-byte pages in
// etcd's snapshots) followed by its sha256, as `etcdctl snapshot save` writes it.
func withTrailer(n int) []byte {
	db := make([]byte, n)
	rand.New(rand.NewSource(int64(n))).Read(db)
	sum := sha256.Sum256(db)
	return append(db, sum[:]...)
}

// Whatever the write sizes, the check sees the same trailer etcd's restore does.
func TestTrailerCheck(t *testing.T) {
	good := withTrailer(8 * 512)
	flipped := append([]byte(nil), good...)
	flipped[1000] ^= 1
	badTrailer := append([]byte(nil), good...)
	badTrailer[len(badTrailer)-1] ^= 1
	noTrailer := good[:8*512] // a cold copy of a data dir: whole pages only
	cases := []struct {
		name        string
		data        []byte
		wantTrailer bool
		wantErr     bool
	}{
		{"good", good, true, false},
		{"database byte flipped", flipped, true, true},
		{"trailer byte flipped", badTrailer, true, true},
		{"no trailer", noTrailer, false, false},
		{"empty", nil, false, false},
	}
	for _, c := range cases {
		for _, chunk := range []int{1, 7, 31, 32, 33, 512, 4096, 1 << 20} {
			tc := newTrailerCheck()
			for off := 0; off < len(c.data); off += chunk {
				if _, err := tc.Write(c.data[off:min(off+chunk, len(c.data))]); err != nil {
					t.Fatal(err)
				}
			}
			has, err := tc.Result()
			if has != c.wantTrailer || (err != nil) != c.wantErr {
				t.Errorf("%s, writes of %d: trailer %v err %v; want trailer %v, error %v", c.name, chunk, has, err, c.wantTrailer, c.wantErr)
			}
		}
	}
}
