// Package report holds what every ringbench table is made of: the machine,
// the spread of repeated figures, latency histograms, ratios, units, and
// the table writer.
package report

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Ratio phrases x, how many times better a base is than another, as
// "12x <better>" or, when x < 1, as "3.4x <worse>".
func Ratio(x float64, better, worse string) string {
	if x < 1 {
		return fmt.Sprintf("%sx %s", Factor(1/x), worse)
	}
	return fmt.Sprintf("%sx %s", Factor(x), better)
}

// Factor prints a ratio with about three significant digits.
func Factor(x float64) string {
	switch {
	case x < 0.1:
		return fmt.Sprintf("%.2g", x)
	case x >= 100:
		return fmt.Sprintf("%.0f", x)
	case x >= 10:
		return fmt.Sprintf("%.1f", x)
	default:
		return fmt.Sprintf("%.2f", x)
	}
}

// Rate prints messages per second: "1.23 M msg/s".
func Rate(r float64) string {
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.2f M msg/s", r/1e6)
	case r >= 1e3:
		return fmt.Sprintf("%.1f k msg/s", r/1e3)
	default:
		return fmt.Sprintf("%.0f msg/s", r)
	}
}

// RateShort prints a rate for a range column: "1.23M".
func RateShort(r float64) string {
	return strings.Replace(strings.TrimSuffix(Rate(r), " msg/s"), " ", "", 1)
}

// Size prints a message size: "64-byte", "4 KiB", "8 MiB".
func Size(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	default:
		return fmt.Sprintf("%d-byte", n)
	}
}

// Dur prints a duration with two decimals in its natural unit.
func Dur(d time.Duration) string {
	switch {
	case d < time.Microsecond:
		return fmt.Sprintf("%d ns", d.Nanoseconds())
	case d < time.Millisecond:
		return fmt.Sprintf("%.2f µs", float64(d)/float64(time.Microsecond))
	case d < time.Second:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
}

// Ns is Dur of a nanosecond count, "-" for none.
func Ns(ns int64) string {
	if ns <= 0 {
		return "-"
	}
	return Dur(time.Duration(ns))
}

// PerMsg is the time one message takes at rate r, "-" for none.
func PerMsg(r float64) string {
	if r <= 0 {
		return "-"
	}
	return Dur(time.Duration(float64(time.Second) / r))
}

// Compare spells out how a base fares against another: by rate (higher is
// better; what names it), then by latency at the median and p99 (lower is
// better; at gives a side's q-th percentile, noun names it). A figure
// either side lacks (0) is left out.
func Compare(what string, base, other float64, noun string, baseAt, otherAt func(q float64) float64) []string {
	var parts []string
	if base > 0 && other > 0 {
		parts = append(parts, Ratio(base/other, what, "lower "+what))
	}
	for _, q := range []struct {
		q    float64
		name string
	}{{50, "median " + noun}, {99, "p99 " + noun}} {
		if b, o := baseAt(q.q), otherAt(q.q); b > 0 && o > 0 {
			parts = append(parts, Ratio(o/b, "lower "+q.name, "higher "+q.name))
		}
	}
	return parts
}

// Table writes right-aligned columns, one row per call, the way every
// ringbench table looks.
type Table struct {
	tw   *tabwriter.Writer
	cols int
}

// NewTable starts a table on w with a header row.
func NewTable(w io.Writer, header ...string) *Table {
	t := &Table{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight), cols: len(header)}
	t.Row(header...)
	return t
}

// Row writes one row; missing cells are left empty.
func (t *Table) Row(cells ...string) {
	for len(cells) < t.cols {
		cells = append(cells, "")
	}
	fmt.Fprintln(t.tw, strings.Join(cells, "\t")+"\t")
}

// Flush ends the table.
func (t *Table) Flush() { t.tw.Flush() }

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
