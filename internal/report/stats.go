package report

import (
	"fmt"
	"slices"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Spread is a figure over repetitions: the median, and the range.
type Spread struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

// SpreadOf summarises xs.
func SpreadOf(xs []float64) Spread {
	if len(xs) == 0 {
		return Spread{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return Spread{Median: med, Min: s[0], Max: s[len(s)-1]}
}

// Round trips are recorded in nanoseconds from 1 ns to 10 s with three
// significant digits: a reported percentile is within 0.1% of the true one.
const (
	HistMin    = 1
	HistMax    = int64(10 * time.Second)
	histDigits = 3
)

// NewHist is an empty latency histogram.
func NewHist() *hdrhistogram.Histogram { return hdrhistogram.New(HistMin, HistMax, histDigits) }

// Record records d, clamped to the histogram's range, so that a stall
// longer than 10 s still counts (as 10 s) instead of vanishing.
func Record(h *hdrhistogram.Histogram, d time.Duration) {
	_ = h.RecordValue(min(max(d.Nanoseconds(), HistMin), HistMax)) // cannot fail: in range
}

// Quantiles are the percentiles every latency table and file shows.
var Quantiles = []struct {
	Q    float64
	Name string
}{{0, "min"}, {50, "p50"}, {90, "p90"}, {99, "p99"}, {99.9, "p99.9"}, {99.99, "p99.99"}, {100, "max"}}

// At is h's q-th percentile, with 0 meaning the minimum and 100 the maximum.
func At(h *hdrhistogram.Histogram, q float64) time.Duration {
	switch q {
	case 0:
		return time.Duration(h.Min())
	case 100:
		return time.Duration(h.Max())
	}
	return time.Duration(h.ValueAtQuantile(q))
}

// Percentiles maps each of Quantiles' names to h's value, in ns.
func Percentiles(h *hdrhistogram.Histogram) map[string]int64 {
	out := map[string]int64{}
	for _, q := range Quantiles {
		out[q.Name] = At(h, q.Q).Nanoseconds()
	}
	return out
}

// Encode is h in HdrHistogram's compressed V2 encoding, base64 (the
// "HISTF…" strings every HdrHistogram library decodes).
func Encode(h *hdrhistogram.Histogram) (string, error) {
	b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return "", fmt.Errorf("encode histogram: %w", err)
	}
	return string(b), nil
}

// Decode reverses Encode.
func Decode(s string) (*hdrhistogram.Histogram, error) {
	h, err := hdrhistogram.Decode([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("decode histogram: %w", err)
	}
	return h, nil
}

// Merge is every histogram of hs in one (nil ones skipped).
func Merge(hs ...*hdrhistogram.Histogram) *hdrhistogram.Histogram {
	m := NewHist()
	for _, h := range hs {
		if h != nil {
			m.Merge(h)
		}
	}
	return m
}
