package etcdtool

import (
	"strings"
	"testing"

	"github.com/etcd-ramdisk/etcd-ramdisk/runtime/images"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
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
	// `etcdctl endpoint status -w json` of real etcd 3.6.16 and 3.5.21: the IDs
	// are JSON numbers, the first one above 2^63.
	for _, tc := range []struct {
		name, out string
		want      Status
		size      int64
	}{
		{"etcd 3.6.16", `[{"Endpoint":"127.0.0.1:23790","Status":{"header":{"cluster_id":14830667137242166833,"member_id":4604945885705123002,"revision":1,"raft_term":2},"version":"3.6.16","dbSize":20480,"leader":4604945885705123002,"raftIndex":4,"raftTerm":2,"raftAppliedIndex":4,"dbSizeInUse":16384,"storageVersion":"3.6.0","dbSizeQuota":2147483648,"downgradeInfo":{}}}]`,
			Status{1, "3.6.16", store.Identity{ClusterID: "cdd11d2f6160f631", MemberID: "3fe80de28f59b4ba"}}, 20480},
		{"etcd 3.5.21", `[{"Endpoint":"127.0.0.1:23790","Status":{"header":{"cluster_id":324952591200643719,"member_id":3319814642761637952,"revision":2,"raft_term":2},"version":"3.5.21","dbSize":20480,"leader":3319814642761637952,"raftIndex":5,"raftTerm":2,"raftAppliedIndex":5,"dbSizeInUse":16384}}]`,
			Status{2, "3.5.21", store.Identity{ClusterID: "48276a8f75b6a87", MemberID: "2e1259d415f2a040"}}, 20480},
		{"no IDs", `[{"Endpoint":"https://127.0.0.1:2379","Status":{"header":{"revision":4711},"version":"3.6.16","dbSize":28672}}]`, Status{Revision: 4711, Version: "3.6.16"}, 28672},
	} {
		got, size, err := parseEndpointStatus([]byte(tc.out))
		if err != nil || got != tc.want || size != tc.size {
			t.Errorf("%s: got %+v %d %v; want %+v %d", tc.name, got, size, err, tc.want, tc.size)
		}
	}
	if _, _, err := parseEndpointStatus([]byte(`[]`)); err == nil {
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
