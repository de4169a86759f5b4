package runtime

import (
	"testing"
)

// The sweep of leftover sidecars removes only those whose run is gone: a
// sidecar of a live run (a verify beside a backup) is left alone.
func TestOwnerGone(t *testing.T) {
	mine := sidecarLabels("verify")
	if mine[LabelOwner] == "" {
		t.Fatalf("sidecar labels %v name no owner", mine)
	}
	if ownerGone(mine) {
		t.Errorf("a sidecar of this live run counts as a leftover: %v", mine)
	}
	for _, l := range []map[string]string{
		{LabelSidecar: "verify"},                                     // an older version's: no owner
		{LabelSidecar: "verify", LabelOwner: "2147483646:1"},         // no such process
		{LabelSidecar: "verify", LabelOwner: mine[LabelOwner] + "1"}, // our pid, another start time
	} {
		if !ownerGone(l) {
			t.Errorf("labels %v: want a leftover", l)
		}
	}
}
