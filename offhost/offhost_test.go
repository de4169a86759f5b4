package offhost

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

var baseTime = time.Date(2026, 11, 25, 14, 45, 30, 0, time.UTC)

func testMeta(at time.Time, revision int64) *store.Metadata {
	return &store.Metadata{
		Time: at, Reason: store.ReasonCron, Node: "node1",
		Image: store.Image{Reference: "registry.k8s.io/etcd:3.6.16-0", Digest: "sha256:" + strings.Repeat("ab", 32)},
		Etcd:  store.EtcdStatus{Version: "3.6.0", Revision: revision, Hash: 42, TotalKeys: 10},
		Member: store.Member{Name: "node1", InitialCluster: "node1=https://10.0.0.1:2380",
			InitialAdvertisePeerURLs: []string{"https://10.0.0.1:2380"}, DataDir: "/var/lib/etcd"},
	}
}

// fixture is a store and a directory target with an identity that opens it.
type fixture struct {
	st       *store.Store
	cfg      *Config
	identity string // path of the identity file
	target   string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "nas")
	if err := os.Mkdir(target, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := initDir(target); err != nil {
		t.Fatal(err)
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	idPath := filepath.Join(dir, "identity.txt")
	if err := os.WriteFile(idPath, []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := &Config{Dir: target, Recipients: []string{id.Recipient().String()}, Keep: &Keep{Last: 3}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return &fixture{st: st, cfg: cfg, identity: idPath, target: target}
}

// backup writes one snapshot of random (incompressible) data.
func (f *fixture) backup(t *testing.T, rev int64) *store.Snapshot {
	t.Helper()
	raw := make([]byte, 64<<10+int(rev))
	rand.Read(raw)
	copy(raw, "etcd-magic-bytes")
	snap, err := f.st.Write(context.Background(), testMeta(baseTime.Add(time.Duration(rev)*time.Minute), rev), bytes.NewReader(raw), store.Good)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func (f *fixture) copy(t *testing.T) *Result {
	t.Helper()
	r := Copy(context.Background(), f.cfg, f.st, quiet)
	if r.Err != nil {
		t.Fatalf("copy: %v", r.Err)
	}
	return r
}

func (f *fixture) remoteIDs(t *testing.T) []string {
	t.Helper()
	l, err := List(context.Background(), f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range l.Snapshots {
		ids = append(ids, s.Snapshot.ID)
	}
	return ids
}

func TestNames(t *testing.T) {
	k := key{Seq: 42, ID: "20261125T144530Z-r7-2"}
	for _, tc := range []struct {
		name     string
		manifest bool
	}{{dataName(k, true), false}, {dataName(k, false), false}, {manifestName(k), true}} {
		got, isManifest, ok := parseName(tc.name)
		if !ok || got != k || isManifest != tc.manifest {
			t.Errorf("parseName(%q) = %v, %v, %v; want %v, %v", tc.name, got, isManifest, ok, k, tc.manifest)
		}
	}
	if manifestName(k) != "snapshots/00000000000000000042-20261125T144530Z-r7-2.json" {
		t.Errorf("manifestName = %q", manifestName(k))
	}
	for _, bad := range []string{"snapshots/42-20261125T144530Z-r7.json", "snapshots/x.json", "images/a.json", "snapshots/00000000000000000042-20261125T144530Z-r7.json.tmp"} {
		if _, _, ok := parseName(bad); ok {
			t.Errorf("parseName(%q) accepted", bad)
		}
	}
	// Names sort in the store's order, also across digit counts.
	a, b := manifestName(key{9, "20300101T000000Z-r1"}), manifestName(key{10, "19700101T000000Z-r1"})
	if a >= b {
		t.Errorf("%s sorts after %s", a, b)
	}
}

func TestPending(t *testing.T) {
	snaps := []store.Snapshot{}
	for _, seq := range []uint64{5, 4, 3, 2, 1} { // newest first, as List returns them
		snaps = append(snaps, store.Snapshot{Meta: store.Metadata{Seq: seq, ID: "20261125T000000Z-r" + string(rune('0'+seq))}})
	}
	ids := func(ss []store.Snapshot) (out []uint64) {
		for _, s := range ss {
			out = append(out, s.Meta.Seq)
		}
		return out
	}
	for _, tc := range []struct {
		name          string
		newest, since key
		want          []uint64
	}{
		{"all after the newest copy, oldest first", keyOf(&snaps[3].Meta), key{}, []uint64{3, 4, 5}},
		{"not before since", key{}, keyOf(&snaps[1].Meta), []uint64{4, 5}},
		{"up to date", keyOf(&snaps[0].Meta), key{}, nil},
		{"target ahead", key{Seq: 9, ID: "x"}, key{}, nil},
	} {
		if got := ids(pending(snaps, tc.newest, tc.since)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: pending = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// Copies are encrypted (no plaintext bytes on the target), complete only with
// a manifest, and a backlog goes oldest first, starting with the newest
// snapshot there was when the target was new.
func TestCopyCatchUpAndEncryption(t *testing.T) {
	f := newFixture(t)
	f.backup(t, 10)
	first := f.backup(t, 11)
	r := f.copy(t)
	if !slices.Equal(r.Uploaded, []string{first.Meta.ID}) || r.Backlog != 0 {
		t.Fatalf("first copy uploaded %v (backlog %d); want only the newest %s", r.Uploaded, r.Backlog, first.Meta.ID)
	}
	var want []string
	for rev := int64(12); rev < 15; rev++ {
		want = append(want, f.backup(t, rev).Meta.ID)
	}
	r = f.copy(t)
	if !slices.Equal(r.Uploaded, want) {
		t.Fatalf("catch-up uploaded %v, want %v in order", r.Uploaded, want)
	}
	if r2 := f.copy(t); len(r2.Uploaded) != 0 {
		t.Errorf("a copy with nothing new uploaded %v", r2.Uploaded)
	}
	// Keep last 3: the first copy is gone, the newest kept.
	if got, w := f.remoteIDs(t), []string{want[2], want[1], want[0]}; !slices.Equal(got, w) {
		t.Errorf("remote after retention = %v, want %v", got, w)
	}
	files, _ := filepath.Glob(filepath.Join(f.target, "snapshots", "*"))
	for _, p := range files {
		b, _ := os.ReadFile(p)
		if strings.HasSuffix(p, ".age") && (bytes.Contains(b, []byte("etcd-magic-bytes")) || !bytes.HasPrefix(b, []byte("age-encryption.org/v1"))) {
			t.Errorf("%s is not an age file or holds plaintext", p)
		}
	}
	if len(files) != 6 {
		t.Errorf("target holds %d files, want 3 data + 3 manifests: %v", len(files), files)
	}
}

// A node whose backup dir is empty gets the newest copy back with its place in
// the store's order; a wrong identity is ErrIdentity; a corrupt copy ErrCorrupt.
func TestImport(t *testing.T) {
	f := newFixture(t)
	f.backup(t, 20)
	f.copy(t)
	newest := f.backup(t, 21)
	f.copy(t)

	fresh, err := store.Open(filepath.Join(t.TempDir(), "new-node"))
	if err != nil {
		t.Fatal(err)
	}
	src := NewSource(f.cfg, f.identity, quiet)
	metas, err := src.Snapshots(context.Background())
	if err != nil || len(metas) != 2 || metas[0].ID != newest.Meta.ID {
		t.Fatalf("Snapshots = %v, %v; want 2, newest %s first", metas, err, newest.Meta.ID)
	}
	snap, err := src.Import(context.Background(), fresh, &metas[0])
	if err != nil {
		t.Fatal(err)
	}
	if snap.Meta.Seq != newest.Meta.Seq || snap.Meta.SHA256 != newest.Meta.SHA256 {
		t.Errorf("imported seq %d sha %s, want %d %s", snap.Meta.Seq, snap.Meta.SHA256, newest.Meta.Seq, newest.Meta.SHA256)
	}
	if err := fresh.VerifyChecksum(context.Background(), snap); err != nil {
		t.Error(err)
	}
	// The next local backup sorts after the imported one.
	next, err := fresh.Write(context.Background(), testMeta(baseTime, 30), strings.NewReader("x"), store.Good)
	if err != nil || next.Meta.Seq <= snap.Meta.Seq {
		t.Errorf("next local seq %d after imported %d (%v)", next.Meta.Seq, snap.Meta.Seq, err)
	}

	other, _ := age.GenerateX25519Identity()
	wrong := filepath.Join(t.TempDir(), "wrong.txt")
	os.WriteFile(wrong, []byte(other.String()), 0o600)
	empty, _ := store.Open(filepath.Join(t.TempDir(), "empty"))
	bad := NewSource(f.cfg, wrong, quiet)
	ms, _ := bad.Snapshots(context.Background())
	if _, err := bad.Import(context.Background(), empty, &ms[0]); !errors.Is(err, ErrIdentity) {
		t.Errorf("wrong identity: %v, want ErrIdentity", err)
	}
	none := NewSource(&Config{Dir: f.cfg.Dir, Recipients: f.cfg.Recipients}, "", quiet)
	ms, _ = none.Snapshots(context.Background())
	if _, err := none.Import(context.Background(), empty, &ms[0]); !errors.Is(err, ErrIdentity) {
		t.Errorf("no identity: %v, want ErrIdentity", err)
	}
	if snaps, _, _ := empty.List(); len(snaps) != 0 {
		t.Errorf("failed imports left %d snapshots", len(snaps))
	}

	// Flip bytes inside the age payload of the newest copy.
	p := filepath.Join(f.target, filepath.FromSlash(dataName(keyOf(&newest.Meta), true)))
	b, _ := os.ReadFile(p)
	b[len(b)/2] ^= 0xff
	os.WriteFile(p, b, 0o600)
	if _, err := src.Import(context.Background(), empty, &metas[0]); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("corrupt copy: %v, want ErrCorrupt", err)
	}
	if snaps, _, _ := empty.List(); len(snaps) != 0 {
		t.Errorf("corrupt import left %d snapshots", len(snaps))
	}
}

// A wrong identity fails (ErrIdentity) before the image archive is fetched;
// a copy whose object is not what its manifest says fails (ErrCorrupt) and
// never appears in the store.
func TestImportChecksFirst(t *testing.T) {
	f := newFixture(t)
	snap := f.backup(t, 20)
	digest := snap.Meta.Image.Digest
	if err := f.st.WriteImageArchive(digest, func(w io.Writer) error { _, err := io.WriteString(w, "an image archive"); return err }); err != nil {
		t.Fatal(err)
	}
	f.copy(t)

	other, _ := age.GenerateX25519Identity()
	wrong := filepath.Join(t.TempDir(), "wrong.txt")
	if err := os.WriteFile(wrong, []byte(other.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	empty, _ := store.Open(filepath.Join(t.TempDir(), "empty"))
	bad := NewSource(f.cfg, wrong, quiet)
	ms, err := bad.Snapshots(context.Background())
	if err != nil || len(ms) != 1 {
		t.Fatal(ms, err)
	}
	if _, err := bad.Import(context.Background(), empty, &ms[0]); !errors.Is(err, ErrIdentity) {
		t.Errorf("wrong identity: %v, want ErrIdentity", err)
	}
	if empty.HasImageArchive(digest) {
		t.Error("a wrong identity fetched the image archive first")
	}

	// The manifest's record of the data object disagrees with the object.
	src := NewSource(f.cfg, f.identity, quiet)
	ms, err = src.Snapshots(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	man := src.manifests[keyOf(&ms[0])]
	man.Data.SHA256 = strings.Repeat("0", 64)
	if _, err := src.Import(context.Background(), empty, &ms[0]); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("object unlike its manifest: %v, want ErrCorrupt", err)
	}
	if snaps, _, _ := empty.List(); len(snaps) != 0 {
		t.Errorf("the import left %d snapshots", len(snaps))
	}
}

// After a restore from the target (a rebuilt node), the copy it came from
// counts as on the target: no backlog, the copy named, and the next backup's
// copy sends the new snapshot but not the image archive the target holds.
func TestFetchRecordsState(t *testing.T) {
	f := newFixture(t)
	snap := f.backup(t, 20)
	digest := snap.Meta.Image.Digest
	if err := f.st.WriteImageArchive(digest, func(w io.Writer) error { _, err := io.WriteString(w, "an image archive"); return err }); err != nil {
		t.Fatal(err)
	}
	f.copy(t)
	f.backup(t, 21)
	f.copy(t)

	fresh, err := store.Open(filepath.Join(t.TempDir(), "rebuilt"))
	if err != nil {
		t.Fatal(err)
	}
	src := NewSource(f.cfg, f.identity, quiet)
	ms, err := src.Snapshots(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got, err := src.Import(context.Background(), fresh, &ms[0])
	if err != nil {
		t.Fatal(err)
	}
	sum, err := Summarize(fresh, f.cfg, mustList(t, fresh))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Backlog != 0 || sum.RemoteSnapshots != 2 || sum.LastCopyID != got.Meta.ID || sum.LastCopy == nil {
		t.Errorf("after the fetch: %+v, want no backlog, 2 on the target, last copy %s", sum, got.Meta.ID)
	}

	image := filepath.Join(f.target, filepath.FromSlash(imageName(digest)))
	before, err := os.Stat(image)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fresh.Write(context.Background(), testMeta(baseTime.Add(time.Hour), 30), strings.NewReader("newer"), store.Good); err != nil {
		t.Fatal(err)
	}
	r := Copy(context.Background(), f.cfg, fresh, quiet)
	if r.Err != nil || len(r.Uploaded) != 1 {
		t.Fatalf("first copy after the fetch: %+v", r)
	}
	if after, err := os.Stat(image); err != nil || !os.SameFile(before, after) {
		t.Errorf("the image archive was sent again (%v)", err)
	}
}

// A target that is gone (the share not mounted) fails the copy, which only
// warns: the local snapshots are as they were, status shows the backlog and
// the error, and the next run sends the backlog.
func TestCopyFailureKeepsBacklog(t *testing.T) {
	f := newFixture(t)
	f.backup(t, 40)
	f.copy(t)
	a := f.backup(t, 41)
	marker := filepath.Join(f.target, MarkerName)
	os.Remove(marker)
	r := Copy(context.Background(), f.cfg, f.st, quiet)
	if !errors.Is(r.Err, ErrUnreachable) {
		t.Fatalf("copy to an unmounted share: %v, want ErrUnreachable", r.Err)
	}
	sum, _ := Summarize(f.st, f.cfg, mustList(t, f.st))
	if sum.Backlog != 1 || sum.LastError == "" || sum.NewestRemoteID == a.Meta.ID {
		t.Errorf("summary %+v: want backlog 1 and the error", sum)
	}
	if len(mustList(t, f.st)) != 2 {
		t.Errorf("local snapshots changed")
	}
	os.WriteFile(marker, nil, 0o600)
	if r := f.copy(t); !slices.Equal(r.Uploaded, []string{a.Meta.ID}) {
		t.Errorf("after the target came back uploaded %v", r.Uploaded)
	}
	if sum, _ := Summarize(f.st, f.cfg, mustList(t, f.st)); sum.Backlog != 0 || sum.LastError != "" || sum.LastCopyID != a.Meta.ID {
		t.Errorf("summary after catch-up %+v", sum)
	}
}

func mustList(t *testing.T, st *store.Store) []store.Snapshot {
	snaps, _, err := st.List()
	if err != nil {
		t.Fatal(err)
	}
	return snaps
}

// A target whose newest copy is after this node's newest snapshot is another
// history: nothing is sent.
func TestCopyRefusesForeignHistory(t *testing.T) {
	f := newFixture(t)
	for rev := int64(1); rev <= 3; rev++ {
		f.backup(t, rev)
	}
	f.copy(t)
	g := newFixture(t)
	g.cfg = f.cfg
	g.backup(t, 100)
	r := Copy(context.Background(), g.cfg, g.st, quiet)
	if !errors.Is(r.Err, ErrForeign) {
		t.Errorf("copy of another history: %v, want ErrForeign", r.Err)
	}
}

func TestDirTargetNeedsMarker(t *testing.T) {
	d := t.TempDir()
	if _, err := openDir(d); !errors.Is(err, ErrUnreachable) {
		t.Errorf("dir without marker: %v, want ErrUnreachable", err)
	}
	if _, err := openDir(filepath.Join(d, "missing")); !errors.Is(err, ErrUnreachable) {
		t.Errorf("missing dir: %v", err)
	}
}

func TestConfig(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	rec := id.Recipient().String()
	for _, tc := range []struct {
		yaml, err string
	}{
		{"dir: /mnt/nas\nrecipients: [" + rec + "]\n", ""},
		{"s3: {endpoint: https://s3.example.net, bucket: b}\nrecipients: [" + rec + "]\n", ""},
		{"dir: /mnt/nas\n", "no age recipient"},
		{"dir: /mnt/nas\ninsecureUploadPlaintextSnapshotsWithAllSecrets: true\n", ""},
		{"dir: relative\nrecipients: [" + rec + "]\n", "not an absolute path"},
		{"dir: /mnt/nas\nrecipients: [age1nope]\n", "age recipients"},
		{"dir: /mnt/nas\nrecipients: [" + rec + "]\ntimeout: soon\n", "timeout"},
		{"dir: /mnt/nas\nrecipients: [" + rec + "]\nsecretAccessKey: x\n", "unknown field"},
		{"recipients: [" + rec + "]\n", "no target"},
	} {
		p := filepath.Join(t.TempDir(), "offhost.yaml")
		os.WriteFile(p, []byte(tc.yaml), 0o600)
		_, err := LoadConfig(p, false)
		if (tc.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%q: err %v, want %q", tc.yaml, err, tc.err)
		}
	}
	if c, err := LoadConfig(filepath.Join(t.TempDir(), "absent"), true); c != nil || err != nil {
		t.Errorf("absent optional config: %v, %v", c, err)
	}
	p := filepath.Join(t.TempDir(), "open.yaml")
	os.WriteFile(p, []byte("dir: /mnt/nas\nrecipients: ["+rec+"]\n"), 0o666)
	os.Chmod(p, 0o666)
	if _, err := LoadConfig(p, false); err == nil || !strings.Contains(err.Error(), "chmod") {
		t.Errorf("world-writable config: %v", err)
	}
}

func TestParseCredentials(t *testing.T) {
	for _, in := range []string{
		"[default]\naws_access_key_id = AK\naws_secret_access_key = SK\n",
		"AWS_ACCESS_KEY_ID=AK\nexport AWS_SECRET_ACCESS_KEY=\"SK\"\n",
	} {
		if c := parseCredentials([]byte(in)); c.AccessKeyID != "AK" || c.SecretAccessKey != "SK" {
			t.Errorf("parseCredentials(%q) = %+v", in, c)
		}
	}
}

// Retention also removes what interrupted uploads left behind the newest copy
// and image archives no kept copy names; the image in use stays.
func TestPruneOrphansAndImages(t *testing.T) {
	f := newFixture(t)
	digest := testMeta(baseTime, 1).Image.Digest
	if err := f.st.WriteImageArchive(digest, func(w io.Writer) error { _, err := io.WriteString(w, "image tar"); return err }); err != nil {
		t.Fatal(err)
	}
	f.backup(t, 1)
	f.copy(t)
	orphan := filepath.Join(f.target, snapshotsDir, key{Seq: 0, ID: "20200101T000000Z-r1"}.stem()+dataSuffix+ageSuffix)
	unused := filepath.Join(f.target, imagesDir, "sha256-"+strings.Repeat("cd", 32)+".oci.tar")
	for _, p := range []string{orphan, unused} {
		if err := os.WriteFile(p, []byte("left over"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if l, _ := List(context.Background(), f.cfg); len(l.Problems) != 1 || !strings.Contains(l.Problems[0].Err, "without a manifest") {
		t.Errorf("problems %+v, want the orphan", l.Problems)
	}
	f.backup(t, 2)
	f.copy(t)
	for _, p := range []string{orphan, unused} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s was kept", p)
		}
	}
	if _, err := os.Stat(filepath.Join(f.target, filepath.FromSlash(imageName(digest)))); err != nil {
		t.Errorf("the image in use was removed: %v", err)
	}
	l, _ := List(context.Background(), f.cfg)
	if len(l.Snapshots) != 2 || l.Snapshots[0].Image == nil || len(l.Problems) != 0 {
		t.Errorf("listing %+v", l)
	}
}

// Plaintext copies (the loudly named setting) are the store's own zstd file
// and come back without an identity.
func TestPlaintextCopy(t *testing.T) {
	f := newFixture(t)
	f.cfg = &Config{Dir: f.cfg.Dir, InsecurePlaintext: true}
	snap := f.backup(t, 7)
	f.copy(t)
	obj, err := os.ReadFile(filepath.Join(f.target, filepath.FromSlash(dataName(keyOf(&snap.Meta), false))))
	if err != nil {
		t.Fatal(err)
	}
	local, _ := os.ReadFile(snap.Path)
	if !bytes.Equal(obj, local) {
		t.Error("the plaintext copy is not the local zstd file")
	}
	src := NewSource(f.cfg, "", quiet)
	metas, err := src.Snapshots(context.Background())
	if err != nil || len(metas) != 1 {
		t.Fatal(metas, err)
	}
	fresh, _ := store.Open(filepath.Join(t.TempDir(), "fresh"))
	if _, err := src.Import(context.Background(), fresh, &metas[0]); err != nil {
		t.Errorf("import of a plaintext copy without an identity: %v", err)
	}
}
