package shm

import (
	"os"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// TestAThreadIsNoProcess: a thread's id answers kill(2) and has a /proc
// entry, but no process has it for its pid: a creator pid that names one of
// this process's threads is gone. (From a black-box tester: ringctl's own
// threads, numbered 2 to 6 as pid 1 of a new PID namespace, read as the
// creator.)
func TestAThreadIsNoProcess(t *testing.T) {
	if !ProcessAlive(uint32(os.Getpid())) {
		t.Fatal("this process reads as gone")
	}
	// Two goroutines locked to threads at once: at most one is on the
	// main thread, whose id is the pid.
	tids := make(chan int)
	release := make(chan struct{})
	defer close(release)
	for range 2 {
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			tids <- unix.Gettid()
			<-release
		}()
	}
	tid := <-tids
	if tid == os.Getpid() {
		tid = <-tids
	}
	if ProcessAlive(uint32(tid)) {
		t.Errorf("thread %d of process %d reads as a live process", tid, os.Getpid())
	}
}
