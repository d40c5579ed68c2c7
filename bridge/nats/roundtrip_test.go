package natsbridge

import (
	"testing"

	"github.com/shmring/shmring/bridge/nats/internal/natstest"
	"github.com/shmring/shmring/ring"
)

// TestRoundTrip sends messages ring → Out → NATS → In → ring for each kind
// of source ring and delivery mode: every message arrives once, in order,
// undamaged, and the counters say so.
func TestRoundTrip(t *testing.T) {
	const n = 20000
	cases := []struct {
		name      string
		src       ring.Options
		reader    ring.ReaderOptions
		seqHeader bool
		jetstream bool
	}{
		{name: "an SPSC ring over core NATS", src: ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 1024}},
		{name: "an SPSC ring with sequence headers", src: ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 1024}, seqHeader: true},
		{name: "an SPSC ring in a memfd (no end mark to watch: it cannot shrink)", src: ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 1024, Memfd: true}},
		{name: "an MPSC ring", src: ring.Options{Kind: ring.MPSC, SlotSize: 64, Slots: 1024}},
		{name: "a broadcast ring read losslessly", src: ring.Options{Kind: ring.Broadcast, SlotSize: 64, Slots: 1024},
			reader: ring.ReaderOptions{Policy: ring.Lossless, Start: ring.Oldest}},
		{name: "an SPSC ring over JetStream", src: ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 1024}, jetstream: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := natstest.Start(t, natstest.Config{JetStream: tc.jetstream})
			src := newRing(t, tc.src)
			dst := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 1024})
			var js *JetStreamOptions
			if tc.jetstream {
				js = &JetStreamOptions{Stream: "RT", CreateStream: true}
			}
			in, err := NewIn(connect(t, srv.URL()), dst, InOptions{Subject: "rt", JetStream: js, DropRepeats: true})
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			out, err := NewOut(connect(t, srv.URL()), src, OutOptions{Subject: "rt", Reader: tc.reader, SeqHeader: tc.seqHeader, JetStream: js})
			if err != nil {
				t.Fatal(err)
			}
			defer out.Close()
			inRun := start(in.Run)
			inRun.ready(t, in)
			outRun := start(out.Run)

			c, err := dst.Consumer()
			if err != nil {
				t.Fatal(err)
			}
			go produce(t, src, 0, n, 64, true)
			consumeInOrder(t, c, 0, n)

			if err := outRun.wait(); err != nil {
				t.Errorf("Out.Run at the end of the stream: %v", err)
			}
			if err := inRun.stop(); err != nil {
				t.Errorf("In.Run when stopped: %v", err)
			}
			oc, ic := out.Counters(), in.Counters()
			if oc.Messages != n || oc.Missed+oc.Oversize+oc.Resent != 0 {
				t.Errorf("Out counters: %v, want messages=%d and nothing missed, dropped or resent", oc, n)
			}
			if ic.Messages != n || ic.Gaps+ic.Repeats+ic.Oversize+ic.Dropped != 0 {
				t.Errorf("In counters: %v, want messages=%d and no gap, repeat or drop", ic, n)
			}
		})
	}
}
