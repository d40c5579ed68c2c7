package ringprom

import (
	"math"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"

	"github.com/shmring/shmring/internal/ringstat"
	"github.com/shmring/shmring/layout"
)

// latencyMetric is a consumer's or reader's latency histogram as one
// Prometheus histogram carrying both forms: the native one (schema 2, the
// file's own buckets, exact: LAYOUT.md section 16.3) for a Prometheus that
// scrapes native histograms, and classic buckets at every power of two of
// seconds (each the sum of four of the file's buckets, so also exact) for
// the text format and for everyone else.
type latencyMetric struct {
	desc   *prometheus.Desc
	l      *ringstat.Latency
	labels []*dto.LabelPair
}

// infBucket is the native bucket of +Inf at schema HistSchema: the one
// after the bucket of math.MaxFloat64 (2^1024 at the top), where
// client_golang counts an observation of +Inf.
const infBucket = 1024<<layout.HistSchema + 1

// Classic bucket bounds: 2^j seconds for j in [classicLo, classicHi], about
// 7.5 ns to 64 s.
const classicLo, classicHi = -27, 6

func newLatencyMetric(d *prometheus.Desc, l *ringstat.Latency, labelValues ...string) prometheus.Metric {
	return &latencyMetric{desc: d, l: l, labels: prometheus.MakeLabelPairs(d, labelValues)}
}

func (m *latencyMetric) Desc() *prometheus.Desc { return m.desc }

// Write fills in the histogram. The file's figures are untrusted: each is
// clamped to maxSamples, so that the count, their sum, fits and is what
// the native buckets and the classic +Inf bucket hold (a Prometheus that
// checks native histograms refuses one whose count differs; a saturating
// count beside buckets capped apart did, for values no correct file
// holds); bad stamps are a counter of their own.
func (m *latencyMetric) Write(out *dto.Metric) error {
	l := m.l
	zero, over := min(l.Zero, maxSamples), min(l.Over, maxSamples)
	count := zero + over
	for _, v := range l.Buckets {
		count += min(v, maxSamples)
	}
	sum := float64(l.SumNs) / 1e9
	h := &dto.Histogram{
		SampleCount:   proto.Uint64(count),
		SampleSum:     proto.Float64(sum),
		Schema:        proto.Int32(layout.HistSchema),
		ZeroThreshold: proto.Float64(0),
		ZeroCount:     proto.Uint64(zero),
	}
	// Native: spans and deltas over Prometheus indexes k - HistKeyOffset,
	// and Over in the bucket of +Inf, as client_golang places an
	// observation of +Inf: the count is the buckets' sum.
	var prev int64
	last := math.MinInt
	add := func(idx int, v uint64) {
		switch {
		case last == math.MinInt:
			h.PositiveSpan = append(h.PositiveSpan, &dto.BucketSpan{Offset: proto.Int32(int32(idx)), Length: proto.Uint32(0)})
		case idx != last+1:
			h.PositiveSpan = append(h.PositiveSpan, &dto.BucketSpan{Offset: proto.Int32(int32(idx - last - 1)), Length: proto.Uint32(0)})
		}
		s := h.PositiveSpan[len(h.PositiveSpan)-1]
		*s.Length++
		n := int64(v)
		h.PositiveDelta = append(h.PositiveDelta, n-prev)
		prev, last = n, idx
	}
	for k := range layout.HistBuckets {
		if v, ok := l.Buckets[k]; ok {
			add(k-layout.HistKeyOffset, min(v, maxSamples))
		}
	}
	if over != 0 {
		add(infBucket, over)
	}
	if len(h.PositiveSpan) == 0 && zero == 0 {
		// An empty native histogram still needs a span to be told from a
		// classic one.
		h.PositiveSpan = []*dto.BucketSpan{{Offset: proto.Int32(0), Length: proto.Uint32(0)}}
	}
	// Classic: cumulative counts at 2^j s, the file's key 4(j+30).
	cum := zero
	k := 0
	for j := classicLo; j <= classicHi; j++ {
		for ; k <= 4*(j+30); k++ {
			cum += min(l.Buckets[k], maxSamples)
		}
		h.Bucket = append(h.Bucket, &dto.Bucket{CumulativeCount: proto.Uint64(cum), UpperBound: proto.Float64(math.Exp2(float64(j)))})
	}
	out.Histogram = h
	out.Label = m.labels
	return nil
}

// maxSamples bounds each of the file's figures as exported: the zero
// bucket, every bucket and Over together then fit in an int64 (the native
// deltas), with room to spare. A correct file never comes near it: some
// 2^54 samples, centuries at a million a second.
const maxSamples = math.MaxInt64 / 2 / (layout.HistBuckets + 2)
