//go:build linux

package ringstat

import (
	"context"
	"encoding/binary"
	"os"
	"testing"

	"github.com/shmring/shmring/layout"
	"github.com/shmring/shmring/ring"
)

// TestABroadcastBacklogIsTheLiveReaders: a reader that died attached
// keeps its entry's lag (the messages it did not get), but holds nothing
// back (the producer evicts it) and will never move on, so the ring's
// Consumed and Backlog follow the live readers alone; a ring whose every
// attached reader is dead has no backlog. (From a black-box tester:
// "backlog 100" on a 4-slot ring whose only live reader had read all.)
// The header's reader entries are named max_readers, not max_consumers.
func TestABroadcastBacklogIsTheLiveReaders(t *testing.T) {
	r, path := newRing(t, ring.Options{Kind: ring.Broadcast, SlotSize: 64, Slots: 16, MaxReaders: 4})
	live := readersAt(t, r, 10, 6)[0]
	// Entry 3: a lossless reader that died attached at position 2 (its
	// words as it left them; no process holds its lock).
	plantDeadReader(t, path, 3, 2)

	s, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Consumed != 6 || s.Backlog != 4 {
		t.Errorf("consumed %d backlog %d, want 6 and 4 (the live reader's)", s.Consumed, s.Backlog)
	}
	dead := findReader(s, 3)
	if dead == nil || !dead.Attached || dead.Live || dead.Lag == nil || *dead.Lag != 8 {
		t.Errorf("the dead reader's entry: %+v, want attached, not live, lag 8", dead)
	}
	if s.MaxReaders != 4 || s.MaxConsumers != 0 {
		t.Errorf("max_readers %d, max_consumers %d; want 4 and 0", s.MaxReaders, s.MaxConsumers)
	}

	if err := live.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Read(path); err != nil {
		t.Fatal(err)
	}
	if s.Consumed != 10 || s.Backlog != 0 {
		t.Errorf("with only the dead reader attached: consumed %d backlog %d, want 10 and 0", s.Consumed, s.Backlog)
	}
}

// readersAt sends sent messages on r, through a producer it keeps, and
// makes a lossless reader for each of reads that has read that many.
func readersAt(t *testing.T, r *ring.Ring, sent int, reads ...int) []*ring.Reader {
	t.Helper()
	p, err := r.Producer()
	if err != nil {
		t.Fatal(err)
	}
	rds := make([]*ring.Reader, len(reads))
	for i := range rds {
		if rds[i], err = r.Reader(ring.ReaderOptions{Policy: ring.Lossless}); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	for range sent {
		if err := p.Send(ctx, []byte("m")); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, r.SlotSize())
	for i, n := range reads {
		for range n {
			if _, err := rds[i].Recv(ctx, buf); err != nil {
				t.Fatal(err)
			}
		}
	}
	return rds
}

// plantDeadReader writes reader entry i's words as a lossless reader at
// cursor leaves them when it dies attached.
func plantDeadReader(t *testing.T, path string, i uint32, cursor uint64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	off := int64(layout.BcastReaderOffset(i))
	for _, w := range []struct {
		at int64
		b  []byte
	}{
		{off + layout.ReaderCursorOffset, binary.LittleEndian.AppendUint64(nil, cursor)},
		{off + layout.ReaderPolicyOffset, binary.LittleEndian.AppendUint32(nil, layout.PolicyLossless)},
		{off + layout.ReaderIncarnationOffset, binary.LittleEndian.AppendUint32(nil, 1)},
		{off + layout.ReaderStateOffset, binary.LittleEndian.AppendUint32(nil, layout.ReaderAttached)},
	} {
		if _, err := f.WriteAt(w.b, w.at); err != nil {
			t.Fatal(err)
		}
	}
}

func findReader(s Snapshot, entry uint32) *Role {
	for i := range s.Roles {
		if s.Roles[i].Role == "reader" && s.Roles[i].Entry == entry {
			return &s.Roles[i]
		}
	}
	return nil
}

// TestABroadcastBacklogIsNeverMoreThanTheRing: a lossy reader that was
// lapped and has read nothing keeps its lag (what it missed and what is
// left), but the ring's backlog is at most what the ring holds: 8 on an
// 8-slot ring and a record ring's capacity in bytes, not the 20 messages
// published (a black-box tester: "backlog 20" on an 8-slot ring).
func TestABroadcastBacklogIsNeverMoreThanTheRing(t *testing.T) {
	for _, o := range []ring.Options{
		{Kind: ring.Broadcast, SlotSize: 64, Slots: 8, MaxReaders: 2},
		{Kind: ring.Broadcast, Records: true, Capacity: 256, MaxMessage: 64, MaxReaders: 2},
	} {
		r, path := newRing(t, o)
		rd, err := r.Reader(ring.ReaderOptions{Policy: ring.Lossy})
		if err != nil {
			t.Fatal(err)
		}
		p, err := r.Producer()
		if err != nil {
			t.Fatal(err)
		}
		for range 20 {
			if err := p.Send(context.Background(), []byte("m")); err != nil {
				t.Fatal(err)
			}
		}
		s, err := Read(path)
		if err != nil {
			t.Fatal(err)
		}
		capacity := uint64(r.Slots()) // a record ring's: its bytes
		if o.Records {
			capacity = uint64(o.Capacity)
		}
		lossy := findReader(s, 0)
		if s.Backlog != capacity || s.Consumed != s.Published-capacity || lossy == nil || lossy.Lag == nil || *lossy.Lag != s.Published {
			t.Errorf("records=%v: published %d consumed %d backlog %d, reader %+v; want the backlog %d, the reader's lag %d",
				o.Records, s.Published, s.Consumed, s.Backlog, lossy, capacity, s.Published)
		}
		rd.Close()
	}
}
