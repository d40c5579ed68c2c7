package interop

// Timeouts mean the same in every language: a negative one waits without
// limit in Python as it does in C (and as threading.Lock.acquire's -1).

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/ring"
)

// TestPythonNegativeTimeoutWaitsWithoutLimit: a Python consumer calls
// recv(timeout=-1) on an empty ring and gets the message a Go producer
// sends a while later, not an immediate ShmringTimeout.
func TestPythonNegativeTimeoutWaitsWithoutLimit(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	name := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 8})
	cmd := exec.Command(python(t), "-c", `import sys, shmring
with shmring.open_ring(sys.argv[1]) as r:
    c = r.consumer()
    print("ready", flush=True)
    try:
        print("got", bytes(c.recv(timeout=-1)).decode(), flush=True)
    except shmring.ShmringError as e:
        print("error", type(e).__name__, e, flush=True)
    c.close()
`, name)
	cmd.Env = append(cmd.Environ(), "PYTHONPATH="+filepath.Join(repoRoot(t), "python"), "PYTHONDONTWRITEBYTECODE=1")
	py := proctest.StartCommand(t, "python recv(timeout=-1)", cmd)
	py.Expect("ready")
	// Let the call reach its wait first; should it not have, the test
	// passes without testing anything, never fails wrongly.
	time.Sleep(100 * time.Millisecond)
	r, err := ring.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	p, err := r.Producer()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Send(context.Background(), []byte("hello")); err != nil {
		t.Fatal(err)
	}
	py.Expect("got hello")
	if err := py.Wait(); err != nil {
		t.Fatal(err)
	}
}
