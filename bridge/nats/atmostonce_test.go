package natsbridge

import (
	"context"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/shmring/shmring/bridge/nats/internal/natstest"
	"github.com/shmring/shmring/ring"
)

// handOverSource records, at each release of a batch, how many messages
// the connection had been handed (nats.Conn.Stats().OutMsgs) by then.
type handOverSource struct {
	source
	nc         *nats.Conn
	atRelease  []uint64
	batchSizes []int
	last       int
	onRelease  func()
}

func (s *handOverSource) next(ctx context.Context, limit int) ([][]byte, uint64, error) {
	msgs, missed, err := s.source.next(ctx, limit)
	s.last = len(msgs)
	return msgs, missed, err
}

func (s *handOverSource) release() {
	s.atRelease = append(s.atRelease, s.nc.Stats().OutMsgs)
	s.batchSizes = append(s.batchSizes, s.last)
	s.source.release()
	if s.onRelease != nil {
		s.onRelease()
	}
}

// TestCoreOutTakesABatchFromTheRingBeforeItHandsItOver: over core NATS
// (at most once) each batch leaves the ring before its first message
// reaches the connection, so no batch is ever both in the ring and with
// the server. It was released after it was published: an Out killed in
// between left its successor a batch the server already had, which it
// sent again behind later messages (a black-box tester: 7 repeats and a
// jump back from one kill -9 of ringbridge out).
func TestCoreOutTakesABatchFromTheRingBeforeItHandsItOver(t *testing.T) {
	srv := natstest.Start(t, natstest.Config{})
	nc := connect(t, srv.URL())
	src := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 128}) // holds all n
	out, err := NewOut(nc, src, OutOptions{Subject: "atmostonce", Batch: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { out.Close() })
	rec := &handOverSource{source: out.src, nc: nc}
	out.src = rec
	const n = 100
	produce(t, src, 0, n, 16, true) // the stream ends: Run returns once all is out
	run := start(out.Run)
	if err := run.wait(); err != nil {
		t.Fatal(err)
	}
	handed := uint64(0)
	for i, at := range rec.atRelease {
		if at != handed {
			t.Fatalf("batch %d released with %d messages handed to the connection, want %d (none of its own)", i, at, handed)
		}
		handed += uint64(rec.batchSizes[i])
	}
	if handed != n || nc.Stats().OutMsgs != n {
		t.Errorf("%d messages released in batches, %d handed to the connection, want %d", handed, nc.Stats().OutMsgs, n)
	}
}

// TestCoreOutCountsABatchItReleasedAndCouldNotSend: the connection closed
// for good between the release of a batch and its publish. The batch is
// no longer in the ring, so it is lost (at most once): counted as
// dropped, and the error says so. It was neither (a reviewer).
func TestCoreOutCountsABatchItReleasedAndCouldNotSend(t *testing.T) {
	srv := natstest.Start(t, natstest.Config{})
	nc := connect(t, srv.URL())
	src := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 16})
	out, err := NewOut(nc, src, OutOptions{Subject: "closed", Batch: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { out.Close() })
	out.src = &handOverSource{source: out.src, nc: nc, onRelease: nc.Close}
	produce(t, src, 0, 8, 16, false)
	err = start(out.Run).wait()
	if err == nil || !strings.Contains(err.Error(), "8 messages taken from the ring and lost") {
		t.Errorf("Run with its connection closed after a release = %v, want it to say the 8 messages were lost", err)
	}
	if c := out.Counters(); c.Dropped != 8 || c.Messages != 0 {
		t.Errorf("counters %+v, want 8 dropped, 0 sent", c)
	}
}
