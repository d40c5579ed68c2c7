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

// seqTracker is an In bridge's view of the sequence headers, subject by
// subject (a wildcard subscription hears one Out bridge per subject): it
// counts the messages missing between consecutive numbers and recognises
// repeats. It assumes one Out bridge per subject.
type seqTracker struct {
	core bool // over core NATS, which never redelivers: nothing is a repeat
	last map[string]uint64
}

// observe classifies seq, heard on subject. gap is how many numbers were
// skipped before it; repeat says it is a redelivery: over JetStream, not
// above the last one (whose numbering goes on across an Out bridge's
// runs). A 1 after anything else is a new run of a core-NATS Out bridge,
// and so, over core NATS, is any number not above the last: a run whose
// first messages were lost (dropped as too large, or in flight). It was
// taken for repeats, and the whole run dropped. Over JetStream, so is a
// number more than repeatWindow below the last: a redelivery goes back a
// batch or a few, and a number far ahead of the rest (a stray publisher's
// on the subject) would otherwise make every message after it a repeat.
func (t *seqTracker) observe(subject string, seq uint64) (gap uint64, repeat bool) {
	if t.last == nil {
		t.last = map[string]uint64{}
	}
	last, known := t.last[subject]
	t.last[subject] = max(seq, last)
	switch {
	case !known:
		return 0, false
	case seq == 1 || (t.core || last-seq > repeatWindow) && seq <= last:
		t.last[subject] = seq
		return seq - 1, false
	case seq <= last:
		return 0, true
	}
	return seq - last - 1, false
}

// repeatWindow is how far below the last number a JetStream redelivery can
// go: an In's unacknowledged batches, with room to spare.
const repeatWindow = 1 << 20
