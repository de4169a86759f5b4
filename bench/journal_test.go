package bench

import (
	"os"
	"testing"
	"time"
)

func TestOwnCounters(t *testing.T) {
	if _, err := cpuTime(os.Getpid()); err != nil {
		t.Error(err)
	}
	if hwm, err := statusKB(os.Getpid(), "VmHWM"); err != nil || hwm <= 0 {
		t.Errorf("VmHWM %d kB, %v", hwm, err)
	}
}

func TestLogTime(t *testing.T) {
	got, ok := logTime(`time=2026-12-06T07:14:14.129Z level=INFO msg="journal rotated to a newer snapshot" snapshot=x`)
	if want := time.Date(2026, 12, 6, 7, 14, 14, 129e6, time.UTC); !ok || !got.Equal(want) {
		t.Errorf("got %v %v, want %v", got, ok, want)
	}
	if _, ok := logTime("not a log line"); ok {
		t.Error("parsed a line without a time")
	}
}
