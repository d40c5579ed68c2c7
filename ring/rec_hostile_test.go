//go:build linux

package ring

// Acceptance 3 of issue 12: record headers holding values no producer
// writes. Whoever reads them gets ErrCorrupt, never a panic, a slice
// outside the data area or a torn message.

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"
	"unsafe"

	"github.com/shmring/shmring/layout"
)

// hostileHeaders are the ways a record header can lie, each applied to the
// header of the second of three published messages (at position at, of a
// ring of capacity c).
var hostileHeaders = []struct {
	name string
	edit func(h []byte, at, c uint64)
}{
	{"a length beyond MaxMessage", func(h []byte, _, _ uint64) { binary.LittleEndian.PutUint32(h, 1<<20) }},
	{"a length past the end of the data area", func(h []byte, at, c uint64) {
		binary.LittleEndian.PutUint32(h, uint32(c-at%c)) // within MaxMessage only on a small ring; past the end anyway
	}},
	{"type zero", func(h []byte, _, _ uint64) { binary.LittleEndian.PutUint32(h[4:], 0) }},
	{"an unknown type", func(h []byte, _, _ uint64) { binary.LittleEndian.PutUint32(h[4:], 7) }},
	{"type 2, the padding record of a pre-release draft", func(h []byte, _, _ uint64) {
		binary.LittleEndian.PutUint32(h[4:], 2)
	}},
	{"a wrapped record whose payload would run into its own header", func(h []byte, at, c uint64) {
		binary.LittleEndian.PutUint32(h, uint32(at%c)+1) // RecordBody of it passes the header's offset
		binary.LittleEndian.PutUint32(h[4:], layout.RecordWrapped)
	}},
	{"a wrapped record whose payload reaches past the cursor", func(h []byte, _, _ uint64) {
		binary.LittleEndian.PutUint32(h, 16) // its payload, at the next lap's start, is not published
		binary.LittleEndian.PutUint32(h[4:], layout.RecordWrapped)
	}},
}

// TestRecordHostileHeadersAreErrCorrupt: on SPSC and Broadcast record
// rings (lossless and lossy readers), a hostile header is ErrCorrupt for
// every read call, the messages before it arrive whole, and nobody panics.
func TestRecordHostileHeadersAreErrCorrupt(t *testing.T) {
	const size = 32
	reads := []string{"recv", "tryrecv", "receive", "batch"}
	for _, hh := range hostileHeaders {
		for _, kind := range []string{"spsc", "lossless", "lossy"} {
			for _, call := range reads {
				t.Run(hh.name+"/"+kind+"/"+call, func(t *testing.T) {
					o := Options{Kind: SPSC, Records: true, Capacity: 256, MaxMessage: 64}
					if kind != "spsc" {
						o.Kind = Broadcast
					}
					r := newTestRing(t, o)
					var rd interface {
						Recv(context.Context, []byte) (int, error)
						TryRecv([]byte) (int, error)
						Receive(context.Context) ([]byte, error)
						Release() error
					}
					var batch func() ([]byte, error)
					switch kind {
					case "spsc":
						c, err := r.Consumer()
						if err != nil {
							t.Fatal(err)
						}
						rd = c
						batch = func() ([]byte, error) {
							b, err := c.ReceiveBatch(context.Background(), 4)
							if err != nil {
								return nil, err
							}
							return b.At(0)
						}
					default:
						pol := Lossless
						if kind == "lossy" {
							pol = Lossy
						}
						x := mustReader(t, r, ReaderOptions{Policy: pol})
						rd = x
						batch = func() ([]byte, error) {
							b, err := x.ReceiveBatch(context.Background(), 4)
							if err != nil {
								return nil, err
							}
							return b.At(0)
						}
					}
					p := mustProducer(t, r)
					m := make([]byte, size)
					for seq := range uint64(3) {
						encodeMessage(m, seq)
						if err := p.Send(context.Background(), m); err != nil {
							t.Fatal(err)
						}
					}
					at := layout.RecordSize(size) // the second message's record
					h := r.mem[r.hdr.SlotsOffset+at:]
					hh.edit(h, at, r.hdr.SlotCount)
					buf := make([]byte, 64)
					n, err := rd.Recv(context.Background(), buf)
					if err != nil || checkMessage(buf[:n], 0, size) != nil {
						t.Fatalf("Recv of the first message = %d, %v", n, err)
					}
					for try := range 2 { // it stays corrupt
						switch call {
						case "recv":
							_, err = rd.Recv(context.Background(), buf)
						case "tryrecv":
							_, err = rd.TryRecv(buf)
						case "receive":
							_, err = rd.Receive(context.Background())
						case "batch":
							_, err = batch()
						}
						if !errors.Is(err, ErrCorrupt) {
							t.Fatalf("%s over %s (try %d) = %v, want ErrCorrupt", call, hh.name, try, err)
						}
					}
				})
			}
		}
	}
}

// TestRecordHostileCursorsAreErrCorrupt: a producer cursor that is no
// record boundary, runs a ring ahead, or goes back, and a tail beyond the
// cursor, are ErrCorrupt for the side that loads them.
func TestRecordHostileCursorsAreErrCorrupt(t *testing.T) {
	for _, tc := range []struct {
		name string
		kind Kind
		word int
		v    uint64
	}{
		{"an SPSC producer cursor off a record boundary", SPSC, layout.ProducerCursorOffset, 40},
		{"an SPSC producer cursor a ring ahead", SPSC, layout.ProducerCursorOffset, 1 << 20},
		{"an SPSC consumer cursor past the producer's", SPSC, layout.ConsumerCursorOffset, 1 << 10},
		{"a broadcast cursor off a record boundary", Broadcast, layout.BcastCursorOffset, 40},
		{"a broadcast cursor a ring ahead of a lossless reader", Broadcast, layout.BcastCursorOffset, 1 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newTestRing(t, Options{Kind: tc.kind, Records: true, Capacity: 256})
			var recv func([]byte) (int, error)
			if tc.kind == SPSC {
				c, err := r.Consumer()
				if err != nil {
					t.Fatal(err)
				}
				recv = c.TryRecv
			} else {
				recv = mustReader(t, r, ReaderOptions{Policy: Lossless}).TryRecv
			}
			p := mustProducer(t, r)
			if err := p.Send(context.Background(), []byte("one")); err != nil {
				t.Fatal(err)
			}
			r.word64(tc.word).Store(tc.v)
			_, rerr := recv(make([]byte, 128))
			perr := p.TrySend([]byte("two"))
			if !errors.Is(rerr, ErrCorrupt) && !errors.Is(perr, ErrCorrupt) {
				t.Fatalf("after %s: reader %v, producer %v; want ErrCorrupt from one of them", tc.name, rerr, perr)
			}
		})
	}
}

// TestARecordIsNeverReadOffARecordBoundary: a position that is no
// multiple of RecordAlign (a hostile cursor or RecTail a reader walks
// from) holds no record, whatever its bytes say: read refuses it before it
// loads the header, which there may cross the end of the data area. A
// header planted at offset 8 was read as an empty message, and one at 8
// bytes before the end took its sequence number from the counters after
// the data area.
func TestARecordIsNeverReadOffARecordBoundary(t *testing.T) {
	r := newTestRing(t, Options{Kind: Broadcast, Records: true, Capacity: 256, MaxMessage: 64})
	a := r.recArea()
	put := func(pos uint64, n, typ uint32) {
		binary.LittleEndian.PutUint32(unsafe.Slice((*byte)(a.at(pos)), 8), n)
		binary.LittleEndian.PutUint32(unsafe.Slice((*byte)(a.at(pos+4)), 4), typ)
	}
	put(8, 0, layout.RecordMessage)
	put(a.cap-8, 0, layout.RecordWrapped)
	for _, pos := range []uint64{8, a.cap - 8} {
		if rec, ok := a.read(pos, 4*a.cap); ok {
			t.Errorf("read at position %d, off a record boundary, = %+v, ok", pos, rec)
		}
	}
}

// TestAReaderJoiningAtLatestRefusesACursorOffARecordBoundary: the cursor
// a joining reader loads after its entry is visible is checked as the
// first one is: a value that is no record boundary is ErrCorrupt, not the
// reader's start (which it stored in its shared entry and read records
// from).
func TestAReaderJoiningAtLatestRefusesACursorOffARecordBoundary(t *testing.T) {
	requireStepHook(t)
	r := newTestRing(t, Options{Kind: Broadcast, Records: true, Capacity: 256, MaxMessage: 64})
	p := mustProducer(t, r)
	if err := p.TrySend([]byte("one")); err != nil {
		t.Fatal(err)
	}
	cursor := r.word64(layout.BcastCursorOffset)
	setStepHook(func(s step) {
		if s == stepJoining {
			cursor.Store(cursor.Load() + 8)
		}
	})
	defer setStepHook(nil)
	for _, policy := range []Policy{Lossless, Lossy} {
		if _, err := r.Reader(ReaderOptions{Policy: policy, Start: Latest}); !errors.Is(err, ErrCorrupt) {
			t.Errorf("a %v reader joining at Latest while the cursor moved off a record boundary: Reader = %v, want ErrCorrupt", policy, err)
		}
		cursor.Store(cursor.Load() - 8)
	}
}

// TestRecordHostileLengthCrossingTheEndIsErrCorrupt: a message record near
// the end of the data area whose length, within MaxMessage, would run past
// the end, while the producer's cursor lies beyond that end (a wrapped
// record was published after it), so that neither the MaxMessage check nor
// the cursor check refuses it: the record's own bound must (an in-place
// read would hand out the counter area after the data area).
func TestRecordHostileLengthCrossingTheEndIsErrCorrupt(t *testing.T) {
	const size, c = 32, 256 // records of 48 bytes: at 0, 48, ..., 192, then one wrapped at 240
	for _, kind := range []string{"spsc", "lossless", "lossy"} {
		for _, inPlace := range []bool{false, true} {
			name := kind + "/Recv"
			if inPlace {
				name = kind + "/Receive"
			}
			t.Run(name, func(t *testing.T) {
				o := Options{Kind: SPSC, Records: true, Capacity: c, MaxMessage: 64}
				if kind != "spsc" {
					o.Kind = Broadcast
				}
				r := newTestRing(t, o)
				rd := readEndOf(t, r, kind)
				p := mustProducer(t, r)
				ctx := context.Background()
				m, buf := make([]byte, size), make([]byte, 64)
				send := func(seq uint64) {
					encodeMessage(m, seq)
					if err := p.Send(ctx, m); err != nil {
						t.Fatalf("Send %d: %v", seq, err)
					}
				}
				for seq := range uint64(4) {
					send(seq)
				}
				for seq := range uint64(4) { // up to the cursor it loaded: the next read loads it again
					if n, err := rd.Recv(ctx, buf); err != nil || checkMessage(buf[:n], seq, size) != nil {
						t.Fatalf("Recv %d = %d, %v", seq, n, err)
					}
				}
				send(4)
				send(5) // wrapped: its header at 240, its payload from the next lap's start; the cursor at 288
				at := uint64(4 * layout.RecordSize(size))
				binary.LittleEndian.PutUint32(r.mem[r.hdr.SlotsOffset+at:], 64) // 192 + 16 + 64 > 256
				var err error
				if inPlace {
					var got []byte
					got, err = rd.Receive(ctx)
					if err == nil {
						t.Fatalf("Receive handed out %d bytes from offset %d of a %d-byte data area", len(got), at+layout.RecordHeaderSize, c)
					}
				} else {
					_, err = rd.Recv(ctx, buf)
				}
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("a record crossing the end = %v, want ErrCorrupt", err)
				}
			})
		}
	}
}

// recReadEnd is the read calls a Consumer and a Reader share.
type recReadEnd interface {
	Recv(context.Context, []byte) (int, error)
	TryRecv([]byte) (int, error)
	Receive(context.Context) ([]byte, error)
	Release() error
}

// readEndOf is r's read end for kind: "spsc" the consumer, "lossless" or
// "lossy" a reader of that policy.
func readEndOf(t testing.TB, r *Ring, kind string) recReadEnd {
	t.Helper()
	switch kind {
	case "spsc":
		return mustConsumer(t, r)
	case "lossless":
		return mustReader(t, r, ReaderOptions{Policy: Lossless})
	}
	return mustReader(t, r, ReaderOptions{Policy: Lossy})
}

// TestRecordCursorMovedALapOnIsErrCorrupt: an SPSC record consumer that
// has taken every message finds the producer's cursor moved a whole ring
// on (a value its bounds let through: at most a ring ahead of what it
// released). The ring then holds the last lap's records, whole and
// checksummed; their sequence numbers, below what it consumed, give them
// away, where a slot ring can tell nothing (a tester: 11 old messages
// delivered again, silently). Sequence numbers only grow, across producer
// takeovers too, so no correct ring trips it.
func TestRecordCursorMovedALapOnIsErrCorrupt(t *testing.T) {
	const size, c = 16, 256 // records of 32 bytes: eight a lap, none wrapped
	for _, call := range []string{"recv", "receive", "batch", "batch after two new ones"} {
		t.Run(call, func(t *testing.T) {
			r := newTestRing(t, Options{Kind: SPSC, Records: true, Capacity: c, MaxMessage: 64})
			cons, p := mustConsumer(t, r), mustProducer(t, r)
			ctx := context.Background()
			m, buf := make([]byte, size), make([]byte, 64)
			taken := uint64(12) // a lap and a half, each taken as it comes
			if call == "batch after two new ones" {
				taken = 10 // 10 and 11 are still to take: the batch meets the old lap after them
			}
			for seq := range uint64(12) {
				encodeMessage(m, seq)
				if err := p.Send(ctx, m); err != nil {
					t.Fatal(err)
				}
				if seq >= taken {
					continue
				}
				if n, err := cons.Recv(ctx, buf); err != nil || checkMessage(buf[:n], seq, size) != nil {
					t.Fatalf("Recv %d = %d, %v", seq, n, err)
				}
			}
			// A ring past what the consumer released (taken × 32): the most
			// its bounds let through. From 384 that is 640: the records at
			// 384.. are messages 4..11 of the lap before; from 320, 576:
			// messages 10 and 11, then 4..7 and 8..9 of the lap before.
			binary.LittleEndian.PutUint64(r.mem[layout.ProducerCursorOffset:], taken*layout.RecordSize(size)+c)
			var err error
			switch call {
			case "recv":
				_, err = cons.TryRecv(buf)
			case "receive":
				_, err = cons.TryReceive()
			default:
				_, err = cons.ReceiveBatch(ctx, 4)
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("%s with the cursor a lap on = %v, want ErrCorrupt (an old lap's message 4 after message 11)", call, err)
			}
		})
	}
}
