package hostfs

import (
	"os"
	"path/filepath"
	"testing"
)

func TestBootID(t *testing.T) {
	t.Setenv(BootIDEnv, "")
	if _, err := os.Stat("/proc/sys/kernel/random/boot_id"); err == nil && len(BootID()) != 36 {
		t.Errorf("BootID = %q, want the kernel's uuid", BootID())
	}
	t.Setenv(BootIDEnv, "test-boot")
	if got := BootID(); got != "test-boot" {
		t.Errorf("BootID with %s set = %q", BootIDEnv, got)
	}
	path := filepath.Join(t.TempDir(), "boot_id")
	if err := os.WriteFile(path, []byte("1b4e28ba-2fa1-11d2-883f-0016d3cca427\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := bootID(path); got != "1b4e28ba-2fa1-11d2-883f-0016d3cca427" {
		t.Errorf("bootID = %q", got)
	}
	if got := bootID(filepath.Join(t.TempDir(), "absent")); got != "" {
		t.Errorf("bootID of an absent file = %q, want \"\"", got)
	}
}
