//go:build linux

package ringstat

import (
	"encoding/binary"
	"os"
	"strings"
	"testing"

	"github.com/shmring/shmring/layout"
	"github.com/shmring/shmring/ring"
)

// putWord writes a little-endian u64 into the file at off, as a hostile
// peer would.
func putWord(t *testing.T, path string, off, v uint64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	if _, err := f.WriteAt(b[:], int64(off)); err != nil {
		t.Fatal(err)
	}
}

// A record ring's words, as a record engine's reader checks them: cursors
// on record boundaries, RecTail a boundary within a ring below the cursor.
// Anything else is corrupt, with the value named.
func TestReadChecksARecordRingsWords(t *testing.T) {
	for _, tc := range []struct {
		name string
		kind ring.Kind
		off  uint64
		v    uint64
		want string // in the problem; "" for a sound ring
	}{
		{"a sound SPSC record ring", ring.SPSC, 0, 0, ""},
		{"an SPSC producer cursor off a record boundary", ring.SPSC, layout.ProducerCursorOffset, 40, "is not a multiple of 16"},
		{"a sound broadcast record ring", ring.Broadcast, 0, 0, ""},
		{"a reader cursor off a record boundary", ring.Broadcast, layout.BcastReaderOffset(0) + layout.ReaderCursorOffset, 8, "is not a multiple of 16"},
		{"a record tail past the cursor", ring.Broadcast, layout.RecTailOffset, 160, "record tail=160"},
		{"a record tail off a record boundary", ring.Broadcast, layout.RecTailOffset, 4, "record tail=4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, path := newRing(t, ring.Options{Kind: tc.kind, Records: true, Capacity: 1024, MaxMessage: 100})
			p, err := r.Producer()
			if err != nil {
				t.Fatal(err)
			}
			if tc.kind == ring.Broadcast {
				rd, err := r.Reader(ring.ReaderOptions{Policy: ring.Lossless})
				if err != nil {
					t.Fatal(err)
				}
				defer rd.Close()
			}
			for range 3 {
				if err := p.Send(t.Context(), []byte("seventeen bytes..")); err != nil { // a 48-byte record
					t.Fatal(err)
				}
			}
			p.Close()
			if tc.off != 0 {
				putWord(t, path, tc.off, tc.v)
			}
			s, err := Read(path)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == "" {
				if s.State.Broken() || !s.Records || s.Capacity != 1024 || s.MaxMessage != 100 || s.Unit != "bytes" || s.Published != 3*48 || s.Sequence != 3 {
					t.Fatalf("snapshot %+v: want sound, a record ring of 1024 B up to 100 B, published 144 bytes in 3 messages", s)
				}
				return
			}
			if s.State != Corrupt || !strings.Contains(s.Problem, tc.want) {
				t.Fatalf("state %s problem %q, want corrupt with %q", s.State, s.Problem, tc.want)
			}
		})
	}
}
