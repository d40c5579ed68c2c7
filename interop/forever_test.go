package interop

import (
	"context"
	"os/exec"
	"testing"

	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/ring"
)

// TestCWaitsForEverWithTheLargestTimeout: a C wait with a timeout of
// INT64_MAX, the natural "for ever", computed its deadline as now plus the
// timeout, a signed overflow (undefined behaviour that gcc let wrap to a
// negative deadline, which happened to mean for ever; a black-box tester
// saw UBSan report it). The C side here is built with the sanitizers,
// which abort on the report; the wait must end with the message a Go
// producer sends.
func TestCWaitsForEverWithTheLargestTimeout(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	name := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 16})
	c := proctest.StartCommand(t, "c forever", exec.Command(cInteropSanitized(t), "forever", name))
	c.Expect("waiting")
	p := goProducer(t, name)
	if err := p.Send(context.Background(), []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if line, err := c.ReadLine(); err != nil || line != "got 5" {
		t.Fatalf("C consumer waiting with INT64_MAX: %q, %v; want \"got 5\"\n%s", line, err, c.Stderr())
	}
	if err := c.Wait(); err != nil {
		t.Fatalf("%v\n%s", err, c.Stderr())
	}
}
