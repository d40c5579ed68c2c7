//go:build linux

package interop

import (
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/ring"
)

// startForkHolder runs the C side's forkholder on ring name with role:
// it holds the role, and its forked child, which closed its copies of the
// handle and the ring (child "close") or left them alone ("keep"), lives
// on (killed when the test ends).
func startForkHolder(t *testing.T, name, role, child string) *proctest.Child {
	t.Helper()
	holder := proctest.StartCommand(t, "c forkholder "+role, exec.Command(cInterop(t), "forkholder", name, role, child))
	line, err := holder.ReadLine()
	pid, perr := strconv.Atoi(strings.TrimPrefix(line, "child "))
	if err != nil || perr != nil {
		t.Fatalf("forkholder said %q, %v; want its child's pid\n%s", line, err, holder.Stderr())
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) }) // the holder's child, not ours to wait for
	// A call on the child's copy of the handle is SHMRING_ECLOSED: it took
	// the holder's next message (a reader's recv) or published for it.
	holder.Expect("copy call -18")
	holder.Expect("holding")
	return holder
}

// TestACForkedChildHoldsNoRole: a C role holder forks. A call on the
// child's copy of the handle is SHMRING_ECLOSED (startForkHolder). A child
// that closes its copies leaves the holder's role alone: it stored the
// producer's state as closed, ending the stream of a producer still alive,
// and freed a lossless reader's entry, so that the producer ran past a
// reader that had not read. A child that keeps its copies holds no role:
// once the holder is killed, the role is the next process's while the
// child lives (its copy of the lock's descriptor kept it held: ErrBusy).
// (From a black-box tester.)
func TestACForkedChildHoldsNoRole(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	spsc := ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 16}
	bcast := ring.Options{Kind: ring.Broadcast, SlotSize: 64, Slots: 16, MaxReaders: 1}
	t.Run("producer, its child closes its copy", func(t *testing.T) {
		name := newRing(t, spsc)
		startForkHolder(t, name, "producer", "close")
		c, err := goRing(t, name).Consumer()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.TryRecv(make([]byte, 64)); !errors.Is(err, ring.ErrEmpty) {
			t.Errorf("a consumer of the holder's stream: TryRecv = %v, want ErrEmpty", err)
		}
	})
	t.Run("lossless reader, its child closes its copy", func(t *testing.T) {
		name := newRing(t, bcast)
		startForkHolder(t, name, "lossless", "close")
		p, err := goRing(t, name).Producer()
		if err != nil {
			t.Fatal(err)
		}
		for i := range 16 {
			if err := p.TrySend([]byte{byte(i)}); err != nil {
				t.Fatalf("send %d: %v", i, err)
			}
		}
		if err := p.TrySend([]byte("past the reader")); !errors.Is(err, ring.ErrFull) {
			t.Errorf("a send a ring past the holder's lossless reader: %v, want ErrFull", err)
		}
	})
	for _, tc := range []struct {
		role string
		o    ring.Options
		take func(*ring.Ring) error
	}{
		{"producer", spsc, func(r *ring.Ring) error { _, err := r.Producer(); return err }},
		{"lossless", bcast, func(r *ring.Ring) error { _, err := r.Reader(ring.ReaderOptions{Policy: ring.Lossless}); return err }},
	} {
		t.Run(tc.role+", its child keeps its copy, the holder killed", func(t *testing.T) {
			name := newRing(t, tc.o)
			holder := startForkHolder(t, name, tc.role, "keep")
			holder.Kill()
			<-holder.Done()
			if err := tc.take(goRing(t, name)); err != nil {
				t.Errorf("the role after its holder was killed, its forked child alive: %v", err)
			}
		})
	}
}

// goRing opens ring name, closed when the test ends.
func goRing(t *testing.T, name string) *ring.Ring {
	t.Helper()
	r, err := ring.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}
