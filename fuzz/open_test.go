//go:build linux

package fuzz

import (
	"context"
	"encoding/binary"
	"os"
	"testing"
	"time"

	"github.com/shmring/shmring/layout"
	"github.com/shmring/shmring/ring"
)

// FuzzOpen writes the input as a ring file under /dev/shm and opens it. Open
// must refuse it with ErrCorrupt, ErrVersion, ErrNotReady or ErrFileTooBig (a
// header claiming more than MaxFileSize), or accept it;
// whatever it accepts is then used in both roles, and nothing may panic,
// fault or return an error that is not a ring sentinel.
//
//	go test -run='^$' -fuzz='^FuzzOpen$' -fuzztime=60s ./fuzz/
func FuzzOpen(f *testing.F) {
	skipWithoutShm(f)
	live, closed := seedRingFiles(f)
	f.Add(live)
	f.Add(closed)
	le := binary.LittleEndian
	for _, mod := range []func(b []byte) []byte{
		func(b []byte) []byte { return b[:0] },                                      // the creator has not sized it yet
		func(b []byte) []byte { return b[:layout.HeaderSize-28] },                   // shorter than a header
		func(b []byte) []byte { return b[:layout.HeaderSize] },                      // a header and nothing else
		func(b []byte) []byte { return b[:len(b)-1] },                               // truncated
		func(b []byte) []byte { return append(b, 0) },                               // one byte too long
		func(b []byte) []byte { le.PutUint32(b[layout.ReadyOffset:], 0); return b }, // not ready
		func(b []byte) []byte { // not ready, and not a ring being built
			le.PutUint32(b[layout.ReadyOffset:], 0)
			b[layout.MagicOffset] = 'X'
			return b
		},
		func(b []byte) []byte { // not ready, header still blank
			clear(b[:layout.HeaderSize])
			return b
		},
		func(b []byte) []byte { le.PutUint32(b[layout.ReadyOffset:], 0xdeadbeef); return b },
		func(b []byte) []byte { le.PutUint32(b[layout.VersionOffset:], layout.Version+1); return b },
		func(b []byte) []byte { b[layout.ChecksumOffset] ^= 1; return b },
		func(b []byte) []byte { // a consistent lie: more slots, re-checksummed
			le.PutUint64(b[layout.SlotCountOffset:], 2*le.Uint64(b[layout.SlotCountOffset:]))
			le.PutUint32(b[layout.ChecksumOffset:], layout.Checksum(b))
			return b
		},
		func(b []byte) []byte { // a consistent lie of a ring above the size cap
			h, _ := layout.Decode(b)
			h.SlotSize, h.SlotCount = 1<<30, 1<<10
			big, _ := layout.NewHeaderFor(layout.Params{Kind: h.Kind, SlotSize: h.SlotSize, SlotCount: h.SlotCount})
			big.Encode(b)
			return b
		},
		func(b []byte) []byte { le.PutUint64(b[layout.ProducerCursorOffset:], 1<<63); return b },
		func(b []byte) []byte { le.PutUint64(b[layout.ConsumerCursorOffset:], 1<<20); return b },
		func(b []byte) []byte { // the oldest unreleased message claims to be huge
			h, _ := layout.Decode(b)
			pos := le.Uint64(b[layout.ConsumerCursorOffset:])
			le.PutUint32(b[h.SlotOffset(pos&(h.SlotCount-1)):], 0xffffffff)
			return b
		},
		func(b []byte) []byte { le.PutUint32(b[layout.ProducerStateOffset:], 0xff); return b },
		func(b []byte) []byte { le.PutUint32(b[layout.ProducerStateOffset:], layout.StateClosed); return b },
		func(b []byte) []byte { le.PutUint32(b[layout.ConsumerStateOffset:], 0x80000001); return b },
		func(b []byte) []byte {
			le.PutUint32(b[layout.ProducerFlagsOffset:], 0xffffffff)
			le.PutUint32(b[layout.ConsumerFlagsOffset:], layout.FlagReleaseStores)
			return b
		},
	} {
		f.Add(mod(append([]byte(nil), live...)))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		name := uniqueName("open")
		path := "/dev/shm/" + name
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(path)
		r, err := ring.OpenWith(name, ring.OpenOptions{Timeout: time.Millisecond})
		if err != nil {
			checkErr(t, "Open", err, ring.ErrCorrupt, ring.ErrVersion, ring.ErrNotReady, ring.ErrFileTooBig)
			return
		}
		defer func() {
			if err := r.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		}()
		if h := r.Header(); h.FileSize != uint64(len(data)) || h.SlotsOffset+h.SlotCount*h.SlotStride > h.EndOffset || h.EndOffset+layout.EndSize != h.FileSize {
			t.Fatalf("Open accepted a %d-byte file with header %+v", len(data), h)
		}
		c := useConsumer(t, r)
		useProducer(t, r, c)
	})
}

// seedRingFiles makes a real ring with messages in it and returns its bytes
// while both roles are held (states attached) and after they are closed.
func seedRingFiles(f *testing.F) (live, closed []byte) {
	name := uniqueName("seed")
	r, err := ring.Create(name, ring.Options{Kind: ring.SPSC, SlotSize: 24, Slots: 4})
	if err != nil {
		f.Fatal(err)
	}
	defer ring.Remove(name)
	defer r.Close()
	p, err := r.Producer()
	if err != nil {
		f.Fatal(err)
	}
	c, err := r.Consumer()
	if err != nil {
		f.Fatal(err)
	}
	for _, m := range []string{"hello", "", "a message of 24 bytes...", "!"} {
		if err := p.TrySend([]byte(m)); err != nil {
			f.Fatal(err)
		}
	}
	if _, err := c.TryRecv(make([]byte, 24)); err != nil {
		f.Fatal(err)
	}
	if live, err = os.ReadFile(r.Path()); err != nil {
		f.Fatal(err)
	}
	p.Close()
	c.Close()
	if closed, err = os.ReadFile(r.Path()); err != nil {
		f.Fatal(err)
	}
	return live, closed
}

// useConsumer takes the consumer role of a ring whose control area and
// slots hold whatever the input said, and reads from it every way there is.
func useConsumer(t *testing.T, r *ring.Ring) *ring.Consumer {
	c, err := r.Consumer()
	if err != nil {
		checkErr(t, "Consumer", err, ring.ErrCorrupt)
		return nil
	}
	c.SetWait(fastWait)
	size := r.SlotSize()
	for range 3 {
		m, err := c.TryReceive()
		checkErr(t, "TryReceive", err, ring.ErrCorrupt, ring.ErrEmpty, ring.ErrClosed, ring.ErrPeerDead)
		if err == nil {
			if len(m) > size {
				t.Fatalf("TryReceive: %d bytes from a ring of %d-byte slots", len(m), size)
			}
			touch(m)
			c.Release()
		}
		n, err := c.TryRecv(make([]byte, size))
		checkErr(t, "TryRecv", err, ring.ErrCorrupt, ring.ErrEmpty, ring.ErrClosed, ring.ErrPeerDead)
		if n > size {
			t.Fatalf("TryRecv: %d bytes into a %d-byte buffer", n, size)
		}
	}
	ctx, cancel := deadline(300 * time.Microsecond)
	defer cancel()
	ms, err := c.ReceiveBatch(ctx, 4)
	checkErr(t, "ReceiveBatch", err, ring.ErrCorrupt, ring.ErrClosed, ring.ErrPeerDead, context.DeadlineExceeded)
	if err == nil {
		for i := range ms.Len() {
			m, err := ms.At(i)
			checkErr(t, "At", err, ring.ErrCorrupt)
			touch(m)
		}
		c.Release()
	}
	m, err := c.Receive(ctx)
	checkErr(t, "Receive", err, ring.ErrCorrupt, ring.ErrClosed, ring.ErrPeerDead, context.DeadlineExceeded)
	if err == nil {
		touch(m)
		c.Release()
	}
	return c
}

// useProducer takes the producer role and sends; then c, if any, reads.
func useProducer(t *testing.T, r *ring.Ring, c *ring.Consumer) {
	p, err := r.Producer()
	if err != nil {
		checkErr(t, "Producer", err, ring.ErrCorrupt)
		return
	}
	p.SetWait(fastWait)
	size := r.SlotSize()
	checkErr(t, "TrySend too large", p.TrySend(make([]byte, size+1)), ring.ErrTooLarge)
	checkErr(t, "TrySend", p.TrySend([]byte("x")), ring.ErrCorrupt, ring.ErrFull, ring.ErrPeerDead)
	ctx, cancel := deadline(300 * time.Microsecond)
	defer cancel()
	b, err := p.ClaimBatch(ctx, 3)
	checkErr(t, "ClaimBatch", err, ring.ErrCorrupt, ring.ErrPeerDead, context.DeadlineExceeded)
	if err == nil {
		for i := range b.Len() {
			if len(b.Slot(i)) != size {
				t.Fatalf("batch slot %d: %d bytes, want %d", i, len(b.Slot(i)), size)
			}
			checkErr(t, "SetLen", b.SetLen(i, i%(size+1)), ring.ErrTooLarge)
		}
		checkErr(t, "CommitBatch", p.CommitBatch(b.Len()))
	}
	if c != nil {
		for range 2 {
			_, err := c.TryRecv(make([]byte, size))
			checkErr(t, "TryRecv after send", err, ring.ErrCorrupt, ring.ErrEmpty, ring.ErrClosed, ring.ErrPeerDead)
		}
	}
	if err := p.Close(); err != nil {
		t.Fatalf("Producer.Close: %v", err)
	}
}
