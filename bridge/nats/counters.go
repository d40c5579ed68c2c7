package natsbridge

import (
	"fmt"
	"sync/atomic"
)

// Counters are a bridge's running totals. Every message a bridge takes
// from its source is either forwarded (Messages) or counted in exactly one
// of Missed, Oversize and Dropped, or, for an In with
// InOptions.DropRepeats, Repeats (it dropped them); Gaps describe what an
// In saw in the sequence headers, and Repeats without DropRepeats too.
// Not counted: what an In over core NATS had buffered when it was stopped
// with its ring full (the client's buffer goes with the connection).
type Counters struct {
	Messages uint64 // Out: published (core NATS) or acknowledged (JetStream); In: written into the ring
	Bytes    uint64 // payload bytes of those messages

	// Missed: Out with a lossy broadcast reader: messages the ring's
	// producer overwrote before the bridge read them.
	Missed uint64
	// Oversize: messages dropped because the far side cannot hold them:
	// beyond the server's max payload or the stream's message size (Out),
	// beyond the ring's slot size (In).
	Oversize uint64
	// Dropped: In over core NATS: messages the client library discarded
	// because the ring did not take them fast enough (a slow consumer),
	// and those it still held when a stop's DrainTimeout ran out. Out
	// over core NATS: messages of a batch it had taken from the ring and
	// not yet handed to the client when it stopped waiting for a lost
	// connection.
	Dropped uint64

	// Resent: Out over JetStream: publishes repeated because their
	// acknowledgement failed or did not come. The stream's duplicate
	// window (Nats-Msg-Id) keeps a repeat that had arrived from being
	// stored twice (within one Out's run: see the package comment on
	// crashes).
	Resent uint64
	// Gaps: In: messages missing between consecutive sequence headers.
	Gaps uint64
	// Repeats: In: messages whose sequence header was not above the last
	// one's (a redelivery); dropped when InOptions.DropRepeats is set.
	Repeats uint64
	// Reconnects: how often the NATS connection was re-established.
	Reconnects uint64
}

// String formats the counters as name=value pairs, the form the
// ringbridge command prints.
func (c Counters) String() string {
	return fmt.Sprintf("messages=%d bytes=%d missed=%d oversize=%d dropped=%d resent=%d gaps=%d repeats=%d reconnects=%d",
		c.Messages, c.Bytes, c.Missed, c.Oversize, c.Dropped, c.Resent, c.Gaps, c.Repeats, c.Reconnects)
}

// counters is the live, concurrently readable form of Counters. The
// forwarding loop adds once per batch, not per message.
type counters struct {
	messages, bytes, missed, oversize, dropped, resent, gaps, repeats atomic.Uint64
}

func (c *counters) snapshot() Counters {
	return Counters{
		Messages: c.messages.Load(),
		Bytes:    c.bytes.Load(),
		Missed:   c.missed.Load(),
		Oversize: c.oversize.Load(),
		Dropped:  c.dropped.Load(),
		Resent:   c.resent.Load(),
		Gaps:     c.gaps.Load(),
		Repeats:  c.repeats.Load(),
	}
}
