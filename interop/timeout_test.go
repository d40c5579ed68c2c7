package interop

// Timeouts mean the same in every language: a negative one waits without
// limit in Python as it does in C (and as threading.Lock.acquire's -1).

import (
	"context"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/layout"
	"github.com/shmring/shmring/ring"
)

// awaitConsumerAsleep waits until the ring's consumer has announced itself
// asleep (its sleepers word, LAYOUT.md section 10), read from the file,
// and says so; false if the child ended first.
func awaitConsumerAsleep(t *testing.T, name string, child *proctest.Child) bool {
	t.Helper()
	f, err := os.Open(filepath.Join("/dev/shm", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	word := make([]byte, 4)
	for guard := time.Now().Add(time.Minute); time.Now().Before(guard); time.Sleep(time.Millisecond) { // a hang guard
		if _, err := f.ReadAt(word, layout.ConsumerSleepersOffset); err != nil {
			t.Fatal(err)
		}
		if binary.LittleEndian.Uint32(word) != 0 {
			return true
		}
		select {
		case <-child.Done():
			return false
		default:
		}
	}
	t.Fatal("the consumer never went to sleep")
	return false
}

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
	if !awaitConsumerAsleep(t, name, py) {
		py.Expect("got hello") // it said something else and left: fails with what
	}
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
