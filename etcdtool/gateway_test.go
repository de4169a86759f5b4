package etcdtool

import "testing"

func TestParseGatewayStatus(t *testing.T) {
	for _, tc := range []struct {
		name    string
		body    string
		rev     int64
		version string
		ok      bool
	}{
		{"etcd 3.6.16", `{"header":{"cluster_id":"13807887513569586722", "member_id":"1886424282058903940", "revision":"4021", "raft_term":"2"}, "version":"3.6.16", "dbSize":"20480", "leader":"1886424282058903940", "raftIndex":"4", "raftTerm":"2", "raftAppliedIndex":"4", "dbSizeInUse":"16384", "storageVersion":"3.6.0", "dbSizeQuota":"2147483648", "downgradeInfo":{}}`, 4021, "3.6.16", true},
		// proto3 leaves out a zero revision
		{"no revision", `{"header":{"cluster_id":"1"}, "version":"3.5.21"}`, 0, "3.5.21", true},
		{"an error answer", `{"code":5, "message":"Not Found"}`, 0, "", false},
		{"not JSON", `404 page not found`, 0, "", false},
		{"revision not a number", `{"header":{"revision":"x"}, "version":"3.6.16"}`, 0, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rev, version, err := parseGatewayStatus([]byte(tc.body))
			if (err == nil) != tc.ok || rev != tc.rev || version != tc.version {
				t.Errorf("got %d %q %v; want %d %q ok=%v", rev, version, err, tc.rev, tc.version, tc.ok)
			}
		})
	}
}
