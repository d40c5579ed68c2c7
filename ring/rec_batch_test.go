//go:build linux

package ring

// A broadcast record producer writes a SendBatch's records before one
// cursor store. With no lossless reader to hold it back, the batch must
// still stay within a ring of the published cursor (else it overwrites
// its own first records before anyone could read them), and RecTail must
// never pass the cursor (LAYOUT.md 17.3), or a lapped reader looking at
// them takes the ring for corrupt.

import (
	"context"
	"errors"
	"testing"
	"unsafe"

	"github.com/shmring/shmring/layout"
)

func TestRecordBatchOnALossyOnlyRingNeverOverwritesItself(t *testing.T) {
	const c = 1 << 10
	for _, start := range []int{0, 16, 496} { // the producer's data offset when the batch begins
		r := newTestRing(t, Options{Kind: Broadcast, Records: true, Capacity: c})
		rd := mustReader(t, r, ReaderOptions{Policy: Lossy})
		p := mustProducer(t, r)
		ctx := context.Background()
		buf := make([]byte, c)
		if start > 0 { // move the producer to start with one message the reader takes
			if err := p.Send(ctx, make([]byte, start-layout.RecordHeaderSize)); err != nil {
				t.Fatal(err)
			}
			if _, err := rd.Recv(ctx, buf); err != nil {
				t.Fatal(err)
			}
		}
		var msgs [][]byte
		for i := range 5 {
			m := make([]byte, c/2-16*i)
			encodeMessage(m, uint64(i))
			msgs = append(msgs, m)
		}
		for sent := 0; sent < len(msgs); {
			k, err := p.SendBatch(ctx, msgs[sent:])
			if err != nil || k == 0 {
				t.Fatalf("start %d: SendBatch of messages %d.. = %d, %v", start, sent, k, err)
			}
			for i := sent; i < sent+k; i++ {
				n, err := rd.Recv(ctx, buf)
				var lap *LapError
				if errors.As(err, &lap) {
					t.Fatalf("start %d: message %d of a batch of %d was overwritten before it was published (%v)", start, i, k, err)
				}
				if err != nil {
					t.Fatal(err)
				}
				if err := checkMessage(buf[:n], uint64(i), len(msgs[i])); err != nil {
					t.Fatalf("start %d: message %d: %v", start, i, err)
				}
			}
			sent += k
		}
	}
}

func TestRecordTailNeverPassesTheCursorInsideABatch(t *testing.T) {
	requireStepHook(t)
	const c = 1 << 10
	r := newTestRing(t, Options{Kind: Broadcast, Records: true, Capacity: c})
	rd := mustReader(t, r, ReaderOptions{Policy: Lossless})
	p := mustProducer(t, r)
	ctx := context.Background()
	buf := make([]byte, c)
	for range 2 { // a lap written and read: the batch below retires it
		if err := p.Send(ctx, make([]byte, 496)); err != nil {
			t.Fatal(err)
		}
		if _, err := rd.Recv(ctx, buf); err != nil {
			t.Fatal(err)
		}
	}
	cursor := r.word64(layout.BcastCursorOffset)
	var worst int64
	setStepHook(func(s step) {
		if s == stepBeforePublish {
			worst = max(worst, int64(r.recTailWord().Load())-int64(cursor.Load()))
		}
	})
	defer setStepHook(nil)
	k, err := p.SendBatch(ctx, [][]byte{make([]byte, 48), make([]byte, 432), make([]byte, 448)})
	if err != nil || k == 0 {
		t.Fatalf("SendBatch = %d, %v", k, err)
	}
	if worst > 0 {
		t.Fatalf("RecTail passed the published cursor by %d bytes inside a batch", worst)
	}
}

// TestRecordReadRefusesAWrappedPayloadOverItsHeader checks read's own
// bounds, with a producer cursor far enough ahead that its end check
// passes: a wrapped record at offset 0, or whose payload from the next
// lap's start would reach its header, is no record.
func TestRecordReadRefusesAWrappedPayloadOverItsHeader(t *testing.T) {
	const c = 1 << 10
	mem := make([]uint64, c/8)
	a := recArea{base: unsafe.Pointer(&mem[0]), mask: c - 1, cap: c, max: c / 2}
	put := func(off uint64, n, typ uint32) {
		h := unsafe.Add(a.base, off)
		*(*uint32)(unsafe.Add(h, layout.RecordLengthOffset)) = n
		*(*uint32)(unsafe.Add(h, layout.RecordTypeOffset)) = typ
	}
	far := uint64(1 << 40) // a cursor that bounds nothing
	for _, tc := range []struct {
		name string
		off  uint64
		n    uint32
		ok   bool
	}{
		{"wrapped at offset 0", 0, 16, false},
		{"wrapped, empty, at offset 0", 0, 0, false},
		// Below the ring's MaxMessage (c/2), so that only the header check refuses it.
		{"wrapped with its payload reaching its header", 256, 257, false},
		{"wrapped with its payload up to its header", 256, 256, true},
		{"wrapped where only a header's room is left", c - 16, 100, true},
		{"a message crossing the end", c - 16, 100, false},
	} {
		typ := layout.RecordWrapped
		if tc.name == "a message crossing the end" {
			typ = layout.RecordMessage
		}
		put(tc.off, tc.n, typ)
		rec, ok := a.read(c+tc.off, far)
		if ok != tc.ok {
			t.Errorf("%s: read = %+v, ok %v; want ok %v", tc.name, rec, ok, tc.ok)
		}
		if ok && (rec.body&a.mask != 0 || rec.next != rec.body+layout.RecordBody(tc.n)) {
			t.Errorf("%s: payload at %d, next %d; want the next lap's start", tc.name, rec.body, rec.next)
		}
	}
	put(c-16, 0, layout.RecordMessage) // at the last position below 2^64: its end wraps round to 0
	if rec, ok := a.read(^uint64(0)-15, ^uint64(0)); ok {
		t.Errorf("a record whose end wraps past 2^64 was taken: %+v", rec)
	}
}
