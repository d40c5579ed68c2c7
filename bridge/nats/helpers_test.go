package natsbridge

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/shmring/shmring/bridge/nats/internal/msgcheck"
	"github.com/shmring/shmring/ring"
)

// watchdog bounds every test here: a hang guard, far above what any test
// takes on a slow machine, never a speed requirement.
const watchdog = 2 * time.Minute

var ringCount atomic.Int64

// newRing creates a ring with a name unique to this process and test, and
// removes it when the test ends.
func newRing(t testing.TB, o ring.Options) *ring.Ring {
	t.Helper()
	name := fmt.Sprintf("shmring-test-nats-%d-%d", os.Getpid(), ringCount.Add(1))
	r, err := ring.Create(name, o)
	if err != nil {
		t.Fatalf("create ring: %v", err)
	}
	t.Cleanup(func() {
		r.Close()
		ring.Remove(name)
	})
	return r
}

func connect(t testing.TB, url string, opts ...nats.Option) *nats.Conn {
	t.Helper()
	opts = append([]nats.Option{nats.MaxReconnects(-1), nats.ReconnectWait(50 * time.Millisecond), nats.ReconnectBufSize(-1)}, opts...)
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		t.Fatalf("connect to %s: %v", url, err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// runner is a bridge's Run in a goroutine.
type runner struct {
	cancel context.CancelFunc
	done   chan error
}

func start(run func(context.Context) error) *runner {
	ctx, cancel := context.WithCancel(context.Background())
	r := &runner{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- run(ctx) }()
	return r
}

// ready waits for an In bridge to be ready, failing the test if its Run
// returns first.
func (r *runner) ready(t testing.TB, in *In) {
	t.Helper()
	select {
	case <-in.Ready():
	case err := <-r.done:
		t.Fatalf("In.Run returned before it was ready: %v", err)
	case <-time.After(watchdog):
		t.Fatal("watchdog: In not ready")
	}
}

// stop tells the bridge to stop and returns what Run returned.
func (r *runner) stop() error {
	r.cancel()
	return r.wait()
}

func (r *runner) wait() error {
	select {
	case err := <-r.done:
		return err
	case <-time.After(watchdog):
		return errors.New("watchdog: Run did not return")
	}
}

// runningOut makes an Out of src with o over nc, starts its Run, and
// takes src's producer role for the test: what a test of a running Out
// fed by the test itself begins with. The Out is closed when the test
// ends.
func runningOut(t *testing.T, nc *nats.Conn, src *ring.Ring, o OutOptions) (*Out, *runner, *ring.Producer) {
	t.Helper()
	out, err := NewOut(nc, src, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { out.Close() })
	run := start(out.Run)
	p, err := src.Producer()
	if err != nil {
		t.Fatal(err)
	}
	return out, run, p
}

// produce sends messages first..first+n-1 of size bytes into r and, if
// end, ends the stream.
func produce(t testing.TB, r *ring.Ring, first, n uint64, size int, end bool) {
	t.Helper()
	p, err := r.Producer()
	if err != nil {
		t.Errorf("producer: %v", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), watchdog)
	defer cancel()
	msg := make([]byte, size)
	for seq := first; seq < first+n; seq++ {
		msgcheck.Stamp(msg, seq)
		if err := p.Send(ctx, msg); err != nil {
			t.Errorf("send %d: %v", seq, err)
			return
		}
	}
	if end {
		p.Close()
	}
}

// consumeInOrder reads n messages from a consumer and checks that they are
// first, first+1, ... undamaged.
func consumeInOrder(t testing.TB, c *ring.Consumer, first, n uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), watchdog)
	defer cancel()
	buf := make([]byte, 1<<16)
	for want := first; want < first+n; want++ {
		k, err := c.Recv(ctx, buf)
		if err != nil {
			t.Fatalf("receive message %d: %v", want, err)
		}
		got, err := msgcheck.Check(buf[:k])
		if err != nil {
			t.Fatalf("message %d: %v", want, err)
		}
		if got != want {
			t.Fatalf("got message %d, want %d (lost, repeated or reordered)", got, want)
		}
	}
}

// eventually calls check every millisecond until it reports done, and
// fails the test with check's last status at the watchdog.
func eventually(t *testing.T, check func() (done bool, status string)) {
	t.Helper()
	deadline := time.Now().Add(watchdog)
	for {
		done, status := check()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("watchdog: %s", status)
		}
		time.Sleep(time.Millisecond)
	}
}
