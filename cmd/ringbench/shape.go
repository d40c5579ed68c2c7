//go:build linux

package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/shmring/shmring/internal/codec"
	"github.com/shmring/shmring/internal/report"
)

// A msgSize is one item of --sizes: one size (min == max), or a mix whose
// every message's length is drawn from min to max by its sequence number
// (codec.Mix: log-uniform, known to both ends without being sent).
type msgSize struct{ min, max int }

func fixedSize(n int) msgSize { return msgSize{n, n} }

func (s msgSize) mixed() bool { return s.min != s.max }

// String is the size as the tables title it: "64-byte", "8 MiB", "mixed 64 B–64 KiB".
func (s msgSize) String() string {
	if !s.mixed() {
		return report.Size(s.max)
	}
	return fmt.Sprintf("mixed %s–%s (log-uniform)", shortSize(s.min), shortSize(s.max))
}

// label is the size in file and benchmark names: "64", "mix64-65536".
func (s msgSize) label() string {
	if !s.mixed() {
		return strconv.Itoa(s.max)
	}
	return fmt.Sprintf("mix%d-%d", s.min, s.max)
}

func shortSize(n int) string {
	return strings.Replace(report.Size(n), "-byte", " B", 1)
}

// Touch modes (--touch): what the two ends do with each message's bytes.
const (
	touchAll  = "all"  // the sender writes every byte (codec.Put), the receiver checks every byte (codec.Verify)
	touchEnds = "ends" // the sequence number in the first and last 8 bytes only (codec.PutEnds, VerifyEnds)
)

// A shape is what every message of a run looks like to its two ends: its
// length and which of its bytes they write and check.
type shape struct {
	size int        // the largest message: buffers and slots are this big
	mix  *codec.Mix // nil: every message is size bytes
	ends bool       // --touch=ends
}

func newShape(size, minSize int, touch string) (shape, error) {
	sh := shape{size: size, ends: touch == touchEnds}
	if minSize > 0 && minSize != size {
		m, err := codec.NewMix(minSize, size)
		if err != nil {
			return sh, err
		}
		sh.mix = m
	}
	return sh, nil
}

// len is message seq's length.
func (sh shape) len(seq uint64) int {
	if sh.mix == nil {
		return sh.size
	}
	return sh.mix.Len(seq)
}

// mean is the mean message length.
func (sh shape) mean() int {
	if sh.mix == nil {
		return sh.size
	}
	return int(sh.mix.Mean())
}

// put stamps message seq into b (len(b) = sh.len(seq)).
func (sh shape) put(b []byte, seq uint64) {
	if sh.ends {
		codec.PutEnds(b, seq)
		return
	}
	codec.Put(b, codec.Header{Seq: seq})
}

// verify checks that b is message seq as put stamped it.
func (sh shape) verify(b []byte, seq uint64) error {
	if sh.ends {
		return codec.VerifyEnds(b, seq)
	}
	return codec.Verify(b, codec.Header{Seq: seq})
}
