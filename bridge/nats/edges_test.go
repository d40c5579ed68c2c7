package natsbridge

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/shmring/shmring/bridge/nats/internal/msgcheck"
	"github.com/shmring/shmring/bridge/nats/internal/natstest"
	"github.com/shmring/shmring/internal/ringstat"
	"github.com/shmring/shmring/ring"
)

// logLines collects what a bridge logs.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// TestOutDropsOversizeMessages: a message beyond the server's max payload
// (core NATS) or the stream's message size (JetStream) is dropped with a
// log line that says how large it was and why, and counted; the messages
// around it arrive.
func TestOutDropsOversizeMessages(t *testing.T) {
	for _, jetStream := range []bool{false, true} {
		t.Run(fmt.Sprintf("jetstream=%v", jetStream), func(t *testing.T) {
			srv := natstest.Start(t, natstest.Config{JetStream: jetStream, MaxPayload: 4096})
			src := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 8192, Slots: 64})
			nc := connect(t, srv.URL())
			var js *JetStreamOptions
			size, want := 6000, "maximum payload exceeded (the server takes at most 4096 bytes"
			if jetStream {
				// The stream's own limit, below the server's.
				j, _ := jetstream.New(nc)
				if _, err := j.CreateStream(context.Background(), jetstream.StreamConfig{
					Name: "BIG", Subjects: []string{"big"}, MaxMsgSize: 2048, Storage: jetstream.MemoryStorage,
				}); err != nil {
					t.Fatal(err)
				}
				js = &JetStreamOptions{Stream: "BIG"}
				size, want = 3000, "message size exceeds maximum allowed"
			}
			sub, err := nc.SubscribeSync("big")
			if err != nil {
				t.Fatal(err)
			}
			nc.Flush()
			var log logLines
			out, err := NewOut(connect(t, srv.URL()), src, OutOptions{Subject: "big", JetStream: js, Logf: log.logf})
			if err != nil {
				t.Fatal(err)
			}
			defer out.Close()
			run := start(out.Run)

			p, _ := src.Producer()
			ctx := context.Background()
			for seq, size := range []int{100, size, 101} {
				msg := make([]byte, size)
				msgcheck.Stamp(msg, uint64(seq))
				if err := p.Send(ctx, msg); err != nil {
					t.Fatal(err)
				}
			}
			p.Close()
			if err := run.wait(); err != nil {
				t.Fatalf("Out.Run: %v (an oversize message must not stop the bridge)", err)
			}
			// What arrived: on the subject (core NATS), or in the stream
			// (a core subscriber would see even what the stream refused).
			for i, want := range []uint64{0, 2} {
				var data []byte
				if jetStream {
					j, _ := jetstream.New(nc)
					st, err := j.Stream(context.Background(), "BIG")
					if err != nil {
						t.Fatal(err)
					}
					m, err := st.GetMsg(context.Background(), uint64(i+1))
					if err != nil {
						t.Fatalf("stream message %d: %v", i+1, err)
					}
					data = m.Data
				} else {
					m, err := sub.NextMsg(watchdog)
					if err != nil {
						t.Fatalf("waiting for message %d: %v", want, err)
					}
					data = m.Data
				}
				if got, err := msgcheck.Check(data); err != nil || got != want {
					t.Fatalf("got message %d (%v), want %d", got, err, want)
				}
			}
			if c := out.Counters(); c.Oversize != 1 || c.Messages != 2 {
				t.Errorf("counters %v, want oversize=1 messages=2", c)
			}
			if s := log.String(); !strings.Contains(s, fmt.Sprintf("%d bytes", size)) || !strings.Contains(s, want) {
				t.Errorf("log %q does not say the message's size and %q", s, want)
			}
		})
	}
}

// TestInDropsMessagesLargerThanTheRing: a message beyond the ring's slot
// size is dropped, logged and counted; the bridge goes on.
func TestInDropsMessagesLargerThanTheRing(t *testing.T) {
	srv := natstest.Start(t, natstest.Config{})
	dst := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 64})
	var log logLines
	in, err := NewIn(connect(t, srv.URL()), dst, InOptions{Subject: "small", Logf: log.logf})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	run := start(in.Run)
	run.ready(t, in)

	pub := connect(t, srv.URL())
	for seq, size := range []int{64, 65, 12} {
		msg := make([]byte, size)
		msgcheck.Stamp(msg, uint64(seq))
		pub.Publish("small", msg)
	}
	pub.Flush()
	c, _ := dst.Consumer()
	ctx, cancel := context.WithTimeout(context.Background(), watchdog)
	defer cancel()
	buf := make([]byte, 64)
	for _, want := range []uint64{0, 2} {
		n, err := c.Recv(ctx, buf)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := msgcheck.Check(buf[:n]); err != nil || got != want {
			t.Fatalf("got message %d (%v), want %d", got, err, want)
		}
	}
	if err := run.stop(); err != nil {
		t.Fatal(err)
	}
	if got := in.Counters(); got.Oversize != 1 || got.Messages != 2 {
		t.Errorf("counters %v, want oversize=1 messages=2", got)
	}
	if s := log.String(); !strings.Contains(s, "65 bytes") || !strings.Contains(s, "slots (64 bytes)") {
		t.Errorf("log %q does not say the message's size and the slot size", s)
	}
}

// TestBridgesStopWhenTheRingFileIsRemoved: removing the ring file under a
// running bridge stops it with ErrRingGone naming the file.
func TestBridgesStopWhenTheRingFileIsRemoved(t *testing.T) {
	srv := natstest.Start(t, natstest.Config{})
	for _, dir := range []string{"out", "in"} {
		t.Run(dir, func(t *testing.T) {
			r := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 64})
			var run *runner
			if dir == "out" {
				b, err := NewOut(connect(t, srv.URL()), r, OutOptions{Subject: "gone"})
				if err != nil {
					t.Fatal(err)
				}
				defer b.Close()
				run = start(b.Run)
			} else {
				b, err := NewIn(connect(t, srv.URL()), r, InOptions{Subject: "gone"})
				if err != nil {
					t.Fatal(err)
				}
				defer b.Close()
				run = start(b.Run)
				run.ready(t, b)
			}
			if err := ring.Remove(r.Name()); err != nil {
				t.Fatal(err)
			}
			err := run.wait()
			if !errors.Is(err, ErrRingGone) || !strings.Contains(err.Error(), r.Path()) {
				t.Fatalf("Run returned %v, want ErrRingGone naming %s", err, r.Path())
			}
		})
	}
}

// TestOutHoldsALosslessRingWhileNATSIsDown: with the server gone, Out
// takes nothing more from a lossless ring, so the producer finds it full;
// once the server is back every message goes through.
func TestOutHoldsALosslessRingWhileNATSIsDown(t *testing.T) {
	srv := natstest.Start(t, natstest.Config{})
	src := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 64})
	out, err := NewOut(connect(t, srv.URL()), src, OutOptions{Subject: "held"})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	run := start(out.Run)
	srv.Stop()

	p, _ := src.Producer()
	msg := make([]byte, 64)
	sent := 0
	deadline := time.Now().Add(watchdog)
	for ; ; sent++ {
		msgcheck.Stamp(msg, uint64(sent))
		if err := p.TrySend(msg); errors.Is(err, ring.ErrFull) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("watchdog: the ring never filled while the server was down")
		}
	}
	// The bridge took at most one batch before it saw the connection
	// down; the rest is in the ring.
	if sent > src.Slots()+defaultBatch {
		t.Fatalf("the producer sent %d messages into a ring of %d with the server down", sent, src.Slots())
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	p.Close()
	if err := run.wait(); err != nil {
		t.Fatal(err)
	}
	if c := out.Counters(); c.Messages != uint64(sent) || c.Reconnects == 0 {
		t.Errorf("counters %v, want messages=%d and a reconnect", c, sent)
	}
}

// TestOutStoppedWithABatchItCouldNotDeliverLeavesItInTheRing: with the
// server down, an Out that took a batch and is stopped returns ErrNotAcked
// and leaves that batch to the ring's next consumer, on every kind a work queue comes in (on MPMC and
// MPSC rings marked Redelivered): nothing it could not deliver is lost.
func TestOutStoppedWithABatchItCouldNotDeliverLeavesItInTheRing(t *testing.T) {
	for _, kind := range []ring.Kind{ring.SPSC, ring.MPSC, ring.MPMC} {
		t.Run(kind.String(), func(t *testing.T) {
			srv := natstest.Start(t, natstest.Config{})
			src := newRing(t, ring.Options{Kind: kind, SlotSize: 64, Slots: 64})
			nc := connect(t, srv.URL())
			out, err := NewOut(nc, src, OutOptions{Subject: "stopped", DrainTimeout: 50 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			defer out.Close()
			// Over core NATS what the client took before it noticed the
			// server gone is lost (at most once: doc.go); here it has
			// noticed, and Out holds what it takes.
			srv.Stop()
			eventually(t, func() (bool, string) { return !nc.IsConnected(), "the client never noticed the server stopped" })
			const sent = 10
			produce(t, src, 0, sent, 64, false)
			run := start(out.Run)
			if kind != ring.SPSC { // an SPSC consumer's cursor moves on release only
				waitForLease(t, src, sent)
			}
			// Stopped holding a batch it could not deliver: ErrNotAcked, as
			// over JetStream (it said "publish: context canceled"; a
			// black-box tester). An SPSC Out may be stopped before it took
			// the batch (its lease is not seen from here).
			if err := run.stop(); kind != ring.SPSC && !errors.Is(err, ErrNotAcked) {
				t.Fatalf("Run = %v, want ErrNotAcked", err)
			}
			if err := out.Close(); err != nil {
				t.Fatal(err)
			}
			if c := out.Counters(); c.Messages != 0 {
				t.Fatalf("counters %v, want no message delivered", c)
			}
			c, err := src.Consumer()
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			consumeInOrder(t, c, 0, 1)
			if kind != ring.SPSC && !c.Redelivered() {
				t.Error("the batch the bridge held came again unmarked")
			}
			consumeInOrder(t, c, 1, sent-1)
		})
	}
}

// TestAnIdleOutStopsCleanlyWhileNATSIsDown: an Out that has published
// nothing unconfirmed and is told to stop while the server is down returns
// nil at once: it flushed nothing for DrainTimeout and then failed with
// "flush to NATS: context canceled" (ringbridge out exited 1 after 10 s;
// a black-box tester). Over core NATS only: a JetStream Out confirms each
// batch by its acknowledgements.
func TestAnIdleOutStopsCleanlyWhileNATSIsDown(t *testing.T) {
	srv := natstest.Start(t, natstest.Config{})
	src := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 64})
	nc := connect(t, srv.URL())
	out, err := NewOut(nc, src, OutOptions{Subject: "idle", DrainTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	run := start(out.Run)
	srv.Stop()
	eventually(t, func() (bool, string) { return !nc.IsConnected(), "the client never noticed the server stopped" })
	if err := run.stop(); err != nil {
		t.Errorf("an idle Out stopped while the server is down: Run = %v, want nil", err)
	}
}

// TestAnIdleInStopsWhileNATSIsDown: a stopping In with nothing left in
// the client to deliver does not wait for a server that is away, and says
// so. It waited for the client's drain, whose flush gives up after 10 s
// (DrainTimeout here is an hour), and then stopped saying nothing.
func TestAnIdleInStopsWhileNATSIsDown(t *testing.T) {
	srv := natstest.Start(t, natstest.Config{})
	dst := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 64})
	nc := connect(t, srv.URL())
	var log logLines
	in, err := NewIn(nc, dst, InOptions{Subject: "idle", DrainTimeout: time.Hour, Logf: log.logf})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	run := start(in.Run)
	run.ready(t, in)
	srv.Stop()
	eventually(t, func() (bool, string) { return !nc.IsConnected(), "the client never noticed the server stopped" })
	if err := run.stop(); err != nil {
		t.Errorf("an idle In stopped while the server is down: Run = %v, want nil", err)
	}
	if !strings.Contains(log.String(), "stopping with the server away and nothing left in the client to deliver") {
		t.Errorf("the In stopped without saying it did not wait for the server: log %q", log.String())
	}
}

// TestAnInStoppedWithTheRingFullCountsWhatItCouldNotWrite: an In told to
// stop while its ring stays full writes what it can within DrainTimeout;
// what the client still holds then is counted as dropped, and Run says
// how many (ErrNotWritten). It returned "write ring: context canceled",
// and the messages were counted nowhere. (From a black-box tester.)
func TestAnInStoppedWithTheRingFullCountsWhatItCouldNotWrite(t *testing.T) {
	srv := natstest.Start(t, natstest.Config{})
	dst := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 16})
	in, err := NewIn(connect(t, srv.URL()), dst, InOptions{Subject: "full", DrainTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	run := start(in.Run)
	run.ready(t, in)
	const sent = 100
	pub := connect(t, srv.URL())
	for i := range sent {
		if err := pub.Publish("full", []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := pub.Flush(); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() (bool, string) {
		c := in.Counters()
		return c.Messages == 16, fmt.Sprintf("%d messages in the ring of 16 slots", c.Messages)
	})
	err = run.stop()
	c := in.Counters()
	if !errors.Is(err, ErrNotWritten) || !strings.Contains(err.Error(), fmt.Sprintf("%d messages", sent-16)) {
		t.Errorf("Run = %v, want ErrNotWritten for %d messages", err, sent-16)
	}
	if c.Messages+c.Dropped != sent {
		t.Errorf("written %d + dropped %d, want the %d sent", c.Messages, c.Dropped, sent)
	}
}

// waitForLease waits until the consumers of MPMC or MPSC ring r have taken
// (leased) n messages.
func waitForLease(t *testing.T, r *ring.Ring, n uint64) {
	t.Helper()
	eventually(t, func() (bool, string) {
		s, err := ringstat.Read(r.Path())
		if err != nil {
			t.Fatal(err)
		}
		return s.Consumed >= n, fmt.Sprintf("the bridge took %d of %d messages", s.Consumed, n)
	})
}

// TestOptionsThatDescribeNoBridge: each is ErrConfig or a named JetStream
// error, before anything runs.
func TestOptionsThatDescribeNoBridge(t *testing.T) {
	srv := natstest.Start(t, natstest.Config{JetStream: true})
	nc := connect(t, srv.URL())
	r := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 64})
	cases := []struct {
		name string
		err  func() error
		want string
	}{
		{"an Out without a subject", func() error { _, err := NewOut(nc, r, OutOptions{}); return err }, "empty subject"},
		{"an Out without a connection", func() error { _, err := NewOut(nil, r, OutOptions{Subject: "x"}); return err }, "needs a connection and a ring"},
		{"an In without a ring", func() error { _, err := NewIn(nc, nil, InOptions{Subject: "x"}); return err }, "needs a connection and a ring"},
		{"an In without a subject", func() error { _, err := NewIn(nc, r, InOptions{}); return err }, "empty subject"},
		// NATS cannot carry these: "a..b" was published to nowhere while the
		// bridge counted it forwarded, and one with white space failed at
		// the first message with the ring leased.
		{"an Out to a subject with an empty token", func() error { _, err := NewOut(nc, r, OutOptions{Subject: "a..b"}); return err }, "empty token"},
		{"an Out to a subject ending in a dot", func() error { _, err := NewOut(nc, r, OutOptions{Subject: "a."}); return err }, "empty token"},
		{"an Out to a subject with white space", func() error { _, err := NewOut(nc, r, OutOptions{Subject: "bad subject"}); return err }, "white space"},
		{"an Out to a subject with a NUL", func() error { _, err := NewOut(nc, r, OutOptions{Subject: "a\x00b"}); return err }, "control character"},
		{"an In from a subject with a form feed", func() error { _, err := NewIn(nc, r, InOptions{Subject: "a\fb"}); return err }, "control character"},
		{"an Out to a wildcard", func() error { _, err := NewOut(nc, r, OutOptions{Subject: "s.>"}); return err }, "wildcard"},
		{"an Out to a token wildcard", func() error { _, err := NewOut(nc, r, OutOptions{Subject: "s.*.x"}); return err }, "wildcard"},
		{"an In from a subject with an empty token", func() error { _, err := NewIn(nc, r, InOptions{Subject: ".s"}); return err }, "empty token"},
		{"an In from > before the last token", func() error { _, err := NewIn(nc, r, InOptions{Subject: "s.>.x"}); return err }, "last token"},
		{"JetStream without a stream", func() error {
			_, err := NewOut(nc, r, OutOptions{Subject: "x", JetStream: &JetStreamOptions{}})
			return err
		}, "needs a stream name"},
		{"a stream that does not exist", func() error {
			_, err := NewOut(nc, r, OutOptions{Subject: "x", JetStream: &JetStreamOptions{Stream: "NOPE"}})
			return err
		}, `JetStream stream "NOPE": nats: API error: code=404 err_code=10059 description=stream not found`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.err()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error saying %q", err, tc.want)
			}
		})
	}
	t.Run("an In from a wildcard", func(t *testing.T) {
		in, err := NewIn(nc, r, InOptions{Subject: "s.*.x.>"})
		if err != nil {
			t.Fatalf("NewIn from s.*.x.> = %v, want a bridge: a subscription may use wildcards", err)
		}
		in.Close()
	})
}

func TestSeqTracker(t *testing.T) {
	type step struct {
		subject string
		seq     uint64
		gap     uint64
		repeat  bool
	}
	for _, tc := range []struct {
		name  string
		core  bool
		steps []step
	}{
		{"JetStream", false, []step{
			{"s", 5, 0, false}, // the first sets the baseline
			{"s", 6, 0, false},
			{"s", 9, 2, false},
			{"s", 9, 0, true},
			{"s", 7, 0, true},
			{"s", 1, 0, false}, // a new run
			{"s", 2, 0, false},
			// A stray publisher's number far ahead: the numbers after it
			// are no repeats (they were all dropped; a black-box tester).
			{"s", 1<<64 - 1, 1<<64 - 4, false},
			{"s", 3, 2, false},
			{"s", 4, 0, false},
			{"s", 4, 0, true},
		}},
		// Over core NATS nothing is redelivered: a number not above the
		// last starts a new run whose first numbers were lost. A run
		// whose 1 was dropped (too large for the server) was taken for
		// repeats and dropped whole. (From a black-box tester.)
		{"core", true, []step{
			{"s", 5, 0, false},
			{"s", 6, 0, false},
			{"s", 2, 1, false}, // a new run, its 1 lost
			{"s", 3, 0, false},
			{"s", 3, 2, false}, // and another, its 1 and 2 lost
		}},
		// One Out bridge a subject, heard through one wildcard: each
		// subject's numbers are its own. Half of a fan-in was taken for
		// repeats. (From a black-box tester.)
		{"fan-in", false, []step{
			{"a", 1, 0, false},
			{"b", 1, 0, false},
			{"a", 2, 0, false},
			{"b", 2, 0, false},
			{"b", 4, 1, false},
			{"a", 2, 0, true},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := seqTracker{core: tc.core}
			for _, s := range tc.steps {
				gap, repeat := tr.observe(s.subject, s.seq)
				if gap != s.gap || repeat != s.repeat {
					t.Errorf("observe(%s, %d) = %d, %v, want %d, %v", s.subject, s.seq, gap, repeat, s.gap, s.repeat)
				}
			}
		})
	}
}

// TestOversizeDropsAreLoggedSparingly: a stream of oversize messages is
// counted one by one but logged a line each only for the first few, then
// at most a line a second saying how many so far (a black-box tester: 2,571
// log lines for 2,570 drops).
func TestOversizeDropsAreLoggedSparingly(t *testing.T) {
	const drops = 200
	srv := natstest.Start(t, natstest.Config{MaxPayload: 1024})
	src := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 4096, Slots: 256})
	var log logLines
	out, run, p := runningOut(t, connect(t, srv.URL()), src, OutOptions{Subject: "many", Logf: log.logf})
	big := make([]byte, 2048)
	for range drops {
		if err := p.Send(context.Background(), big); err != nil {
			t.Fatal(err)
		}
	}
	p.Close()
	if err := run.wait(); err != nil {
		t.Fatalf("Out.Run: %v", err)
	}
	if got := out.Counters().Oversize; got != drops {
		t.Fatalf("counted %d oversize drops, want %d", got, drops)
	}
	lines := strings.Count(log.String(), "dropped a message")
	if lines == 0 || lines >= drops/2 {
		t.Fatalf("%d log lines for %d drops, want a few:\n%s", lines, drops, log.String())
	}
	if !strings.Contains(log.String(), "dropped so far") {
		t.Fatalf("the lines do not say how many were dropped so far:\n%s", log.String())
	}
}
