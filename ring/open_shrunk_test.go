package ring

import (
	"errors"
	"io"
	"os"
	"testing"
	"time"
)

// shrinkingReader reads a file whole once, then as a file a peer cut to
// nothing: EOF.
type shrinkingReader struct {
	b     []byte
	reads int
}

func (s *shrinkingReader) ReadAt(p []byte, off int64) (int, error) {
	s.reads++
	if s.reads > 1 {
		return 0, io.EOF
	}
	return copy(p, s.b[off:]), nil
}

// TestAHeaderThatVanishesBetweenItsTwoReadsIsErrTruncated: Open reads the
// header once for its ready word and once more to decode it; a file cut
// between the two reads (a peer's ftruncate racing the Open) is
// ErrTruncated. It was "corrupt: EOF", which names no cause (a black-box
// tester).
func TestAHeaderThatVanishesBetweenItsTwoReadsIsErrTruncated(t *testing.T) {
	r := newTestRing(t, Options{Kind: SPSC, SlotSize: 64, Slots: 8})
	b, err := os.ReadFile(r.Path())
	if err != nil {
		t.Fatal(err)
	}
	_, err = awaitHeader(&shrinkingReader{b: b}, time.Second, false)
	if !errors.Is(err, ErrTruncated) {
		t.Errorf("a header cut between its two reads = %v, want ErrTruncated", err)
	}
}
