package ringstat

import (
	"math/bits"

	"github.com/shmring/shmring/layout"
)

// The counter area (LAYOUT.md section 16): each role's counter block and,
// in a ring with telemetry, each consumer's or reader's latency histogram.
// Every value is untrusted: a block is copied under its seqlock or called
// unstable, and histogram sums are taken with saturating arithmetic.

// Latency is a consumer's or reader's histogram of the time from a
// producer's commit to this role's receive, over the sampled messages.
type Latency struct {
	Count uint64 `json:"count"` // samples recorded, bad ones included
	Bad   uint64 `json:"bad"`   // stamps that were zero or later than the reader's clock
	// SumNs is the nanoseconds summed over the samples placed (Zero, the
	// buckets, Over).
	SumNs uint64 `json:"sum_ns"`
	Zero  uint64 `json:"zero"` // latencies of 0 ns
	Over  uint64 `json:"over"` // beyond the last bucket (about 57 minutes)
	// Buckets are the non-empty buckets by layout key k: latencies L with
	// 2^((k-1)/4) < L·2^30 s <= 2^(k/4) (Prometheus native schema 2, index
	// k - layout.HistKeyOffset).
	Buckets map[int]uint64 `json:"buckets,omitempty"`
	// Percentiles in nanoseconds: the upper bound of the bucket that holds
	// the rank (so within 19 % above the truth). Zero when nothing was placed.
	P50Ns  float64 `json:"p50_ns"`
	P90Ns  float64 `json:"p90_ns"`
	P99Ns  float64 `json:"p99_ns"`
	P999Ns float64 `json:"p999_ns"`
	MaxNs  float64 `json:"max_ns"` // the upper bound of the highest non-empty bucket
}

// Placed is how many samples have a latency: Zero, the buckets and Over
// (saturating).
func (l *Latency) Placed() uint64 {
	n := satAdd(l.Zero, l.Over)
	for _, v := range l.Buckets {
		n = satAdd(n, v)
	}
	return n
}

func satAdd(a, b uint64) uint64 {
	s, c := bits.Add64(a, b, 0)
	if c != 0 {
		return ^uint64(0)
	}
	return s
}

// blockTries bounds the rereads of a counter block whose holder is storing
// it: it stores a block a few times per layout.FlushEvery messages.
const blockTries = 8

// readBlock copies counter block off under its seqlock: the counters by
// name, and whether a stable copy was had.
//
// SYNC POINT: counter seq (the reader's half; the holder's is
// ring/counters.go's flush). An odd seq is a store in progress; the
// counters' loads are ordered before the second load of seq.
func readBlock(w words, off uint64) (map[string]uint64, bool) {
	for range blockTries {
		seq := w.u64(off + layout.CounterSeqOffset)
		if seq&1 != 0 {
			continue
		}
		c := make(map[string]uint64, len(layout.CounterNames))
		for i, name := range layout.CounterNames {
			c[name] = w.u64(off + layout.CounterMessagesOffset + 8*uint64(i))
		}
		loadFence()
		if w.u64(off+layout.CounterSeqOffset) == seq {
			return c, true
		}
	}
	return nil, false
}

// readLatency reads histogram off.
func readLatency(w words, off uint64) *Latency {
	l := &Latency{
		Count: w.u64(off + layout.HistCountOffset),
		Bad:   w.u64(off + layout.HistBadOffset),
		SumNs: w.u64(off + layout.HistSumOffset),
		Zero:  w.u64(off + layout.HistZeroOffset),
		Over:  w.u64(off + layout.HistOverOffset),
	}
	for k := range layout.HistBuckets {
		if v := w.u64(off + layout.HistBucketsOffset + 8*uint64(k)); v != 0 {
			if l.Buckets == nil {
				l.Buckets = map[int]uint64{}
			}
			l.Buckets[k] = v
		}
	}
	l.percentiles()
	return l
}

// percentiles fills in the percentile fields from the buckets.
func (l *Latency) percentiles() {
	total := l.Placed()
	if total == 0 {
		return
	}
	ns := func(k int) float64 { return layout.HistUpper(k) * 1e9 }
	top := ns(layout.HistBuckets) // Over: beyond the last bound
	for _, q := range []struct {
		p   float64
		dst *float64
	}{{0.5, &l.P50Ns}, {0.9, &l.P90Ns}, {0.99, &l.P99Ns}, {0.999, &l.P999Ns}} {
		rank := uint64(q.p * float64(total))
		if rank >= total {
			rank = total - 1
		}
		seen := l.Zero
		*q.dst = top
		if rank < seen {
			*q.dst = 0
			continue
		}
		for k := range layout.HistBuckets {
			if seen = satAdd(seen, l.Buckets[k]); rank < seen {
				*q.dst = ns(k)
				break
			}
		}
	}
	switch {
	case l.Over != 0:
		l.MaxNs = top
	case len(l.Buckets) > 0:
		for k := range l.Buckets {
			l.MaxNs = max(l.MaxNs, ns(k))
		}
	}
}

// readCounterArea gives each role its counter block and histogram. A role
// whose block is being stored on every look (a hostile writer) gets a
// note in its Problem and no counters, which is not corruption: the
// engine never reads the block.
func readCounterArea(s *Snapshot, h *layout.Header, w words) {
	s.SampleEvery = 0
	if h.Telemetry.On {
		s.SampleEvery = 1 << h.Telemetry.Shift
	}
	for i := range s.Roles {
		readRoleCounters(h, w, &s.Roles[i])
	}
}

// readRoleCounters gives one role its counter block and histogram.
func readRoleCounters(h *layout.Header, w words, r *Role) {
	block, hist, ok := roleBlocks(h, r)
	if !ok {
		return
	}
	if r.PID == 0 { // SPSC roles and the broadcast producer keep their pid only here
		r.PID = ownerPID(w.u64(h.CounterBlockOffset(block)+layout.CounterOwnerOffset), r.Incarnation)
	}
	c, stable := readBlock(w, h.CounterBlockOffset(block))
	if !stable {
		r.Problem = or(r.Problem, "its counter block was being stored on every look")
	}
	for name, v := range c {
		r.Counters[name] = v
	}
	if hist >= 0 && uint32(hist) < h.Histograms() {
		r.Latency = readLatency(w, h.HistogramOffset(uint32(hist)))
	}
}

// ownerPID is the pid in a counter block's Owner word when the word is the
// role's current holder's (its epoch or incarnation), else 0: a block not
// yet taken over still names the holder before.
func ownerPID(owner uint64, incarnation uint32) uint32 {
	if uint32(owner>>32) != incarnation {
		return 0
	}
	return uint32(owner)
}

// roleBlocks names a role's counter block and histogram (-1: none).
func roleBlocks(h *layout.Header, r *Role) (block uint32, hist int, ok bool) {
	consumer := r.Role != "producer"
	switch h.Kind {
	case layout.KindSPSC:
		if consumer {
			return layout.SPSCConsumerBlock, 0, true
		}
		return layout.SPSCProducerBlock, -1, true
	case layout.KindMPMC, layout.KindMPSC:
		if consumer {
			return h.MaxProducers + r.Entry, int(r.Entry), r.Entry < h.MaxConsumers
		}
		return r.Entry, -1, r.Entry < h.MaxProducers
	case layout.KindBroadcast:
		if consumer {
			return layout.BcastReaderBlock(r.Entry), int(r.Entry), r.Entry < h.MaxConsumers
		}
		return layout.BcastProducerBlock, -1, true
	}
	return 0, -1, false
}
