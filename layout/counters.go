package layout

import "math"

// The counter area (LAYOUT.md section 16): every role's counters, and, in a
// ring created with telemetry, the consumers' latency histograms and the
// producers' stamps. It lies after the slots and before the end unit, so
// the control area and the slots are where they were in version 3.
//
//	CountersOffset = round_up(SlotsOffset + SlotCount·SlotStride, PadUnit)
//	  + 0                         counter blocks, CounterBlocks of them, one unit each
//	  + CounterBlocks·PadUnit     histograms, Histograms of them, HistSize each (telemetry only)
//	  + ...                       stamps, StampCount u64, rounded up to a unit (telemetry only)
//
// Which block is whose:
//
//	SPSC       block 0 the producer, block 1 the consumer; histogram 0 the consumer
//	MPMC/MPSC  block i participant entry i (producers 0..MaxProducers-1, then consumers);
//	           histogram j consumer entry MaxProducers+j
//	Broadcast  block 0 the producer, block 1+i reader entry i; histogram i reader entry i
//
// A block and a histogram are written only by the holder of their role,
// with single aligned 8-byte stores; anyone may read them with 8-byte
// loads, without taking a role. A new holder of a role zeroes its block
// and histogram and stores its Owner word: a role's counters restart at
// each takeover (they are the holder's, as Stats is), and a dead or closed
// holder's figures stay readable until then.
//
// A counter block (CounterWords u64):
//
//	+0   Seq          even: the block is whole; odd: its holder is storing it (a seqlock)
//	+8   Owner        pid (low 32 bits) | the role's epoch or incarnation (high 32 bits)
//	+16  Messages     committed (producers) or consumed (consumers, readers)
//	+24  Bytes        payload bytes in those messages
//	+32  Full         claims that found the ring full
//	+40  Empty        receives that found the ring empty
//	+48  Sleeps       futex sleeps
//	+56  Wakes        FUTEX_WAKE calls made for sleeping peers
//	+64  Skipped      MPMC consumer: positions passed over, carrying no message
//	+72  Repaired     MPMC: slots repaired for dead peers
//	+80  Redelivered  MPMC consumer: messages delivered again after a consumer died
//	+88  Lapped       lossy reader: times overrun
//	+96  Missed       lossy reader: messages lost in those laps
//	+104 Evicted      broadcast producer: dead lossless readers no longer waited for
//	+112 BadEntries   broadcast producer: reader entries holding values no reader writes
//	+120 reserved, zero
//
// The holder stores Seq+1 (odd), the counters, then Seq+2 (even), each a
// release store. A reader loads Seq, the counters, then Seq again (with a
// load fence before it) and keeps the copy when both loads are the same
// even value; a holder flushes rarely, so a few tries suffice, and a
// reader that never gets a stable copy (a hostile writer) says so.
//
// A holder stores its counters off the per-message path: every
// FlushEvery messages (Go: or MiB of payload, if that comes first, so a
// stream of large frames is seen frame by frame), before it sleeps and
// when a wait that slept ends, when it wakes a peer, is lapped or repairs
// a slot, when it returns Stats, and when it closes. Between flushes a streaming
// role's Messages and Bytes trail its Stats by fewer than FlushEvery
// messages; a role that died loses what it had not flushed.
const (
	CountersAlign    = PadUnit
	CounterBlockSize = PadUnit
	CounterWords     = CounterBlockSize / 8

	CounterSeqOffset         = 0
	CounterOwnerOffset       = 8
	CounterMessagesOffset    = 16
	CounterBytesOffset       = 24
	CounterFullOffset        = 32
	CounterEmptyOffset       = 40
	CounterSleepsOffset      = 48
	CounterWakesOffset       = 56
	CounterSkippedOffset     = 64
	CounterRepairedOffset    = 72
	CounterRedeliveredOffset = 80
	CounterLappedOffset      = 88
	CounterMissedOffset      = 96
	CounterEvictedOffset     = 104
	CounterBadEntriesOffset  = 112

	// FlushEvery bounds how many messages a streaming holder's stored
	// Messages may trail what it did.
	FlushEvery = 64
)

// CounterNames names the counters of a block in word order from
// CounterMessagesOffset: CounterNames[i] is the u64 at
// CounterMessagesOffset + 8·i. Tools use these names.
var CounterNames = [...]string{
	"messages", "bytes", "full", "empty", "sleeps", "wakes", "skipped", "repaired",
	"redelivered", "lapped", "missed", "evicted", "bad_entries",
}

// CounterOwner packs a counter block's or histogram's Owner word: the
// holder's pid and its handle's incarnation (epoch).
func CounterOwner(pid, epoch uint32) uint64 { return uint64(epoch)<<32 | uint64(pid) }

// Block indices of the fixed roles.
const (
	SPSCProducerBlock  = 0
	SPSCConsumerBlock  = 1
	BcastProducerBlock = 0
)

// BcastReaderBlock is reader entry i's counter block.
func BcastReaderBlock(i uint32) uint32 { return 1 + i }

// Telemetry says which positions carry a latency stamp. The zero value is
// off; On with Shift k stamps every position that is a multiple of 2^k
// (Shift 0: every message).
type Telemetry struct {
	On    bool  // latency sampling is on (FlagTelemetry)
	Shift uint8 // 0..MaxSampleShift
}

// MaxSampleShift bounds Telemetry.Shift: one message in 2^31 at the least.
const MaxSampleShift = 31

// Header Flags bits (FlagsOffset). Every other bit must be zero.
const (
	// FlagTelemetry: the ring has histograms and stamps; the sample shift
	// is in the bits at SampleShiftBit.
	FlagTelemetry  uint32 = 1 << 16
	SampleShiftBit        = 24
	sampleShiftMsk uint32 = 31 << SampleShiftBit
	headerFlagMask        = FlagTelemetry | sampleShiftMsk
)

func (t Telemetry) flags() uint32 {
	if !t.On {
		return 0
	}
	return FlagTelemetry | uint32(t.Shift)<<SampleShiftBit
}

// telemetryOf decodes the Flags word; ok is false for bits no writer sets.
func telemetryOf(flags uint32) (Telemetry, bool) {
	if flags&^headerFlagMask != 0 || flags&FlagTelemetry == 0 && flags != 0 {
		return Telemetry{}, false
	}
	return Telemetry{On: flags != 0, Shift: uint8(flags >> SampleShiftBit & 31)}, true
}

// Sampled reports whether position pos carries a stamp.
func (t Telemetry) Sampled(pos uint64) bool {
	return t.On && pos&(1<<t.Shift-1) == 0
}

// The latency histogram (HistSize bytes, written by its consumer or
// reader). Latency is counted in units of 2^-30 s (about 0.93 ns), so that
// its buckets are those of a Prometheus native histogram of seconds with
// schema HistSchema: bucket k counts latencies L with
// 2^((k-1)/4) < L·2^30 <= 2^(k/4), i.e. Prometheus bucket index
// k - HistKeyOffset of L in seconds.
//
//	+0   Count   samples recorded, bad ones included
//	+8   Sum     nanoseconds, over the samples in Zero, the buckets and Over
//	+16  Bad     stamps that were zero or later than the consumer's clock
//	+24  Zero    latency 0 ns
//	+32  Over    latency beyond the last bucket (HistMaxNanos)
//	+40  Owner   as a counter block's
//	+48  reserved (16 bytes, zero)
//	+64  Buckets HistBuckets u64, bucket k at +64+8k
//
// A stamp is CLOCK_MONOTONIC in nanoseconds (one clock for every process
// on the machine), stored by the producer before it publishes a sampled
// position; the consumer reads the clock once it has the message. Any
// stamp value lands in exactly one of Bad, Zero, a bucket or Over.
const (
	HistSchema        = 2   // four buckets per power of two
	HistKeyOffset     = 120 // a bucket key, not a byte offset: key k is Prometheus bucket index k-120 (30 doublings of 4 buckets: key 0 is 2^-30 s)
	HistBuckets       = 168 // keys 0..167: up to 2^(167/4-30) s, about 57 minutes
	HistCountOffset   = 0
	HistSumOffset     = 8
	HistBadOffset     = 16
	HistZeroOffset    = 24
	HistOverOffset    = 32
	HistOwnerOffset   = 40
	HistBucketsOffset = 64
	HistSize          = HistBucketsOffset + HistBuckets*8 // 1408, eleven units
)

// histBounds are the schema-2 bucket boundaries within one doubling, as
// fractions of math.Frexp: 2^(-1), 2^(-3/4), 2^(-1/2), 2^(-1/4).
var histBounds = [4]float64{0.5, 0.5946035575013605, 0.7071067811865476, 0.8408964152537145}

// HistKey is the bucket of a latency of ns nanoseconds (ns > 0); a key of
// HistBuckets or more belongs in Over.
func HistKey(ns uint64) int {
	if ns >= 1<<52 {
		return HistBuckets
	}
	frac, exp := math.Frexp(float64(ns) * (1 << 30) / 1e9)
	i := 0
	for i < 3 && histBounds[i] < frac {
		i++
	}
	if histBounds[i] < frac {
		i, exp = 0, exp+1
	}
	k := (exp-1)*4 + i
	if k < 0 {
		return 0
	}
	return k
}

// HistUpper is bucket k's upper bound in seconds.
func HistUpper(k int) float64 { return math.Exp2(float64(k)/4 - 30) }

// Counter area geometry.

// counterBlocks is how many counter blocks a kind's roles need.
func counterBlocks(k Kind, maxP, maxC uint32) uint32 {
	switch k {
	case KindMPMC, KindMPSC:
		return maxP + maxC
	case KindBroadcast:
		return 1 + maxC
	}
	return 2
}

// histograms is how many latency histograms: one per consumer or reader.
func histograms(k Kind, maxC uint32, t Telemetry) uint32 {
	if !t.On {
		return 0
	}
	if k == KindSPSC {
		return 1
	}
	return maxC
}

// stampCount is the length of the stamp array: one per sampled position of
// a lap (at least one), so the stamp of position p is overwritten only by
// that of a position at least a lap later.
func stampCount(slots uint64, t Telemetry) uint64 {
	if !t.On {
		return 0
	}
	return max(1, slots>>t.Shift)
}

// countersSize is the size of the counter area.
func countersSize(k Kind, maxP, maxC uint32, slots uint64, t Telemetry) uint64 {
	n := uint64(counterBlocks(k, maxP, maxC))*CounterBlockSize +
		uint64(histograms(k, maxC, t))*HistSize + stampCount(slots, t)*8
	return roundUp(n, PadUnit)
}

// CounterBlocks is how many counter blocks the ring has.
func (h *Header) CounterBlocks() uint32 { return counterBlocks(h.Kind, h.MaxProducers, h.MaxConsumers) }

// CounterBlockOffset is the file offset of counter block i (< CounterBlocks).
func (h *Header) CounterBlockOffset(i uint32) uint64 {
	return h.CountersOffset + uint64(i)*CounterBlockSize
}

// Histograms is how many latency histograms the ring has (0 without
// telemetry).
func (h *Header) Histograms() uint32 { return histograms(h.Kind, h.MaxConsumers, h.Telemetry) }

// HistogramOffset is the file offset of histogram i (< Histograms).
func (h *Header) HistogramOffset(i uint32) uint64 {
	return h.CounterBlockOffset(h.CounterBlocks()) + uint64(i)*HistSize
}

// StampCount is the length of the stamp array (0 without telemetry).
func (h *Header) StampCount() uint64 { return stampCount(h.SlotCount, h.Telemetry) }

// StampOffset is the file offset of the stamp of sampled position pos.
func (h *Header) StampOffset(pos uint64) uint64 {
	base := h.HistogramOffset(h.Histograms())
	return base + ((pos>>h.Telemetry.Shift)&(h.StampCount()-1))*8
}

// StampsOffset is the file offset of the stamp array.
func (h *Header) StampsOffset() uint64 { return h.HistogramOffset(h.Histograms()) }
