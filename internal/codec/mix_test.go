package codec

import (
	"errors"
	"math"
	"testing"
)

func TestMixLengthsStayInRangeAndCoverEveryOctaveAlike(t *testing.T) {
	m, err := NewMix(64, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	const n = 1 << 18
	var octaves [10]int // 64-128, 128-256, …, 32k-64k
	sawMin, sawMax := false, false
	for seq := uint64(0); seq < n; seq++ {
		l := m.Len(seq)
		if l < 64 || l > 64<<10 {
			t.Fatalf("message %d: length %d outside 64..65536", seq, l)
		}
		sawMin, sawMax = sawMin || l == 64, sawMax || l == 64<<10
		octaves[min(int(math.Log2(float64(l)/64)), 9)]++
	}
	if !sawMin || !sawMax {
		t.Errorf("smallest seen=%v, largest seen=%v: want both ends drawn", sawMin, sawMax)
	}
	for i, c := range octaves { // each octave expects n/10; allow ±10 %
		if c < n/10*9/10 || c > n/10*11/10 {
			t.Errorf("octave %d (%d-%d B): %d of %d lengths, want about %d", i, 64<<i, 128<<i, c, n, n/10)
		}
	}
	if mean := m.Mean(); mean < 9000 || mean > 10000 { // (hi-lo)/ln(hi/lo) ≈ 9445
		t.Errorf("mean %.0f, want about 9445 (log-uniform from 64 to 65536)", mean)
	}
}

func TestMixIsTheSameOnBothEnds(t *testing.T) {
	a, _ := NewMix(8, 1<<20)
	b, _ := NewMix(8, 1<<20)
	for seq := uint64(0); seq < 1<<16; seq++ {
		if a.Len(seq) != b.Len(seq) {
			t.Fatalf("message %d: lengths %d and %d", seq, a.Len(seq), b.Len(seq))
		}
	}
}

func TestMixRefusesImpossibleBounds(t *testing.T) {
	for _, c := range [][2]int{{4, 64}, {64, 32}, {8, 2 << 30}} {
		if _, err := NewMix(c[0], c[1]); err == nil {
			t.Errorf("NewMix(%d, %d) accepted", c[0], c[1])
		}
	}
}

func TestVerifyEndsCatchesAWrongStartOrEnd(t *testing.T) {
	for size := MinSize; size <= 40; size++ {
		msg := make([]byte, size)
		PutEnds(msg, 7)
		if err := VerifyEnds(msg, 7); err != nil {
			t.Fatalf("size=%d: fresh message rejected: %v", size, err)
		}
		if err := VerifyEnds(msg, 8); !errors.Is(err, ErrIntegrity) {
			t.Fatalf("size=%d: message 7 accepted as 8 (err=%v)", size, err)
		}
		if size >= EndsSize {
			msg[size-1] ^= 1
			if err := VerifyEnds(msg, 7); !errors.Is(err, ErrIntegrity) {
				t.Fatalf("size=%d: a torn end not detected", size)
			}
		}
	}
}
