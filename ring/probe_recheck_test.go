package ring

// A probe that finds the producer dead looks at the cursor once more: what
// the producer published between the read end's last look and its death
// is received before ErrPeerDead, by a blocking call and a polling one
// alike.

import (
	"context"
	"errors"
	"testing"

	"github.com/shmring/shmring/internal/proctest"
)

// TestAProbeFindingTheProducerDeadLetsItsLastMessageThrough: the read end
// never looked while a producer process published one message and was
// killed; its probe then says nothing (the wait goes on to the message),
// the message arrives intact, and only then does the probe say
// ErrPeerDead.
func TestAProbeFindingTheProducerDeadLetsItsLastMessageThrough(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	for _, tc := range []struct {
		name string
		o    Options
	}{
		{"SPSC", Options{Kind: SPSC, SlotSize: peerDeathMsgSize, Slots: 8}},
		{"SPSC records", Options{Kind: SPSC, Records: true, Capacity: 1024, MaxMessage: peerDeathMsgSize}},
		{"Broadcast", Options{Kind: Broadcast, SlotSize: peerDeathMsgSize, Slots: 8}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newTestRing(t, tc.o)
			var probe func() error
			var recv func([]byte) (int, error)
			if tc.o.Kind == Broadcast {
				rd, err := r.Reader(ReaderOptions{Policy: Lossless})
				if err != nil {
					t.Fatal(err)
				}
				probe, recv = readerWait{rd}.Probe, func(b []byte) (int, error) { return rd.Recv(context.Background(), b) }
			} else {
				c, err := r.Consumer()
				if err != nil {
					t.Fatal(err)
				}
				e := endpointOf(c.e)
				probe = func() error {
					e.waiting.need = consumedOf(c.e) + 1
					return spscWait{e}.Probe()
				}
				recv = func(b []byte) (int, error) { return c.Recv(context.Background(), b) }
			}
			child := proctest.Start(t, "pd-producer", r.Name(), "0", "1", "hang")
			child.Expect("ready")
			child.Expect("sent")
			child.Kill()
			<-child.Done()
			if err := probe(); err != nil {
				t.Fatalf("probe with the dead producer's message unread = %v, want nil (the message first)", err)
			}
			buf := make([]byte, peerDeathMsgSize)
			n, err := recv(buf)
			if err != nil {
				t.Fatalf("Recv of the dead producer's last message = %v", err)
			}
			if err := checkMessage(buf[:n], 0, peerDeathMsgSize); err != nil {
				t.Fatal(err)
			}
			if err := probe(); !errors.Is(err, ErrPeerDead) {
				t.Fatalf("probe once everything was received = %v, want ErrPeerDead", err)
			}
		})
	}
}

// endpointOf and consumedOf reach into an SPSC consumer engine, slot or
// record.
func endpointOf(e consumerEngine) *endpoint {
	switch c := e.(type) {
	case *spscConsumer:
		return &c.endpoint
	case *recSPSCConsumer:
		return &c.endpoint
	}
	panic("not an SPSC consumer")
}

func consumedOf(e consumerEngine) uint64 {
	switch c := e.(type) {
	case *spscConsumer:
		return c.tail
	case *recSPSCConsumer:
		return c.tail
	}
	panic("not an SPSC consumer")
}
