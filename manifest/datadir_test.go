package manifest

import "testing"

func TestDataDirLayout(t *testing.T) {
	if got := MemberDir("/var/lib/etcd"); got != "/var/lib/etcd/member" {
		t.Errorf("MemberDir = %q", got)
	}
	if got := DBPath("/var/lib/etcd/"); got != "/var/lib/etcd/member/snap/db" {
		t.Errorf("DBPath = %q", got)
	}
}
