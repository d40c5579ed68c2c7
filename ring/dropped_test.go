package ring_test

import (
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/shmring/shmring/ring"
)

// A Ring dropped unclosed, with its handles, gives back what it held once
// the collector finds it: its role locks (another Ring on the file takes
// the role) and its mapping (for a memfd ring, the ring's memory, which
// nothing else could ever free while the process lives).
func TestADroppedRingGivesBackItsRolesAndItsMapping(t *testing.T) {
	label := ring.UniqueName(t)
	keep, err := ring.Create(label, ring.Options{Kind: ring.SPSC, SlotSize: 64 << 10, Slots: 16, Memfd: true})
	if err != nil {
		t.Fatal(err)
	}
	defer keep.Close()
	mapped := func() int { return mappingsOf(t, "/memfd:"+label+" ") }
	before := mapped() // keep's own mapping

	// A second Ring on the same memory, holding the producer role, dropped.
	func() {
		dropped, err := ring.OpenFile(keep.File())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dropped.Producer(); err != nil {
			t.Fatal(err)
		}
	}()
	if n := mapped(); n <= before {
		t.Fatalf("the second Ring's mapping is not in /proc/self/maps (%d, %d before it)", n, before)
	}
	if _, err := keep.Producer(); !errors.Is(err, ring.ErrBusy) {
		t.Fatalf("Producer while the dropped Ring holds the role = %v, want ErrBusy", err)
	}

	deadline := time.Now().Add(30 * time.Second) // a bound on waiting, not a measure
	for mapped() > before {
		if time.Now().After(deadline) {
			t.Fatalf("the dropped Ring's mapping is still there after 30 s of collections: %d mappings of the memfd, want %d", mapped(), before)
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond) // cleanups run on their own goroutine
	}
	p, err := keep.Producer()
	if err != nil {
		t.Fatalf("Producer after the dropped Ring was collected = %v, want the role", err)
	}
	p.Close()
}

// mappingsOf counts the lines of /proc/self/maps that name the file
// (a memfd's pages: "/memfd:NAME (deleted)").
func mappingsOf(t *testing.T, file string) int {
	t.Helper()
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(maps), file)
}
