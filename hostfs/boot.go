package hostfs

import (
	"os"
	"strings"
)

// BootIDEnv is a test-only override of the boot id: the test bed's reboots
// do not reboot the kernel. Never set it on a real node.
const BootIDEnv = "ETCD_RAMDISK_TEST_BOOT_ID"

// BootID returns the kernel's id of the running boot, or "" when it cannot be
// read (not Linux).
func BootID() string {
	if id := os.Getenv(BootIDEnv); id != "" {
		return id
	}
	return bootID("/proc/sys/kernel/random/boot_id")
}

func bootID(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
