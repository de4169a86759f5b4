package hostfs

import (
	"os"
	"sync"
	"testing"
)

// A live process's own directories are never its own sweep's victims, even
// where a second read of its start time differs from the one it named them
// with (qemu-user fakes a per-thread value in the process's own stat).
func TestOwnerAliveSelf(t *testing.T) {
	real, err := StartTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	saved := ownStart
	t.Cleanup(func() { ownStart = saved })
	named := real + 7 // what such an emulator showed when the name was made
	ownStart = sync.OnceValues(func() (uint64, error) { return named, nil })

	if !OwnerAlive(os.Getpid(), named) {
		t.Errorf("OwnerAlive(self, start it named its dirs with) = false: its live directory would be swept")
	}
	if OwnerAlive(os.Getpid(), named+1) {
		t.Errorf("OwnerAlive(self, another start) = true: a dead process with a reused pid would keep its directory")
	}
}
