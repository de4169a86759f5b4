package etcdtool

import (
	"strings"
	"testing"

	"github.com/etcd-ramdisk/etcd-ramdisk/runtime/images"
)

func TestParseSnapshotStatus(t *testing.T) {
	tests := []struct {
		name    string
		out     string
		wantRev int64
		wantErr string
	}{
		{"etcdutl 3.6", `{"hash":3472363211,"revision":392,"totalKey":12,"totalSize":20480,"version":"3.6.0"}`, 392, ""},
		{"etcdctl 3.5 with a deprecation warning first", "Deprecated: Use `etcdutl snapshot status` instead.\n\n{\"hash\":1,\"revision\":7,\"totalKey\":3,\"totalSize\":20480,\"version\":\"3.5.0\"}\n", 7, ""},
		{"fresh cluster with no keys", `{"hash":1,"revision":1,"totalKey":0,"totalSize":20480}`, 1, ""},
		{"zero revision", `{"hash":1,"revision":0,"totalKey":1,"totalSize":20480}`, 0, "looks empty"},
		{"zero size", `{"hash":1,"revision":5,"totalKey":1,"totalSize":0}`, 0, "looks empty"},
		{"not json", "Error: snapshot file has wrong size", 0, "parse snapshot status"},
		{"empty", "", 0, "parse snapshot status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := parseSnapshotStatus([]byte(tt.out))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if st.Revision != tt.wantRev {
				t.Errorf("revision = %d, want %d", st.Revision, tt.wantRev)
			}
		})
	}
}

func TestParseEndpointStatus(t *testing.T) {
	out := `[{"Endpoint":"https://127.0.0.1:2379","Status":{"header":{"cluster_id":1,"member_id":2,"revision":4711,"raft_term":2},"version":"3.6.16","dbSize":28672,"leader":2,"raftIndex":5,"raftTerm":2}}]`
	rev, ver, size, err := parseEndpointStatus([]byte(out))
	if err != nil || rev != 4711 || ver != "3.6.16" || size != 28672 {
		t.Fatalf("got %d %q %d %v", rev, ver, size, err)
	}
	if _, _, _, err := parseEndpointStatus([]byte(`[]`)); err == nil {
		t.Error("empty list accepted")
	}
}

func TestToolChoice(t *testing.T) {
	with := images.Tools{Etcdctl: "/usr/local/bin/etcdctl", Etcdutl: "/usr/local/bin/etcdutl"}
	without := images.Tools{Etcdctl: "/usr/local/bin/etcdctl"}
	if got := statusArgs(with, "/s.db")[0]; got != with.Etcdutl {
		t.Errorf("status with etcdutl runs %s", got)
	}
	if got := statusArgs(without, "/s.db")[0]; got != without.Etcdctl {
		t.Errorf("status without etcdutl runs %s", got)
	}
	tls := tlsArgs{Endpoint: "https://127.0.0.1:2379", CACert: "/pki/ca.crt", Cert: "/pki/hc.crt", Key: "/pki/hc.key"}
	got := strings.Join(saveArgs(without, tls, "/var/lib/etcd/x.db"), " ")
	for _, want := range []string{"--endpoints=https://127.0.0.1:2379", "--cacert=/pki/ca.crt", "--cert=/pki/hc.crt", "--key=/pki/hc.key", "snapshot save /var/lib/etcd/x.db"} {
		if !strings.Contains(got, want) {
			t.Errorf("save args %q lack %q", got, want)
		}
	}
}
