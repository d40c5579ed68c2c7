package ring

// In-ring latency telemetry (Options.Telemetry; LAYOUT.md section 16.3):
// producers stamp the sampled positions with the monotonic clock before
// they publish them, consumers and readers add the time from that stamp to
// their own reading, once they hold the message, to a log-bucketed
// histogram in the file.

import (
	"fmt"
	"sync/atomic"
	"unsafe"

	"github.com/shmring/shmring/internal/fence"
	"github.com/shmring/shmring/layout"
)

// Telemetry makes a ring measure how long its messages wait, from the
// producer's commit to the consumer's (or each reader's) receive, in a
// histogram in the ring file per consumer or reader, which ringctl stat
// and package ringprom read. It is fixed at creation.
//
// The cost falls on sampled messages only: the producer reads the clock
// and stores one word per sampled message, the consumer reads the clock
// and stores three. With telemetry off (the zero value) nothing is stamped
// and the file has no histograms; each message pays one comparison.
type Telemetry struct {
	// SampleEvery is 0 (off), or a power of two n up to 2^31: every
	// position that is a multiple of n is stamped. 1 stamps every message.
	// A value such as 1024 measures a stream at a cost BENCHMARKS.md
	// shows to be within its noise.
	SampleEvery int
}

func (t Telemetry) layout() (layout.Telemetry, error) {
	n := t.SampleEvery
	switch {
	case n == 0:
		return layout.Telemetry{}, nil
	case n < 0 || n&(n-1) != 0 || uint64(n) > 1<<layout.MaxSampleShift:
		return layout.Telemetry{}, fmt.Errorf("%w: Telemetry.SampleEvery=%d, want 0 or a power of two up to 2^%d", ErrInvalid, n, layout.MaxSampleShift)
	}
	shift := uint8(0)
	for 1<<shift < n {
		shift++
	}
	return layout.Telemetry{On: true, Shift: shift}, nil
}

// stamps are a ring's stamp array as a handle sees it. Position pos is
// sampled when pos&mask == match; with telemetry off mask is 0 and match
// 1, so no position is, at the cost of the one comparison.
type stamps struct {
	mask, match uint64
	shift       uint8
	last        uint64 // StampCount-1
	base        unsafe.Pointer
	release     bool
}

func (s *stamps) start(r *Ring, release bool) {
	t := r.hdr.Telemetry
	if !t.On {
		*s = stamps{match: 1}
		return
	}
	*s = stamps{mask: 1<<t.Shift - 1, shift: t.Shift, last: r.hdr.StampCount() - 1,
		base: unsafe.Pointer(&r.mem[r.hdr.StampsOffset()]), release: release}
}

func (s *stamps) at(pos uint64) *atomic.Uint64 {
	return (*atomic.Uint64)(unsafe.Add(s.base, (pos>>s.shift&s.last)*8))
}

// stamp stamps pos if it is sampled. Called before the store that
// publishes pos, which orders the stamp before it. It inlines to one
// comparison; the stamping is out of line.
func (s *stamps) stamp(pos uint64) {
	if pos&s.mask == s.match {
		s.put(pos)
	}
}

//go:noinline
func (s *stamps) put(pos uint64) { fence.Store64(s.at(pos), uint64(nanotime()), s.release) }

// stampRange stamps the sampled positions of [first, first+n) with one
// reading of the clock.
func (s *stamps) stampRange(first uint64, n int) {
	pos := s.firstSampled(first)
	if pos >= first+uint64(n) {
		return
	}
	now := uint64(nanotime())
	for ; pos < first+uint64(n); pos += s.mask + 1 {
		fence.Store64(s.at(pos), now, s.release)
	}
}

// firstSampled is the first sampled position at or after p (or a position
// past any range when telemetry is off).
func (s *stamps) firstSampled(p uint64) uint64 {
	if s.match != 0 {
		return ^uint64(0)
	}
	return (p + s.mask) &^ s.mask
}

// latency is a consumer's or reader's histogram (layout's counters.go):
// the figures kept here, each stored into the file when it changes, so a
// hostile write to the file never feeds back into them.
type latency struct {
	stamps
	w                           *[layout.HistSize / 8]atomic.Uint64
	count, sum, bad, zero, over uint64
	buckets                     []uint64
}

// startLatency takes histogram i for a new holder: zeroed, owned. It is a
// no-op on a ring without telemetry.
func (l *latency) startLatency(r *Ring, i, epoch uint32, release bool) {
	*l = latency{}
	l.stamps.start(r, release)
	if !r.hdr.Telemetry.On {
		return
	}
	l.w = (*[layout.HistSize / 8]atomic.Uint64)(unsafe.Pointer(&r.mem[r.hdr.HistogramOffset(i)]))
	l.buckets = make([]uint64, layout.HistBuckets)
	for k := range l.w {
		l.store(k, 0)
	}
	l.store(layout.HistOwnerOffset/8, layout.CounterOwner(pid, epoch))
}

func (l *latency) store(k int, v uint64) { fence.Store64(&l.w[k], v, l.release) }

// observe records pos's latency if pos is sampled. The caller holds the
// message: the producer's stamp was stored before what published it. It
// inlines to one comparison; the recording is out of line.
func (l *latency) observe(pos uint64) {
	if pos&l.mask == l.match {
		l.observeNow(pos)
	}
}

//go:noinline
func (l *latency) observeNow(pos uint64) { l.record(l.at(pos).Load(), uint64(nanotime())) }

// peekStamp loads pos's stamp, if pos is sampled, before a copy that a
// seqlock then validates: a producer overwrites the stamp only after it
// marked the slot for a later lap, so a copy found whole came with its
// message's stamp.
func (l *latency) peekStamp(pos uint64) (uint64, bool) {
	if pos&l.mask != l.match {
		return 0, false
	}
	return l.at(pos).Load(), true
}

// observeRange records the sampled positions of [first, first+n) against
// one reading of the clock.
func (l *latency) observeRange(first uint64, n int) {
	pos := l.firstSampled(first)
	if pos >= first+uint64(n) {
		return
	}
	now := uint64(nanotime())
	for ; pos < first+uint64(n); pos += l.mask + 1 {
		l.record(l.at(pos).Load(), now)
	}
}

// record adds one sample: the stamp read from the file (untrusted: any
// value lands in exactly one of Bad, Zero, a bucket or Over) and now.
func (l *latency) record(stamp, now uint64) {
	l.count++
	l.store(layout.HistCountOffset/8, l.count)
	if stamp == 0 || stamp > now {
		l.bad++
		l.store(layout.HistBadOffset/8, l.bad)
		return
	}
	d := now - stamp
	l.sum += d
	l.store(layout.HistSumOffset/8, l.sum)
	switch k := layout.HistKey(d); {
	case d == 0:
		l.zero++
		l.store(layout.HistZeroOffset/8, l.zero)
	case k >= layout.HistBuckets:
		l.over++
		l.store(layout.HistOverOffset/8, l.over)
	default:
		l.buckets[k]++
		l.store(layout.HistBucketsOffset/8+k, l.buckets[k])
	}
}
