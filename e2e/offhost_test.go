package e2e

import (
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/testbed"
)

// wipeDisk stands for a node whose persistent disk died and was replaced:
// the backup dir is gone, the tmpfs empty after the reboot, containerd has
// no etcd image.
func (n *node) wipeDisk() {
	n.t.Helper()
	if err := os.RemoveAll(n.BackupDir()); err != nil {
		n.t.Fatal(err)
	}
	n.reboot()
	if err := n.RemoveImage(n.ctx, n.Options.Image); err != nil {
		n.t.Fatal(err)
	}
}

func (n *node) noMember() {
	n.t.Helper()
	if slices.Contains(dataDirEntries(n.t, n.DataDir()), "member") {
		n.t.Fatalf("data dir %s holds a member after a failed restore", n.DataDir())
	}
}

// A backup is copied to an S3 bucket (over TLS with the config's CA file)
// encrypted: not readable without the key. A node whose disk was replaced
// restores it from there, image archive included, with the right identity
// only: a wrong or missing one is exit 14 with the data dir left empty. The
// next backup continues the store's order on the target. Both etcd images.
func TestOffhostS3NewNodeRestores(t *testing.T) {
	srv := startS3(t, "", true)
	for _, img := range etcdImages {
		t.Run(img.name, func(t *testing.T) {
			n := newNode(t, testbed.NodeOptions{Image: img.ref})
			bucket := srv.makeBucket(t)
			id := newIdentity(t, n.Dir, "identity.txt")
			env := n.s3Config(srv, "s3", srv.endpoint(), bucket, srv.secret, id.recipient, "")
			n.kv("put-many", "/registry/oh/", "300")
			r := n.toolEnv(env, "backup")
			if r.code != 0 || !strings.Contains(r.stdout, "off-host: copied") {
				t.Fatalf("backup: exit %d, stdout %q; want the snapshot copied", r.code, r.stdout)
			}
			ids, l := n.remoteIDs(env)
			local := n.localIDsOldestFirst()
			if !slices.Equal(ids, local) || l.Snapshots[0].Encryption != "age" || l.Snapshots[0].Image == nil {
				t.Fatalf("remote %v (%+v), local %v: want the one snapshot, age-encrypted, with its image", ids, l, local)
			}
			obj, err := os.ReadFile(filepath.Join(srv.root, bucket, "node1", l.Snapshots[0].Data.Name))
			if err != nil {
				t.Fatal(err)
			}
			stored, err := os.ReadFile(n.storedFile(local[0]))
			if err != nil {
				t.Fatal(err)
			}
			checkEncrypted(t, l.Snapshots[0].Data.Name, obj, stored)
			if r := n.toolEnv(env, "verify", "--offhost", "--offhost-identity", id.path); r.code != 0 || !strings.Contains(r.stdout, "ok   "+local[0]+" (off-host) revision") || !strings.Contains(r.stdout, "decrypted") {
				t.Errorf("verify --offhost with the identity: exit %d, stdout %q", r.code, r.stdout)
			}
			if r := n.toolEnv(env, "verify", "--offhost"); r.code != 0 || !strings.Contains(r.stdout, "stored bytes only") {
				t.Errorf("verify --offhost without an identity: exit %d, stdout %q", r.code, r.stdout)
			}

			n.wipeDisk()
			wrong := newIdentity(t, n.Dir, "wrong.txt")
			for _, args := range [][]string{{"restore", "--offhost-identity", wrong.path}, {"restore"}} {
				if r := n.toolEnv(env, args...); r.code != 14 || !strings.Contains(r.stderr, "age identity") {
					t.Errorf("%v: exit %d, stderr %q; want 14 naming the age identity", args, r.code, tail(r.stderr, 400))
				}
				n.noMember()
			}
			r = n.toolEnv(env, "restore", "--offhost-identity", id.path)
			if r.code != 0 || !strings.Contains(r.stdout, "restored snapshot "+local[0]) || !strings.Contains(r.stdout, "fetched from the off-host copies") {
				t.Fatalf("restore from the target: exit %d, stdout %q", r.code, r.stdout)
			}
			n.startEtcd()
			if got := n.kv("check-many", "/registry/oh/", "300"); got != "ok 300" {
				t.Errorf("check-many after the restore from the target: %q", got)
			}
			n.kv("put", "/registry/after", "x")
			r = n.toolEnv(env, "backup")
			if !strings.Contains(r.stdout, "off-host: copied") {
				t.Fatalf("backup after the restore: stdout %q; want it copied", r.stdout)
			}
			ids, l = n.remoteIDs(env)
			if len(ids) != 2 || l.Snapshots[0].Snapshot.Seq <= l.Snapshots[1].Snapshot.Seq || ids[1] != local[0] {
				t.Errorf("remote after the next backup: %+v; want the new one after the restored one in the store's order", l.Snapshots)
			}
		})
	}
}

// While the server is down, backups succeed locally and warn; status shows
// the backlog and the error. Once it is back the next run, even one with
// nothing new to back up, sends the backlog in order. A server killed in the
// middle of an upload, wrong credentials, a missing bucket and a full server
// are clear errors that leave no copy listed and the local snapshots as they
// were.
func TestOffhostS3Outage(t *testing.T) {
	srv := startS3(t, "", false)
	n := newNode(t, testbed.NodeOptions{})
	bucket := srv.makeBucket(t)
	id := newIdentity(t, n.Dir, "identity.txt")
	env := n.s3Config(srv, "s3", srv.endpoint(), bucket, srv.secret, id.recipient, "")
	metrics := filepath.Join(n.Dir, "metrics.prom")
	env = append(env, "ETCD_RAMDISK_METRICS_FILE="+metrics)
	n.kv("put", "/registry/a", "1")
	n.mustToolEnv(env, "backup")

	srv.stop()
	for _, k := range []string{"b", "c"} {
		n.kv("put", "/registry/"+k, "1")
		r := n.toolEnv(env, "backup")
		if r.code != 0 || !strings.Contains(r.stdout, "good ") || !strings.Contains(r.stdout, "off-host: WARNING") || !strings.Contains(r.stderr, "off-host copy failed") {
			t.Fatalf("backup with the server down: exit %d, stdout %q; want a good local snapshot and a warning", r.code, r.stdout)
		}
	}
	oh, warns := n.offhostStatus(env)
	if oh.Backlog != 2 || !strings.Contains(oh.LastError, "unreachable") || !slices.ContainsFunc(warns, func(w string) bool { return strings.Contains(w, "off-host copy failing") }) {
		t.Errorf("status with the server down: %+v, warnings %q; want backlog 2 and the error", oh, warns)
	}
	if m, _ := os.ReadFile(metrics); !strings.Contains(string(m), `etcd_ramdisk_offhost_backlog{job="backup"} 2`) || !strings.Contains(string(m), `etcd_ramdisk_offhost_copy_ok{job="backup"} 0`) {
		t.Errorf("metrics with the server down:\n%s", m)
	}
	local := n.localIDsOldestFirst()
	if len(local) != 3 {
		t.Fatalf("local snapshots %v, want 3", local)
	}

	srv.start()
	r := n.mustToolEnv(env, "backup") // etcd unchanged: no new snapshot, the backlog goes
	if !strings.Contains(r.stdout, "unchanged") || !strings.Contains(r.stdout, "off-host: copied "+local[1]+", "+local[2]) {
		t.Fatalf("backup once the server is back: stdout %q; want %s then %s copied", r.stdout, local[1], local[2])
	}
	ids, _ := n.remoteIDs(env)
	if !slices.Equal(ids, []string{local[2], local[1], local[0]}) {
		t.Errorf("remote %v, want %v newest first", ids, local)
	}
	if oh, _ := n.offhostStatus(env); oh.Backlog != 0 || oh.LastError != "" || oh.LastCopyID != local[2] {
		t.Errorf("status after the catch-up: %+v", oh)
	}

	t.Run("killed mid-upload", func(t *testing.T) {
		n.kv("fill", "/registry/big/", "3000000")
		// The image archive goes first (this target is new to the state), so
		// past its size plus 256 KiB the server dies in the snapshot's data.
		archives, _ := filepath.Glob(filepath.Join(n.BackupDir(), "images", "*.oci.tar"))
		if len(archives) != 1 {
			t.Fatalf("image archives %v, want one", archives)
		}
		fi, err := os.Stat(archives[0])
		if err != nil {
			t.Fatal(err)
		}
		proxy := newKillProxy(t, srv, fi.Size()+256<<10)
		viaProxy := n.s3Config(srv, "proxy", "http://"+proxy.addr, bucket, srv.secret, id.recipient, "")
		r := n.toolEnv(viaProxy, "backup")
		if r.code != 0 || !strings.Contains(r.stdout, "off-host: WARNING") || !strings.Contains(r.stdout, "put snapshots/") || !proxy.fired.Load() {
			t.Fatalf("backup while the server dies: exit %d, stdout %q, server killed %v", r.code, r.stdout, proxy.fired.Load())
		}
		killed := n.localIDsOldestFirst()
		newest := killed[len(killed)-1]
		srv.start()
		if ids, l := n.remoteIDs(env); slices.Contains(ids, newest) || len(l.Problems) > 0 {
			t.Errorf("after the kill the target lists %v, problems %v; want no trace of %s", ids, l.Problems, newest)
		}
		n.mustTool("verify", newest)
		r = n.mustToolEnv(env, "backup")
		if !strings.Contains(r.stdout, "off-host: copied "+newest) {
			t.Errorf("the next run: stdout %q; want %s copied", r.stdout, newest)
		}
		if ids, _ := n.remoteIDs(env); len(ids) == 0 || ids[0] != newest {
			t.Errorf("remote %v after the retry", ids)
		}
	})

	t.Run("hung server", func(t *testing.T) {
		// Accepts connections and never answers: the copy's timeout, not the
		// server, decides when the backup ends.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				defer c.Close()
			}
		}()
		hung := n.s3Config(srv, "hung", "http://"+l.Addr().String(), bucket, srv.secret, id.recipient, "timeout: 3s\n")
		n.kv("put", "/registry/hung", "1")
		start := time.Now()
		r := n.toolEnv(hung, "backup")
		if took := time.Since(start); r.code != 0 || !strings.Contains(r.stdout, "good ") || !strings.Contains(r.stdout, "off-host: WARNING") || took > 30*time.Second {
			t.Errorf("backup to a hung server: exit %d after %s, stdout %q; want a good local snapshot and a warning within the 3s bound", r.code, took, r.stdout)
		}
	})

	t.Run("wrong credentials", func(t *testing.T) {
		bad := n.s3Config(srv, "bad", srv.endpoint(), bucket, "not-the-secret", id.recipient, "")
		if r := n.toolEnv(bad, "list", "--offhost"); r.code != 15 || !strings.Contains(r.stderr, "refused") {
			t.Errorf("list --offhost with a wrong secret: exit %d, stderr %q; want 15, refused", r.code, tail(r.stderr, 400))
		}
		n.kv("put", "/registry/cred", "1")
		before := len(n.localIDsOldestFirst())
		r := n.toolEnv(bad, "backup")
		if r.code != 0 || !strings.Contains(r.stdout, "refused access") || len(n.localIDsOldestFirst()) != before+1 {
			t.Errorf("backup with a wrong secret: exit %d, stdout %q; want a local snapshot and the refusal", r.code, r.stdout)
		}
	})

	t.Run("missing bucket", func(t *testing.T) {
		none := n.s3Config(srv, "none", srv.endpoint(), "no-such-bucket", srv.secret, id.recipient, "")
		if r := n.toolEnv(none, "list", "--offhost"); r.code != 15 || !strings.Contains(r.stderr, "bucket does not exist") {
			t.Errorf("list --offhost of a missing bucket: exit %d, stderr %q", r.code, tail(r.stderr, 400))
		}
		r := n.toolEnv(none, "backup")
		if r.code != 0 || !strings.Contains(r.stdout, "bucket does not exist") {
			t.Errorf("backup to a missing bucket: exit %d, stdout %q", r.code, r.stdout)
		}
	})

	t.Run("full server", func(t *testing.T) {
		root := filepath.Join(t.TempDir(), "small")
		mountTmpfs(t, root, "1m")
		small := startS3(t, root, false)
		b := small.makeBucket(t)
		full := n.s3Config(small, "full", small.endpoint(), b, small.secret, id.recipient, "")
		before := n.localIDsOldestFirst()
		r := n.toolEnv(full, "backup")
		if r.code != 0 || !strings.Contains(r.stdout, "off-host: WARNING") {
			t.Fatalf("backup to a full server: exit %d, stdout %q", r.code, r.stdout)
		}
		t.Logf("full server: %s", r.stdout)
		if ids, l := n.remoteIDs(full); len(ids) != 0 || len(l.Problems) != 0 {
			t.Errorf("full server lists %v, problems %v; want nothing", ids, l.Problems)
		}
		if after := n.localIDsOldestFirst(); !slices.Equal(after, before) {
			t.Errorf("local snapshots %v became %v", before, after)
		}
	})
}

// A NAS directory as the target, configured by install: its marker is
// written, copies are encrypted, remote retention keeps what its policy says
// and always the newest, a full share is a clear error with nothing partial
// left, and a node with a new disk restores from it.
func TestOffhostDirTarget(t *testing.T) {
	n := newNode(t, testbed.NodeOptions{Image: "registry.k8s.io/etcd:3.5.21-0"})
	nas := filepath.Join(n.Dir, "nas")
	if err := os.MkdirAll(nas, 0o700); err != nil {
		t.Fatal(err)
	}
	id := newIdentity(t, n.Dir, "identity.txt")
	r := n.hostTool("install", "--skip-backup", "--binary="+filepath.Join(binDir, "etcd-ramdisk"), "--offhost-dir", nas,
		"--offhost-recipient", id.recipient, "--offhost-keep-last", "2", "--offhost-keep-daily", "0", "--offhost-keep-weekly", "0", "--offhost-keep-monthly", "0")
	if r.code != 0 {
		t.Fatalf("install with the NAS target exited %d", r.code)
	}
	conf := filepath.Join(n.Dir, "etc-upper", "etcd-ramdisk", "offhost.yaml")
	if fi, err := os.Stat(conf); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("install wrote no root-only off-host config: %v %v", fi, err)
	}
	if _, err := os.Stat(filepath.Join(nas, "etcd-ramdisk-target")); err != nil {
		t.Fatalf("install left no marker in the NAS dir: %v", err)
	}
	env := []string{"ETCD_RAMDISK_OFFHOST_CONFIG=" + conf}
	for i := range 4 {
		n.kv("put-many", "/registry/d"+string(rune('a'+i))+"/", "50")
		n.mustToolEnv(env, "backup")
	}
	local := n.localIDsOldestFirst()
	if ids, _ := n.remoteIDs(env); !slices.Equal(ids, []string{local[3], local[2]}) {
		t.Errorf("remote after 4 copies with keep-last 2: %v, want %v", ids, []string{local[3], local[2]})
	}
	files, _ := filepath.Glob(filepath.Join(nas, "snapshots", "*.age"))
	for _, f := range files {
		obj, _ := os.ReadFile(f)
		stored, _ := os.ReadFile(n.storedFile(local[3]))
		checkEncrypted(t, f, obj, stored)
	}

	t.Run("keep nothing keeps the newest", func(t *testing.T) {
		zero := writePrivate(t, filepath.Join(n.Dir, "offhost"), "zero.yaml", "dir: "+nas+"\nrecipients: ["+id.recipient+"]\nkeep: {last: 0}\n")
		n.kv("put", "/registry/zero", "1")
		n.mustToolEnv([]string{"ETCD_RAMDISK_OFFHOST_CONFIG=" + zero}, "backup")
		ids, _ := n.remoteIDs(env)
		if all := n.localIDsOldestFirst(); !slices.Equal(ids, all[len(all)-1:]) {
			t.Errorf("remote with keep last 0: %v, want only the newest %s", ids, all[len(all)-1])
		}
	})

	t.Run("full share", func(t *testing.T) {
		small := filepath.Join(n.Dir, "small-nas")
		mountTmpfs(t, small, "256k")
		os.WriteFile(filepath.Join(small, "etcd-ramdisk-target"), nil, 0o600)
		cfg := writePrivate(t, filepath.Join(n.Dir, "offhost"), "small.yaml", "dir: "+small+"\nrecipients: ["+id.recipient+"]\n")
		n.kv("fill", "/registry/fill/", "1000000")
		before := len(n.localIDsOldestFirst())
		r := n.toolEnv([]string{"ETCD_RAMDISK_OFFHOST_CONFIG=" + cfg}, "backup")
		if r.code != 0 || !strings.Contains(r.stdout, "off-host target is full") || len(n.localIDsOldestFirst()) != before+1 {
			t.Errorf("backup to a full share: exit %d, stdout %q", r.code, r.stdout)
		}
		left, _ := filepath.Glob(filepath.Join(small, "snapshots", "*"))
		if len(left) != 0 {
			t.Errorf("a full share kept %v", left)
		}
	})

	n.mustToolEnv(env, "backup")
	ids, l := n.remoteIDs(env)
	if len(ids) != 2 {
		t.Fatalf("remote %v, want 2 copies", ids)
	}
	// The newest copy is damaged on the share: restore falls back to the older.
	obj := filepath.Join(nas, l.Snapshots[0].Data.Name)
	b, err := os.ReadFile(obj)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(obj, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if r := n.toolEnv(env, "verify", "--offhost", "--all", "--offhost-identity", id.path); r.code != 8 || !strings.Contains(r.stdout, "FAIL "+ids[0]) || !strings.Contains(r.stdout, "ok   "+ids[1]) {
		t.Errorf("verify --offhost --all with a damaged copy: exit %d, stdout %q; want 8, %s failing", r.code, r.stdout, ids[0])
	}
	n.wipeDisk()
	r = n.toolEnv(env, "restore", "--offhost-identity", id.path)
	if r.code != 0 || !strings.Contains(r.stdout, "restored snapshot "+ids[1]) || !strings.Contains(r.stdout, "skipped "+ids[0]+" (off-host)") {
		t.Fatalf("restore from the NAS with the newest copy damaged: exit %d, stdout %q; want %s, %s skipped", r.code, r.stdout, ids[1], ids[0])
	}
	if local := n.localIDsOldestFirst(); !slices.Equal(local, ids[1:]) {
		t.Errorf("backup dir after the restore holds %v, want only %s (the damaged copy is not kept)", local, ids[1])
	}
	n.startEtcd()
	for i := range 4 {
		if got := n.kv("check-many", "/registry/d"+string(rune('a'+i))+"/", "50"); got != "ok 50" {
			t.Errorf("check-many /registry/d%c/: %q", 'a'+i, got)
		}
	}
}
