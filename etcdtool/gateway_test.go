package etcdtool

import (
	"strings"
	"testing"

	"github.com/etcd-ramdisk/etcd-ramdisk/manifest"

	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// Answers captured from real etcd binaries (POST /v3/maintenance/status -d '{}').
const (
	// etcd 3.6.16 started with --initial-cluster-token other-token: a cluster
	// ID above 2^63.
	gateway3616 = `{"header":{"cluster_id":"14830667137242166833", "member_id":"4604945885705123002", "revision":"6", "raft_term":"2"}, "version":"3.6.16", "dbSize":"20480", "leader":"4604945885705123002", "raftIndex":"9", "raftTerm":"2", "raftAppliedIndex":"9", "dbSizeInUse":"16384", "storageVersion":"3.6.0", "dbSizeQuota":"2147483648", "downgradeInfo":{}}`
	gateway3521 = `{"header":{"cluster_id":"324952591200643719","member_id":"3319814642761637952","revision":"2","raft_term":"2"},"version":"3.5.21","dbSize":"20480","leader":"3319814642761637952","raftIndex":"5","raftTerm":"2","raftAppliedIndex":"5","dbSizeInUse":"16384"}`
)

func TestParseGatewayStatus(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		want Status
		ok   bool
	}{
		{"etcd 3.6.16", gateway3616, Status{6, "3.6.16", store.Identity{ClusterID: "cdd11d2f6160f631", MemberID: "3fe80de28f59b4ba"}}, true},
		{"etcd 3.5.21", gateway3521, Status{2, "3.5.21", store.Identity{ClusterID: "48276a8f75b6a87", MemberID: "2e1259d415f2a040"}}, true},
		// proto3 leaves out a zero revision; an ID left out stays unknown
		{"no revision", `{"header":{"cluster_id":"1"}, "version":"3.5.21"}`, Status{0, "3.5.21", store.Identity{ClusterID: "1"}}, true},
		{"an error answer", `{"code":5, "message":"Not Found"}`, Status{}, false},
		{"not JSON", `404 page not found`, Status{}, false},
		{"revision not a number", `{"header":{"revision":"x"}, "version":"3.6.16"}`, Status{}, false},
		{"cluster id not a number", `{"header":{"cluster_id":"x", "revision":"5"}, "version":"3.6.16"}`, Status{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseGatewayStatus([]byte(tc.body))
			if (err == nil) != tc.ok || got != tc.want {
				t.Errorf("got %+v %v; want %+v ok=%v", got, err, tc.want, tc.ok)
			}
		})
	}
}

// ClientConfig reads the CA and the healthcheck client certificate where the
// host keeps them, and says which file it could not read. (The journal's
// tests reach a TLS etcd through it.)
func TestClientConfigNamesMissingFile(t *testing.T) {
	m, err := manifest.Load("../manifest/testdata/kubeadm-1.34-etcd-3.6.4.yaml")
	if err != nil {
		t.Fatal(err)
	}
	pki := t.TempDir() // the host's /etc/kubernetes/pki/etcd, empty
	for i := range m.Mounts {
		if m.Mounts[i].ContainerPath == "/etc/kubernetes/pki/etcd" {
			m.Mounts[i].HostPath = pki
		}
	}
	_, _, err = ClientConfig(m)
	if err == nil || !strings.Contains(err.Error(), "etcd client certificate") || !strings.Contains(err.Error(), pki+"/ca.crt") {
		t.Errorf("ClientConfig without the CA: %v", err)
	}
}
