package ringprom

import (
	"math"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/shmring/shmring/internal/ringstat"
	"github.com/shmring/shmring/layout"
)

// TestANativeHistogramCountsWhatItsBucketsHold: the native histogram's
// count is its zero bucket and its buckets summed, latencies beyond the
// file's last bucket (Over) included, in the bucket of +Inf. The count
// took Over in while no bucket held it, and a Prometheus that checks
// native histograms refuses such a sample.
func TestANativeHistogramCountsWhatItsBucketsHold(t *testing.T) {
	l := &ringstat.Latency{Zero: 2, Over: 3, Buckets: map[int]uint64{10: 5, 12: 7, layout.HistBuckets - 1: 1}}
	var m dto.Metric
	if err := newLatencyMetric(prometheus.NewDesc("x_seconds", "x", nil, nil), l).Write(&m); err != nil {
		t.Fatal(err)
	}
	h := m.GetHistogram()
	buckets := map[int]int64{}
	sum := h.GetZeroCount()
	idx, di := 0, 0
	var c int64
	for _, s := range h.GetPositiveSpan() {
		idx += int(s.GetOffset()) // the first span's is absolute, the others' a gap after the last
		for range s.GetLength() {
			c += h.GetPositiveDelta()[di]
			di++
			buckets[idx] = c
			sum += uint64(c)
			idx++
		}
	}
	if sum != h.GetSampleCount() {
		t.Errorf("the buckets hold %d samples, the count is %d (buckets %v)", sum, h.GetSampleCount(), buckets)
	}
	want := map[int]int64{10 - layout.HistKeyOffset: 5, 12 - layout.HistKeyOffset: 7, layout.HistBuckets - 1 - layout.HistKeyOffset: 1, infBucket: 3}
	for i, n := range want {
		if buckets[i] != n {
			t.Errorf("native bucket %d holds %d, want %d (buckets %v)", i, buckets[i], n, buckets)
		}
	}
	if cb := h.GetBucket(); cb[len(cb)-1].GetCumulativeCount() != 2+5+7 || h.GetSampleCount() != 2+5+7+1+3 {
		t.Errorf("classic: last bucket %d, count %d; want 14 at or below 64 s (the last of the file's buckets is above it) and 18 in all", cb[len(cb)-1].GetCumulativeCount(), h.GetSampleCount())
	}
}

// TestAHostileHistogramStillCountsWhatItsBucketsHold: figures no correct
// file holds (a count near 2^64, buckets near 2^63) are clamped so that
// the count is still the native buckets' sum and the classic +Inf bucket.
// The count saturated at 2^64-1 beside buckets capped at 2^62-1 apart, a
// histogram Prometheus refuses. (From a black-box tester.)
func TestAHostileHistogramStillCountsWhatItsBucketsHold(t *testing.T) {
	for _, l := range []*ringstat.Latency{
		{Over: math.MaxUint64},
		{Buckets: map[int]uint64{0: math.MaxInt64, 1: math.MaxInt64}},
		{Zero: math.MaxUint64, Over: 5},
		{Zero: math.MaxUint64, Over: math.MaxUint64, Buckets: map[int]uint64{10: math.MaxUint64, layout.HistBuckets - 1: math.MaxUint64}},
	} {
		var m dto.Metric
		if err := newLatencyMetric(prometheus.NewDesc("x_seconds", "x", nil, nil), l).Write(&m); err != nil {
			t.Fatal(err)
		}
		h := m.GetHistogram()
		sum, c := h.GetZeroCount(), int64(0)
		for _, d := range h.GetPositiveDelta() {
			if c += d; c < 0 {
				t.Fatalf("%+v: a native bucket below zero", l)
			}
			sum += uint64(c)
		}
		if sum != h.GetSampleCount() {
			t.Errorf("%+v: the native buckets hold %d, the count is %d", l, sum, h.GetSampleCount())
		}
		if cb := h.GetBucket(); cb[len(cb)-1].GetCumulativeCount() > h.GetSampleCount() {
			t.Errorf("%+v: the classic buckets hold more than the count", l)
		}
	}
}

// TestInfBucketIsWhereClientGolangPutsInf: the native bucket Over goes
// into is the one client_golang gives an observation of +Inf at the
// file's schema (client_golang takes the coarsest schema whose bucket
// factor is at most the one asked for: 1.2 asks for 2^(1/4), schema 2).
func TestInfBucketIsWhereClientGolangPutsInf(t *testing.T) {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:                        "x_seconds",
		Help:                        "x",
		NativeHistogramBucketFactor: 1.2,
	})
	h.Observe(math.Inf(1))
	var m dto.Metric
	if err := h.Write(&m); err != nil {
		t.Fatal(err)
	}
	nh := m.GetHistogram()
	if nh.GetSchema() != layout.HistSchema {
		t.Fatalf("client_golang chose schema %d, want %d", nh.GetSchema(), layout.HistSchema)
	}
	if spans := nh.GetPositiveSpan(); len(spans) != 1 || spans[0].GetLength() != 1 || int(spans[0].GetOffset()) != infBucket {
		t.Errorf("client_golang put +Inf in %v; infBucket is %d", spans, infBucket)
	}
}
