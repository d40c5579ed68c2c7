package natsbridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/shmring/shmring/bridge/nats/internal/msgcheck"
	"github.com/shmring/shmring/bridge/nats/internal/natstest"
	"github.com/shmring/shmring/ring"
)

// stallingProxy forwards TCP connections to a server; while stalled it
// stops reading what its clients write, as a server that stopped reading
// (paused, swamped) does, so their writes fill the socket and time out.
type stallingProxy struct {
	l       net.Listener
	target  string
	mu      sync.Mutex
	resumed *sync.Cond
	stalled bool
}

func newStallingProxy(t *testing.T, target string) *stallingProxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallingProxy{l: l, target: target}
	p.resumed = sync.NewCond(&p.mu)
	t.Cleanup(func() { l.Close(); p.stall(false) })
	go p.serve()
	return p
}

func (p *stallingProxy) url() string { return "nats://" + p.l.Addr().String() }

func (p *stallingProxy) stall(on bool) {
	p.mu.Lock()
	p.stalled = on
	p.mu.Unlock()
	p.resumed.Broadcast()
}

func (p *stallingProxy) serve() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		go func() { io.Copy(c, s); c.Close() }()
		go func() {
			buf := make([]byte, 32<<10)
			for {
				n, err := c.Read(buf)
				if err != nil {
					s.Close()
					return
				}
				p.mu.Lock() // what was read while stalled waits here, unread after it
				for p.stalled {
					p.resumed.Wait()
				}
				p.mu.Unlock()
				if _, err := s.Write(buf[:n]); err != nil {
					c.Close()
					return
				}
			}
		}()
	}
}

// TestOutGoesOnAfterTheServerStoppedReading: a core-NATS Out whose server
// stops reading for longer than the client's write timeout reconnects and
// goes on, as after a server that went away (a black-box tester: the
// bridge exited 1 on "write tcp: i/o timeout" when the server was paused
// past --drain-timeout, which the bridge's write timeout is).
func TestOutGoesOnAfterTheServerStoppedReading(t *testing.T) {
	srv := natstest.Start(t, natstest.Config{})
	proxy := newStallingProxy(t, strings.TrimPrefix(srv.URL(), "nats://"))
	src := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 1024, Slots: 256})
	var log logLines
	out, run, p := runningOut(t, connect(t, proxy.url(), nats.FlusherTimeout(100*time.Millisecond)), src,
		OutOptions{Subject: "stalled", Logf: log.logf})
	ctx, cancel := context.WithTimeout(context.Background(), watchdog)
	defer cancel()
	msg := make([]byte, 1024)
	send := func(n int) {
		for range n {
			if err := p.Send(ctx, msg); err != nil {
				t.Fatalf("send: %v (Out.Run: %v)", err, run.wait())
			}
		}
	}
	send(1000)
	proxy.stall(true)
	deadline := time.Now().Add(watchdog)
	for out.Counters().Reconnects == 0 { // the stalled write timed out, the client reconnects
		if time.Now().After(deadline) {
			t.Fatal("watchdog: the client never gave up on the stalled connection")
		}
		select {
		case err := <-run.done:
			t.Fatalf("Out.Run returned while the server was not reading: %v", err)
		default:
		}
		if err := p.TrySend(msg); err != nil && !errors.Is(err, ring.ErrFull) {
			t.Fatal(err)
		}
	}
	proxy.stall(false)
	send(1000)
	p.Close()
	if err := run.wait(); err != nil {
		t.Fatalf("Out.Run = %v, want nil at the end of the stream (the server only paused)", err)
	}
}

// TestAnOutWithLittleToWriteReconnectsToAServerThatStoppedReading: an
// Out whose flush the server does not answer, the connection up, takes it
// for a stalled server and reconnects, as a timed-out write makes it. A
// bridge with too little to write to fill the socket waited for the
// server for ever (TestOutGoesOnAfterTheServerStoppedReading failed so,
// when the stall came while its Out was flushing).
func TestAnOutWithLittleToWriteReconnectsToAServerThatStoppedReading(t *testing.T) {
	srv := natstest.Start(t, natstest.Config{})
	proxy := newStallingProxy(t, strings.TrimPrefix(srv.URL(), "nats://"))
	src := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 64})
	var log logLines
	out, run, p := runningOut(t, connect(t, proxy.url()), src, OutOptions{Subject: "quiet", Logf: log.logf})
	ctx, cancel := context.WithTimeout(context.Background(), watchdog)
	defer cancel()
	msg := make([]byte, 64)
	send := func(first, n uint64) {
		for seq := first; seq < first+n; seq++ {
			msgcheck.Stamp(msg, seq)
			if err := p.Send(ctx, msg); err != nil {
				t.Fatal(err)
			}
		}
	}
	send(0, 10)
	eventually(t, func() (bool, string) {
		c := out.Counters()
		return c.Messages == 10, fmt.Sprintf("counters %v, want 10 messages out", c)
	})
	proxy.stall(true)
	send(10, 1) // one small write, then a flush the server never answers
	eventually(t, func() (bool, string) {
		c := out.Counters()
		return c.Reconnects > 0, fmt.Sprintf("counters %v: no reconnect to the stalled server", c)
	})
	if !strings.Contains(log.String(), "did not answer a flush") {
		t.Errorf("no log line says why it reconnected: %q", log.String())
	}
	proxy.stall(false)
	send(11, 10)
	p.Close()
	if err := run.wait(); err != nil {
		t.Fatalf("Out.Run = %v, want nil at the end of the stream", err)
	}
}

// TestJetStreamOutStopsWithinItsDrainTimeout: a JetStream Out told to stop
// while the stream's acknowledgements do not come returns ErrNotAcked once
// its DrainTimeout has passed, not after an acknowledgement timeout (here
// ten minutes) on the messages it is waiting for (a black-box tester: 7 s
// for a 2 s drain timeout, the 5 s default acknowledgement timeout).
func TestJetStreamOutStopsWithinItsDrainTimeout(t *testing.T) {
	srv := natstest.Start(t, natstest.Config{JetStream: true})
	proxy := newStallingProxy(t, strings.TrimPrefix(srv.URL(), "nats://"))
	nc := connect(t, proxy.url())
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), watchdog)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "SLOW", Subjects: []string{"slow"}, Storage: jetstream.MemoryStorage}); err != nil {
		t.Fatal(err)
	}
	src := newRing(t, ring.Options{Kind: ring.MPSC, SlotSize: 64, Slots: 64})
	out, err := NewOut(nc, src, OutOptions{Subject: "slow", DrainTimeout: 100 * time.Millisecond,
		JetStream: &JetStreamOptions{Stream: "SLOW", AckTimeout: 10 * time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	proxy.stall(true) // nothing the bridge publishes reaches the server now
	// All ten are in the ring before the bridge runs, so that it takes
	// them in one batch: started first, it could take one, wait for its
	// acknowledgement and take no more (a CI run: "the bridge took 1 of
	// 10 messages").
	produce(t, src, 0, 10, 64, false)
	run := start(out.Run)
	waitForLease(t, src, 10)
	done := make(chan error, 1)
	go func() { done <- run.stop() }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrNotAcked) {
			t.Fatalf("Out.Run = %v, want ErrNotAcked", err)
		}
	case <-time.After(watchdog): // a bound on waiting, far below the acknowledgement timeout
		t.Fatal("Out.Run still waiting for an acknowledgement long after its drain timeout")
	}
}
