package natsbridge

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/shmring/shmring/bridge/nats/internal/msgcheck"
	"github.com/shmring/shmring/ring"
)

// TestOutJetStreamStoresAfterTheSubjectWasPurged: an Out that starts
// where its subject has no message left in the stream (purged, or aged
// out by the stream's limits) while the stream still remembers the
// message ids of an earlier run (its duplicate window) must not reuse
// those ids: the stream would acknowledge each message as a duplicate and
// store none, while the bridge counted them delivered and released them
// from the ring (a black-box tester: 1,000 of 1,000 lost, exit 0, no log
// line). Its ids carry its run's tag, and its numbers go on from the
// stream's last sequence.
func TestOutJetStreamStoresAfterTheSubjectWasPurged(t *testing.T) {
	const n = 10
	srv, js := jetStreamServer(t, "PURGED", "purged")
	ctx, cancel := context.WithTimeout(context.Background(), watchdog)
	defer cancel()
	runOut := func(first uint64) Counters {
		src := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 64})
		out, err := NewOut(connect(t, srv.URL()), src, OutOptions{Subject: "purged", JetStream: &JetStreamOptions{Stream: "PURGED"}})
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		run := start(out.Run)
		produce(t, src, first, n, 64, true)
		if err := run.wait(); err != nil {
			t.Fatalf("Out.Run: %v", err)
		}
		return out.Counters()
	}
	runOut(0)
	s, err := js.Stream(ctx, "PURGED")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	got := runOut(n)
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != n {
		t.Fatalf("the stream holds %d messages after the second run (counters %v), want its %d", info.State.Msgs, got, n)
	}
	for i := range uint64(n) {
		m, err := s.GetMsg(ctx, info.State.FirstSeq+i)
		if err != nil {
			t.Fatal(err)
		}
		if seq, err := msgcheck.Check(m.Data); err != nil || seq != n+i {
			t.Fatalf("stream message %d is ring message %d (%v), want %d", info.State.FirstSeq+i, seq, err, n+i)
		}
		if h := m.Header.Get(SeqHeader); h != fmt.Sprint(n+i+1) { // numbered on from the first run's, not from 1 again
			t.Fatalf("stream message %d has %s %s, want %d", info.State.FirstSeq+i, SeqHeader, h, n+i+1)
		}
	}
}

// TestOutJetStreamUsesNoIdAnotherRunUsed: ids an earlier run (or another
// publisher) used may still be in the stream's duplicate window, which
// takes a message under such an id for a duplicate, stores nothing and
// acknowledges it: the bridge's ids carry its run's own tag, so every
// message is stored.
func TestOutJetStreamUsesNoIdAnotherRunUsed(t *testing.T) {
	const n = 5
	srv, js := jetStreamServer(t, "DUP", "dup.>")
	ctx, cancel := context.WithTimeout(context.Background(), watchdog)
	defer cancel()
	// The ids an untagged numbering from the stream's last sequence (n,
	// after these) would give: an earlier run's numbers run ahead of the
	// stream's count where it missed messages or dropped oversize ones.
	for seq := n + 1; seq <= 2*n; seq++ {
		id := fmt.Sprintf("dup.ring:%d", seq)
		if _, err := js.Publish(ctx, "dup.other", []byte("not the ring's"), jetstream.WithMsgID(id)); err != nil {
			t.Fatal(err)
		}
	}
	s, err := js.Stream(ctx, "DUP")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Purge(ctx); err != nil { // the ids stay in the duplicate window
		t.Fatal(err)
	}
	src := newRing(t, ring.Options{Kind: ring.MPSC, SlotSize: 64, Slots: 64})
	out, err := NewOut(connect(t, srv.URL()), src, OutOptions{Subject: "dup.ring", JetStream: &JetStreamOptions{Stream: "DUP"}})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	run := start(out.Run)
	produce(t, src, 0, n, 64, true)
	if err := run.wait(); err != nil {
		t.Fatalf("Out.Run: %v", err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != n {
		t.Fatalf("the stream holds %d of the bridge's %d messages", info.State.Msgs, n)
	}
}

// TestJetStreamBridgesRefuseAStreamThatDoesNotTakeTheSubject: an Out or
// an In on a stream whose subjects do not take the bridge's is ErrConfig
// at once, naming the stream that does where there is one. The Out said
// "ready" and resent for ever; the In waited for ever (a black-box tester).
func TestJetStreamBridgesRefuseAStreamThatDoesNotTakeTheSubject(t *testing.T) {
	srv, js := jetStreamServer(t, "QUOTES", "quotes.>")
	ctx, cancel := context.WithTimeout(context.Background(), watchdog)
	defer cancel()
	for name, subjects := range map[string][]string{"TRADES": {"trades"}, "OTHER": {"other.*"}} {
		if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: subjects, Storage: jetstream.MemoryStorage}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct{ subject, want string }{
		{"trades", `(stream "TRADES" does)`},
		{"news", "nor does any other"},
	} {
		src := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 8})
		_, err := NewOut(connect(t, srv.URL()), src, OutOptions{Subject: c.subject, JetStream: &JetStreamOptions{Stream: "QUOTES"}})
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewOut on %q into QUOTES: %v, want ErrConfig saying %s", c.subject, err, c.want)
		}
		dst := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 8})
		_, err = NewIn(connect(t, srv.URL()), dst, InOptions{Subject: c.subject, JetStream: &JetStreamOptions{Stream: "QUOTES"}})
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewIn on %q from QUOTES: %v, want ErrConfig saying %s", c.subject, err, c.want)
		}
	}
	src := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 8})
	out, err := NewOut(connect(t, srv.URL()), src, OutOptions{Subject: "quotes.eur", JetStream: &JetStreamOptions{Stream: "QUOTES"}})
	if err != nil {
		t.Fatalf("NewOut on a subject the stream takes: %v", err)
	}
	out.Close()
	for i, subject := range []string{"quotes.>", "quotes.*", "quotes.eur"} { // an In may subscribe to a wildcard
		dst := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 8})
		in, err := NewIn(connect(t, srv.URL()), dst, InOptions{Subject: subject, JetStream: &JetStreamOptions{Stream: "QUOTES", Durable: fmt.Sprint("in-", i)}})
		if err != nil {
			t.Fatalf("NewIn on %q, which the stream takes: %v", subject, err)
		}
		in.Close()
	}
	// A wildcard may overlap several streams, any of which an In may read
	// ("*.x" was refused on OTHER, the error naming QUOTES; a black-box
	// tester); on a stream it does not overlap, every one it does is named.
	dst := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 8})
	in, err := NewIn(connect(t, srv.URL()), dst, InOptions{Subject: "*.x", JetStream: &JetStreamOptions{Stream: "OTHER", Durable: "wild"}})
	if err != nil {
		t.Fatalf(`NewIn on "*.x" from OTHER (other.*): %v`, err)
	}
	in.Close()
	dst = newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 8})
	_, err = NewIn(connect(t, srv.URL()), dst, InOptions{Subject: "*.x", JetStream: &JetStreamOptions{Stream: "TRADES"}})
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), `"QUOTES"`) || !strings.Contains(err.Error(), `"OTHER"`) {
		t.Errorf(`NewIn on "*.x" from TRADES: %v, want ErrConfig naming QUOTES and OTHER`, err)
	}
}
