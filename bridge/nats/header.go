package natsbridge

import (
	"strconv"

	"github.com/nats-io/nats.go"
)

// SeqHeader is the NATS header in which an Out bridge (with
// OutOptions.SeqHeader, and always over JetStream) sends each message's
// sequence number: its position in what the bridge read from the ring,
// counting from 1. Messages a lossy reader missed take numbers too, so a
// receiver sees a gap of exactly that many. Over JetStream the numbering
// goes on across restarts from the stream's last message; over core NATS
// each run of a bridge starts again at 1.
const SeqHeader = "Shmring-Seq"

// seqOf returns the sequence number m carries, if any.
func seqOf(h nats.Header) (uint64, bool) {
	v := h[SeqHeader]
	if len(v) == 0 {
		return 0, false
	}
	seq, err := strconv.ParseUint(v[0], 10, 64)
	return seq, err == nil && seq > 0
}

// seqTracker is an In bridge's view of the sequence headers: it counts the
// messages missing between consecutive numbers and recognises repeats.
// It assumes one Out bridge per subject.
type seqTracker struct {
	last  uint64
	known bool
}

// observe classifies seq. gap is how many numbers were skipped before it;
// repeat says it is not above the last one. A 1 after anything else is a
// new run of a core-NATS Out bridge, not a repeat.
func (t *seqTracker) observe(seq uint64) (gap uint64, repeat bool) {
	switch {
	case !t.known || seq == 1:
		t.last, t.known = seq, true
		return 0, false
	case seq <= t.last:
		return 0, true
	default:
		gap = seq - t.last - 1
		t.last = seq
		return gap, false
	}
}
