//go:build linux

package ring

import (
	"context"
	"errors"
	"testing"

	"github.com/shmring/shmring/layout"
)

// TestResetBringsBackARecordRing: a record ring whose producer cursor was
// wrecked refuses roles with ErrCorrupt; once no role is held, Reset empties
// it and a new producer and reader stream through it again, across wraps.
func TestResetBringsBackARecordRing(t *testing.T) {
	for _, kind := range []Kind{SPSC, Broadcast} {
		t.Run(kind.String(), func(t *testing.T) {
			r := newTestRing(t, Options{Kind: kind, Records: true, Capacity: 512, MaxMessage: 100})
			ctx := context.Background()
			p := mustProducer(t, r)
			if err := p.Send(ctx, []byte("before")); err != nil {
				t.Fatal(err)
			}
			p.Close()
			r.word64(layout.ProducerCursorOffset).Store(40) // no record boundary
			if kind == SPSC {
				if _, err := r.Consumer(); !errors.Is(err, ErrCorrupt) {
					t.Fatalf("Consumer over a wrecked cursor = %v, want ErrCorrupt", err)
				}
			} else if _, err := r.Producer(); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Producer over a wrecked cursor = %v, want ErrCorrupt", err)
			}
			if err := r.Reset(); err != nil {
				t.Fatalf("Reset = %v", err)
			}
			var recv func([]byte) (int, error)
			if kind == SPSC {
				c, err := r.Consumer()
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				recv = func(b []byte) (int, error) { return c.Recv(ctx, b) }
			} else {
				rd := mustReader(t, r, ReaderOptions{Policy: Lossless, Start: Oldest})
				defer rd.Close()
				recv = func(b []byte) (int, error) { return rd.Recv(ctx, b) }
			}
			p = mustProducer(t, r)
			defer p.Close()
			buf := make([]byte, 100)
			for seq := range uint64(100) { // many laps of a 512-byte ring
				m := buf[:recMsgLen(seq, 100)]
				encodeAny(m, seq)
				if err := p.Send(ctx, m); err != nil {
					t.Fatalf("Send %d after Reset: %v", seq, err)
				}
				n, err := recv(buf)
				if err != nil {
					t.Fatalf("Recv %d after Reset: %v", seq, err)
				}
				if err := checkAny(buf[:n], seq, recMsgLen(seq, 100)); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
