package bench

import "testing"

func TestParseSteps(t *testing.T) {
	stderr := `time=2026-12-02T17:00:00Z level=INFO msg="found etcd" container=abc
time=2026-12-02T17:00:00Z level=DEBUG msg=step op=backup step="etcdctl snapshot save" seconds=0.25
time=2026-12-02T17:00:00Z level=DEBUG msg=step op=backup step=prune seconds=0.001
time=2026-12-02T17:00:00Z level=DEBUG msg=step op=backup step=prune seconds=0.002
`
	names, secs := parseSteps(stderr)
	if len(names) != 2 || names[0] != "etcdctl snapshot save" || secs["etcdctl snapshot save"] != 0.25 || secs["prune"] != 0.003 {
		t.Errorf("parseSteps = %v %v", names, secs)
	}
}
