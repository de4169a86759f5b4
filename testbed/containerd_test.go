package testbed

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// The child of TestAliveUntilAllThreadsExit: threads and memory that take a
// while to tear down, then it waits to be killed.
func init() {
	if os.Getenv("ERD_TESTBED_ALIVE_CHILD") != "1" {
		return
	}
	if _, err := syscall.Mmap(-1, 0, 512<<20, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE|syscall.MAP_POPULATE); err != nil {
		panic(err)
	}
	for i := 0; i < 8; i++ {
		go func() {
			runtime.LockOSThread()
			for {
				time.Sleep(time.Millisecond)
			}
		}()
	}
	fmt.Println("ready")
	select {}
}

// A SIGKILLed multi-threaded process (a shim, containerd) shows "Z" as soon
// as its leader has exited, while its other threads still tear down its
// memory and still hold its files and mounts: alive must not call it gone
// until they have exited too.
func TestAliveUntilAllThreadsExit(t *testing.T) {
	for trial := 0; trial < 12; trial++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "ERD_TESTBED_ALIVE_CHILD=1")
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }) // after a failure
		if _, err := out.Read(make([]byte, 6)); err != nil {
			t.Fatal(err)
		}
		pid := cmd.Process.Pid
		if !alive(pid) {
			t.Fatalf("trial %d: a running process is not alive", trial)
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		// Not reaped yet: it ends a zombie with its leader alone.
		deadline := time.Now().Add(30 * time.Second)
		for alive(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("trial %d: still alive 30 s after SIGKILL", trial)
			}
		}
		if tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid)); err == nil && len(tasks) > 1 {
			t.Fatalf("trial %d: alive said gone with %d threads still exiting", trial, len(tasks))
		}
	}
}
