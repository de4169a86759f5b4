package manifest

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const (
	fixture127 = "testdata/kubeadm-1.27-etcd-3.5.9.yaml"
	fixture131 = "testdata/kubeadm-1.31-etcd-3.5.15.yaml"
	fixture134 = "testdata/kubeadm-1.34-etcd-3.6.4.yaml"
)

// readFixture returns a kubeadm manifest as text so cases can derive
// variants from a real one instead of hand-writing whole pods.
func readFixture(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// edit applies old→new replacements and fails if one does not match, so a
// fixture change cannot silently turn a case into a no-op.
func edit(t *testing.T, doc string, pairs ...string) string {
	t.Helper()
	for i := 0; i+1 < len(pairs); i += 2 {
		if !strings.Contains(doc, pairs[i]) {
			t.Fatalf("edit: %q not in document", pairs[i])
		}
		doc = strings.Replace(doc, pairs[i], pairs[i+1], 1)
	}
	return doc
}

func mustParse(t *testing.T, doc string) *Etcd {
	t.Helper()
	e, err := Parse([]byte(doc), "etcd.yaml")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return e
}

func kubeadmMember() Member {
	return Member{
		Name:                     "cp1",
		DataDir:                  "/var/lib/etcd",
		HostDataDir:              "/var/lib/etcd",
		ListenClientURLs:         []string{"https://127.0.0.1:2379", "https://192.168.56.10:2379"},
		AdvertiseClientURLs:      []string{"https://192.168.56.10:2379"},
		ListenPeerURLs:           []string{"https://192.168.56.10:2380"},
		InitialAdvertisePeerURLs: []string{"https://192.168.56.10:2380"},
		InitialCluster:           "cp1=https://192.168.56.10:2380",
		InitialClusterToken:      "etcd-cluster",
		InitialClusterState:      "new",
		CertFile:                 "/etc/kubernetes/pki/etcd/server.crt",
		KeyFile:                  "/etc/kubernetes/pki/etcd/server.key",
		TrustedCAFile:            "/etc/kubernetes/pki/etcd/ca.crt",
		PeerCertFile:             "/etc/kubernetes/pki/etcd/peer.crt",
		PeerKeyFile:              "/etc/kubernetes/pki/etcd/peer.key",
		PeerTrustedCAFile:        "/etc/kubernetes/pki/etcd/ca.crt",
	}
}

func TestLoadKubeadmManifests(t *testing.T) {
	wantMounts := []Mount{
		{Name: "etcd-data", ContainerPath: "/var/lib/etcd", HostPath: "/var/lib/etcd"},
		{Name: "etcd-certs", ContainerPath: "/etc/kubernetes/pki/etcd", HostPath: "/etc/kubernetes/pki/etcd"},
	}
	tests := []struct {
		file  string
		image string
	}{
		{fixture127, "registry.k8s.io/etcd:3.5.9-0"},
		{fixture131, "registry.k8s.io/etcd:3.5.15-0"},
		{fixture134, "registry.k8s.io/etcd:3.6.4-0"},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.file), func(t *testing.T) {
			e, err := Load(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			if e.Path != tt.file || e.PodName != "etcd" || e.Namespace != "kube-system" || e.Image != tt.image {
				t.Errorf("got path=%q pod=%q ns=%q image=%q", e.Path, e.PodName, e.Namespace, e.Image)
			}
			if !reflect.DeepEqual(e.Member, kubeadmMember()) {
				t.Errorf("Member:\n got %+v\nwant %+v", e.Member, kubeadmMember())
			}
			if !reflect.DeepEqual(e.Mounts, wantMounts) {
				t.Errorf("Mounts = %+v", e.Mounts)
			}
			// Both spellings must land on the same key.
			for k, v := range map[string]string{
				"watch-progress-notify-interval": "5s",
				"snapshot-count":                 "10000",
				"listen-metrics-urls":            "http://127.0.0.1:2381",
				"client-cert-auth":               "true",
			} {
				if e.Flags[k] != v {
					t.Errorf("Flags[%q] = %q, want %q", k, e.Flags[k], v)
				}
			}
			if g := e.FeatureGates(); !reflect.DeepEqual(g, map[string]bool{"InitialCorruptCheck": true}) {
				t.Errorf("FeatureGates = %v", g)
			}
			if u, err := e.LoopbackClientURL(); err != nil || u != "https://127.0.0.1:2379" {
				t.Errorf("LoopbackClientURL = %q, %v", u, err)
			}
			cert, key := e.HealthcheckClientCert()
			if cert != "/etc/kubernetes/pki/etcd/healthcheck-client.crt" || key != "/etc/kubernetes/pki/etcd/healthcheck-client.key" {
				t.Errorf("HealthcheckClientCert = %q, %q", cert, key)
			}
		})
	}
}

func TestParseVariants(t *testing.T) {
	base := readFixture(t, fixture131)
	tests := []struct {
		name  string
		doc   string
		check func(t *testing.T, e *Etcd)
	}{
		{
			name: "data hostPath differs from container path",
			doc:  edit(t, base, "      path: /var/lib/etcd\n", "      path: /mnt/fast/etcd\n"),
			check: func(t *testing.T, e *Etcd) {
				if e.Member.DataDir != "/var/lib/etcd" || e.Member.HostDataDir != "/mnt/fast/etcd" {
					t.Errorf("DataDir=%q HostDataDir=%q", e.Member.DataDir, e.Member.HostDataDir)
				}
			},
		},
		{
			name: "data-dir below the mount point",
			doc: edit(t, base, "--data-dir=/var/lib/etcd", "--data-dir=/var/lib/etcd/member-data",
				"      path: /var/lib/etcd\n", "      path: /mnt/fast/etcd\n"),
			check: func(t *testing.T, e *Etcd) {
				if e.Member.HostDataDir != "/mnt/fast/etcd/member-data" {
					t.Errorf("HostDataDir = %q", e.Member.HostDataDir)
				}
			},
		},
		{
			name: "subPath",
			doc:  edit(t, base, "    - mountPath: /var/lib/etcd\n", "    - mountPath: /var/lib/etcd\n      subPath: cp1\n"),
			check: func(t *testing.T, e *Etcd) {
				if e.Member.HostDataDir != "/var/lib/etcd/cp1" {
					t.Errorf("HostDataDir = %q", e.Member.HostDataDir)
				}
			},
		},
		{
			name: "flags split between command and args, space-separated values",
			doc: edit(t, base,
				"    - --advertise-client-urls=https://192.168.56.10:2379\n", "    args:\n    - --advertise-client-urls\n    - https://192.168.56.10:2379\n",
				"    - --name=cp1\n", "    - --name\n    - cp1\n",
				"    - etcd\n", "    - etcd\n    - --quota-backend-bytes\n    - \"8589934592\"\n    - --client-cert-auth\n"),
			check: func(t *testing.T, e *Etcd) {
				want := kubeadmMember()
				want.QuotaBackendBytes = 8 << 30
				if !reflect.DeepEqual(e.Member, want) {
					t.Errorf("Member:\n got %+v\nwant %+v", e.Member, want)
				}
				if e.Flags["client-cert-auth"] != "true" {
					t.Errorf("client-cert-auth = %q", e.Flags["client-cert-auth"])
				}
			},
		},
		{
			name: "args only, image entrypoint is etcd",
			doc:  edit(t, base, "  - command:\n    - etcd\n", "  - args:\n"),
			check: func(t *testing.T, e *Etcd) {
				if !reflect.DeepEqual(e.Member, kubeadmMember()) {
					t.Errorf("Member = %+v", e.Member)
				}
			},
		},
		{
			name: "quota and explicit token and state",
			doc: edit(t, base, "    - --name=cp1\n",
				"    - --name=cp1\n    - --quota-backend-bytes=8589934592\n    - --initial-cluster-token=tok\n    - --initial-cluster-state=existing\n"),
			check: func(t *testing.T, e *Etcd) {
				m := e.Member
				if m.QuotaBackendBytes != 8<<30 || m.InitialClusterToken != "tok" || m.InitialClusterState != "existing" {
					t.Errorf("quota=%d token=%q state=%q", m.QuotaBackendBytes, m.InitialClusterToken, m.InitialClusterState)
				}
			},
		},
		{
			name: "other member name and IPv6 address",
			doc: strings.NewReplacer(
				"cp1", "node-b",
				"https://127.0.0.1:2379", "https://[::1]:2379",
				"192.168.56.10", "[fd00::b]",
			).Replace(base),
			check: func(t *testing.T, e *Etcd) {
				m := e.Member
				if m.Name != "node-b" || m.InitialCluster != "node-b=https://[fd00::b]:2380" {
					t.Errorf("Name=%q InitialCluster=%q", m.Name, m.InitialCluster)
				}
				if u, err := e.LoopbackClientURL(); err != nil || u != "https://[::1]:2379" {
					t.Errorf("LoopbackClientURL = %q, %v", u, err)
				}
			},
		},
		{
			name: "binary by full path, container not named etcd",
			doc:  edit(t, base, "    - etcd\n", "    - /usr/local/bin/etcd\n", "    name: etcd\n    readinessProbe", "    name: member\n    readinessProbe"),
			check: func(t *testing.T, e *Etcd) {
				if e.Member.Name != "cp1" {
					t.Errorf("Name = %q", e.Member.Name)
				}
			},
		},
		{
			name: "single-dash flags and unknown flags are kept",
			doc: edit(t, base, "    - --name=cp1\n",
				"    - -name=cp1\n    - --some-future-flag=x\n    - --future-bool\n    - --future-spaced\n    - v\n"),
			check: func(t *testing.T, e *Etcd) {
				want := map[string]string{"name": "cp1", "some-future-flag": "x", "future-bool": "true", "future-spaced": "v"}
				for k, v := range want {
					if e.Flags[k] != v {
						t.Errorf("Flags[%q] = %q, want %q", k, e.Flags[k], v)
					}
				}
			},
		},
		{
			name: "wal-dir on its own volume",
			doc: edit(t, base, "    - --name=cp1\n", "    - --name=cp1\n    - --wal-dir=/var/lib/etcd-wal\n",
				"    - mountPath: /var/lib/etcd\n", "    - mountPath: /var/lib/etcd-wal\n      name: wal\n    - mountPath: /var/lib/etcd\n",
				"  volumes:\n", "  volumes:\n  - hostPath:\n      path: /mnt/wal\n    name: wal\n"),
			check: func(t *testing.T, e *Etcd) {
				if e.Member.WALDir != "/var/lib/etcd-wal" || e.Member.HostWALDir != "/mnt/wal" {
					t.Errorf("WALDir=%q HostWALDir=%q", e.Member.WALDir, e.Member.HostWALDir)
				}
			},
		},
		{
			name: "unused broken mount is tolerated",
			doc:  edit(t, base, "    volumeMounts:\n", "    volumeMounts:\n    - mountPath: /tmp/cache\n      name: cache\n"),
			check: func(t *testing.T, e *Etcd) {
				if len(e.Mounts) != 2 {
					t.Errorf("Mounts = %+v", e.Mounts)
				}
			},
		},
		{
			name: "empty namespace defaults like the kubelet",
			doc:  edit(t, base, "  namespace: kube-system\n", ""),
			check: func(t *testing.T, e *Etcd) {
				if e.Namespace != "default" {
					t.Errorf("Namespace = %q", e.Namespace)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, mustParse(t, tt.doc))
		})
	}
}

func TestParseErrors(t *testing.T) {
	base := readFixture(t, fixture134)
	deployment := "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: etcd\nspec:\n  replicas: 1\n"
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{"empty file", "", "parse: empty document"},
		{"only whitespace", "\n  \n", "parse: empty document"},
		{"bad yaml", "apiVersion: v1\nkind: Pod\nspec: [\n", "parse: "},
		{"wrong types", "apiVersion: v1\nkind: Pod\nspec:\n  containers: 3\n", "parse: "},
		{"deployment", deployment, `parse: document is apps/v1 "Deployment", want v1 Pod`},
		{"no kind", "metadata:\n  name: etcd\n", `parse: document is (no apiVersion) "", want v1 Pod`},
		{"no etcd container", edit(t, base, "    - etcd\n", "    - kube-apiserver\n", "    name: etcd\n    readinessProbe", "    name: api\n    readinessProbe"), "no etcd container"},
		{"etcd container runs a shell", edit(t, base, "    - etcd\n", "    - /bin/sh\n"), `container "etcd" runs "/bin/sh", not etcd`},
		{"missing --name", edit(t, base, "    - --name=cp1\n", ""), "missing --name"},
		{"missing --data-dir", edit(t, base, "    - --data-dir=/var/lib/etcd\n", ""), "missing --data-dir"},
		{"--name without value", edit(t, base, "    - --name=cp1\n", "    - --name\n"), "flag --name needs a value"},
		{"positional argument", edit(t, base, "    - --client-cert-auth=true\n", "    - --client-cert-auth\n    - \"true\"\n"), `unexpected argument "true"`},
		{"data-dir outside volumes", edit(t, base, "--data-dir=/var/lib/etcd", "--data-dir=/x"), "--data-dir /x is not inside any volume"},
		{"relative data-dir", edit(t, base, "--data-dir=/var/lib/etcd", "--data-dir=cp1.etcd"), "--data-dir cp1.etcd is not an absolute path"},
		{"cert outside volumes", edit(t, base, "--cert-file=/etc/kubernetes/pki/etcd/server.crt", "--cert-file=/etc/ssl/server.crt"), "--cert-file /etc/ssl/server.crt is not inside any volume"},
		{"data volume not hostPath", edit(t, base, "  - hostPath:\n      path: /var/lib/etcd\n      type: DirectoryOrCreate\n", "  - emptyDir:\n      medium: Memory\n"),
			`--data-dir /var/lib/etcd is on mount /var/lib/etcd: volume "etcd-data" is not a hostPath`},
		{"mount names missing volume", edit(t, base, "    name: etcd-data\nstatus", "    name: other\nstatus"),
			`--data-dir /var/lib/etcd is on mount /var/lib/etcd: volumeMount "etcd-data" names no volume`},
		{"bad quota", edit(t, base, "    - --name=cp1\n", "    - --name=cp1\n    - --quota-backend-bytes=8G\n"), `--quota-backend-bytes "8G" is not a non-negative integer`},
		{"bad feature gates", edit(t, base, "InitialCorruptCheck=true", "InitialCorruptCheck=yes"), `--feature-gates: InitialCorruptCheck: "yes" is not a boolean`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc), "/etc/kubernetes/manifests/etcd.yaml")
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			const prefix = "manifest /etc/kubernetes/manifests/etcd.yaml: "
			if !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want %q after %q", err, tt.want, prefix)
			}
		})
	}
}

func TestParseTwoUnnamedEtcdContainers(t *testing.T) {
	doc := `apiVersion: v1
kind: Pod
spec:
  containers:
  - name: a
    command: [etcd, --name=a, --data-dir=/d]
  - name: b
    command: [/usr/local/bin/etcd, --name=b, --data-dir=/d]
`
	_, err := Parse([]byte(doc), "x.yaml")
	if err == nil || !strings.Contains(err.Error(), "2 containers run etcd and none is named etcd") {
		t.Fatalf("err = %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "etcd.yaml")
	_, err := Load(missing)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want fs.ErrNotExist", err)
	}
	if strings.Count(err.Error(), missing) != 1 {
		t.Errorf("error should name the file once: %q", err)
	}

	empty := filepath.Join(dir, "empty.yaml")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(empty); err == nil || !strings.HasPrefix(err.Error(), "manifest "+empty+": parse:") {
		t.Errorf("err = %v", err)
	}
}

func TestHostPath(t *testing.T) {
	e := &Etcd{
		Path: "m.yaml",
		Mounts: []Mount{
			{Name: "root", ContainerPath: "/etc/kubernetes", HostPath: "/srv/k8s"},
			{Name: "pki", ContainerPath: "/etc/kubernetes/pki", HostPath: "/secure/pki"},
			{Name: "data", ContainerPath: "/var/lib/etcd", HostPath: "/mnt/fast/etcd"},
		},
		unmapped: []unmappedMount{{containerPath: "/etc/kubernetes/pki/etcd", reason: `volume "s" is not a hostPath`}},
	}
	tests := []struct {
		in, want, wantErr string
	}{
		{in: "/var/lib/etcd", want: "/mnt/fast/etcd"},
		{in: "/var/lib/etcd/member/snap/db", want: "/mnt/fast/etcd/member/snap/db"},
		{in: "/var/lib/etcd/../etcd/x", want: "/mnt/fast/etcd/x"},
		{in: "/etc/kubernetes/pki/ca.crt", want: "/secure/pki/ca.crt"},
		{in: "/etc/kubernetes/admin.conf", want: "/srv/k8s/admin.conf"},
		{in: "/var/lib/etcd2", wantErr: "manifest m.yaml: /var/lib/etcd2 is not inside any volume"},
		{in: "/etc/kubernetes/pki/etcd/ca.crt", wantErr: `manifest m.yaml: /etc/kubernetes/pki/etcd/ca.crt is on mount /etc/kubernetes/pki/etcd: volume "s" is not a hostPath`},
		{in: "etcd", wantErr: "manifest m.yaml: etcd is not an absolute path"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := e.HostPath(tt.in)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("HostPath(%q) = %q, %v; want error %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("HostPath(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestLoopbackClientURL(t *testing.T) {
	tests := []struct {
		name string
		urls []string
		want string
	}{
		{"kubeadm ipv4", []string{"https://127.0.0.1:2379", "https://10.0.0.1:2379"}, "https://127.0.0.1:2379"},
		{"prefers 127.0.0.1 over ::1 and localhost", []string{"https://[::1]:2379", "https://localhost:2379", "https://127.0.0.1:2379"}, "https://127.0.0.1:2379"},
		{"localhost over ::1", []string{"https://[::1]:2379", "https://localhost:2379"}, "https://localhost:2379"},
		{"ipv6 only", []string{"https://[fd00::1]:2379", "https://[::1]:2379"}, "https://[::1]:2379"},
		{"plain http", []string{"http://127.0.0.1:2379"}, "http://127.0.0.1:2379"},
		{"wildcard", []string{"https://10.0.0.1:2379", "https://0.0.0.0:2379"}, "https://127.0.0.1:2379"},
		{"ipv6 wildcard", []string{"https://[::]:2379"}, "https://[::1]:2379"},
		{"unix socket ignored", []string{"unix://127.0.0.1:2379", "https://[::1]:2379"}, "https://[::1]:2379"},
		{"none", []string{"https://10.0.0.1:2379"}, ""},
		{"empty", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &Etcd{Path: "m.yaml", Member: Member{ListenClientURLs: tt.urls}}
			got, err := e.LoopbackClientURL()
			if tt.want == "" {
				if err == nil || !strings.HasPrefix(err.Error(), "manifest m.yaml: no loopback url") {
					t.Fatalf("got %q, %v; want error", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestFeatureGates(t *testing.T) {
	tests := []struct {
		name  string
		flags map[string]string
		want  map[string]bool
	}{
		{"none", map[string]string{}, map[string]bool{}},
		{"etcd 3.5 experimental flags", map[string]string{"initial-corrupt-check": "true", "compact-hash-check-enabled": "false"},
			map[string]bool{"InitialCorruptCheck": true, "CompactHashCheck": false}},
		{"etcd 3.6 gates", map[string]string{"feature-gates": "InitialCorruptCheck=true, CompactHashCheck=false"},
			map[string]bool{"InitialCorruptCheck": true, "CompactHashCheck": false}},
		{"explicit gate wins", map[string]string{"initial-corrupt-check": "true", "feature-gates": "InitialCorruptCheck=false"},
			map[string]bool{"InitialCorruptCheck": false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (&Etcd{Flags: tt.flags}).FeatureGates(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    map[string]string
		wantErr string
	}{
		{"experimental prefix dropped", []string{"--experimental-initial-corrupt-check=true", "--experimental-watch-progress-notify-interval", "5s"},
			map[string]string{"initial-corrupt-check": "true", "watch-progress-notify-interval": "5s"}, ""},
		{"bare bool does not eat next flag", []string{"--client-cert-auth", "--name=a"},
			map[string]string{"client-cert-auth": "true", "name": "a"}, ""},
		{"last wins", []string{"--name=a", "--name=b"}, map[string]string{"name": "b"}, ""},
		{"feature gates accumulate", []string{"--feature-gates=A=true", "--feature-gates", "B=false"},
			map[string]string{"feature-gates": "A=true,B=false"}, ""},
		{"empty value kept", []string{"--initial-cluster-token="}, map[string]string{"initial-cluster-token": ""}, ""},
		{"double dash terminator", []string{"--name=a", "--"}, nil, `unexpected argument "--"`},
		{"triple dash", []string{"---name=a"}, nil, `unexpected argument "---name=a"`},
		{"no name", []string{"--=a"}, nil, `malformed flag "--=a"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseFlags(tt.args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}
