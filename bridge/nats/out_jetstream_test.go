package natsbridge

import (
	"context"
	"errors"
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
// line). It numbers on from the stream's last sequence, and a duplicate
// acknowledgement for a message the stream does not hold is an error.
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
	}
}

// TestOutJetStreamStopsOnAnIdItDidNotStore: a duplicate acknowledgement
// for a message id the stream holds a different message under (another
// publisher used it) means the message was not stored: the bridge stops
// with ErrDuplicateID and leaves it in the ring, instead of releasing it
// as delivered.
func TestOutJetStreamStopsOnAnIdItDidNotStore(t *testing.T) {
	srv, js := jetStreamServer(t, "DUP", "dup.>")
	ctx, cancel := context.WithTimeout(context.Background(), watchdog)
	defer cancel()
	// The id the bridge's first message will carry (it numbers from the
	// stream's last sequence, 1, on), on another subject.
	if _, err := js.Publish(ctx, "dup.other", []byte("not the ring's"), jetstream.WithMsgID("dup.ring:2")); err != nil {
		t.Fatal(err)
	}
	src := newRing(t, ring.Options{Kind: ring.MPSC, SlotSize: 64, Slots: 64})
	out, err := NewOut(connect(t, srv.URL()), src, OutOptions{Subject: "dup.ring", JetStream: &JetStreamOptions{Stream: "DUP"}})
	if err != nil {
		t.Fatal(err)
	}
	run := start(out.Run)
	produce(t, src, 0, 1, 64, true)
	if err := run.wait(); !errors.Is(err, ErrDuplicateID) {
		t.Fatalf("Out.Run = %v, want ErrDuplicateID", err)
	}
	out.Close()
	c, err := src.Consumer()
	if err != nil {
		t.Fatal(err)
	}
	consumeInOrder(t, c, 0, 1) // still in the ring, for the next bridge
}
