package assets_test

import (
	"testing"

	"github.com/etcd-ramdisk/etcd-ramdisk/assets"
)

// The journal unit's ordering keeps the shutdown backup first and the
// journal last; every directive says why. (install's tests run
// systemd-analyze verify on the rendered unit.)
func TestJournalUnit(t *testing.T) {
	wantDirectives(t, assets.JournalUnit, map[string]string{
		"ExecStart": erd + "journal",
		// Started before kubelet, so stopped after kubelet's ExecStopPost
		// backup has stopped etcd: the journal sees etcd's last write.
		"Before":            "kubelet.service",
		"After":             "network.target",
		"RequiresMountsFor": "/var/lib/etcd-ramdisk",
		// No dependency that could keep kubelet down or restart the journal
		// with containerd.
		"Requires":       "",
		"BindsTo":        "",
		"PartOf":         "",
		"Restart":        "on-failure",
		"RestartSec":     "5s",
		"TimeoutStopSec": "15s",
		"WantedBy":       "multi-user.target",
	})
	if assets.JournalUnit.Path != "/etc/systemd/system/"+assets.JournalUnitName || assets.JournalUnit.Mode != 0o644 {
		t.Errorf("unit at %s mode %v", assets.JournalUnit.Path, assets.JournalUnit.Mode)
	}
}
