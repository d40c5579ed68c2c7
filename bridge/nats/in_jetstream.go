package natsbridge

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// runJetStream pulls batches from the durable consumer, writes each
// message into the ring as it arrives, and acknowledges a batch (the
// message furthest on in the stream, which under AckAll covers the rest)
// once all of it is in the ring. A stopping bridge finishes the pull it is
// in, so nothing it was given stays unacknowledged behind it.
//
// The server counts a message delivered once it has sent it, whether or
// not it arrived: a pull cut short by a server going away, or one the
// bridge stopped reading, leaves messages the server will not send again
// before AckWait, and acknowledging a later one would cover them. So the
// bridge takes a message only if it is the very next delivery: every
// delivery has a consumer sequence number, 1 after a reset and one more
// for each message sent (whatever the stream sequence, so a stream that
// holds other subjects too is no hole). At the first number that does not
// follow on, it acknowledges what it wrote and resets the consumer to its
// acknowledged position, which resends from right after the last message
// in the ring at once rather than after AckWait; it resets when it starts
// and after any failed pull too.
//
// The count must start at 1 after a reset, not at whatever comes first:
// a reset that just beats a server shutdown is followed by a pull the
// dying server answers into the closing connection, and the restarted
// server goes on after those messages.
func (b *In) runJetStream(rctx, dctx context.Context) error {
	b.markReady()
	var bo backoff
	reset := true
	var next uint64 // the consumer sequence the next delivery must have
	for rctx.Err() == nil {
		if reset {
			if err := b.resetConsumer(rctx); err != nil {
				if errors.Is(err, nats.ErrConnectionClosed) {
					return err
				}
				b.logf("%v", err)
				if bo.wait(rctx) != nil {
					break
				}
				continue
			}
			reset, next = false, 1
		}
		batch, err := b.cons.Fetch(b.o.Batch, jetstream.FetchMaxWait(fetchWait))
		if err != nil {
			if errors.Is(err, nats.ErrConnectionClosed) {
				return fmt.Errorf("pull from stream %q: %w", b.jsOpts.Stream, err)
			}
			b.logf("pull from stream %q: %v", b.jsOpts.Stream, err)
			reset = true
			if bo.wait(rctx) != nil {
				break
			}
			continue
		}
		var (
			handled   jetstream.Msg // the written (or oversize) message furthest on in the stream
			handledS  uint64        // its stream sequence
			failed    error
			hole      bool
			unwritten int // messages of the batch after a failed write
		)
		for m := range batch.Messages() {
			if failed != nil || hole {
				unwritten++
				continue // not acknowledged: it comes again
			}
			md, err := m.Metadata()
			if err != nil || md.Sequence.Consumer != next {
				got := "no delivery number"
				if err == nil {
					got = fmt.Sprintf("delivery %d", md.Sequence.Consumer)
				}
				b.logf("pull from stream %q: %s where %d was due (a delivery that did not arrive); resuming after the last message written",
					b.jsOpts.Stream, got, next)
				hole = true
				continue
			}
			next++
			if err := b.deliver(dctx, m.Subject(), m.Data(), m.Headers()); err != nil {
				failed = err
				unwritten++
				continue
			}
			if md.Sequence.Stream > handledS {
				handled, handledS = m, md.Sequence.Stream
			}
		}
		if handled != nil {
			err := b.ackWritten(dctx, handled)
			switch {
			case errors.Is(err, errAckUnconfirmed) && rctx.Err() != nil: // stopping: the drain ends here
				return fmt.Errorf("%w: acknowledging stream %q: %v", ErrNotAcked, b.jsOpts.Stream, err)
			case errors.Is(err, errAckUnconfirmed):
				// The server no longer knows the delivery: start again
				// after what it has acknowledged. What this bridge wrote
				// past it comes again (DropRepeats drops it).
				b.logf("acknowledge to stream %q: %v; resetting the consumer to its acknowledged position", b.jsOpts.Stream, err)
				reset = true
				continue
			case err != nil:
				return err
			}
			bo.reset()
		}
		if failed != nil && dctx.Err() != nil && errors.Is(failed, context.Canceled) {
			return fmt.Errorf("%w: %d messages of a batch from stream %q, into ring %q, which stayed full for DrainTimeout (%v) after the stop; left unacknowledged, for the next run",
				ErrNotWritten, unwritten, b.jsOpts.Stream, b.r.Name(), b.o.DrainTimeout)
		}
		if failed != nil {
			return failed
		}
		if hole {
			// Backing off: a hole that comes back without progress (say,
			// another client pulling from the same durable consumer) must
			// not become a loop of resets.
			reset = true
			if bo.wait(rctx) != nil {
				break
			}
			continue
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			b.logf("pull from stream %q: %v", b.jsOpts.Stream, err)
			reset = true
			if bo.wait(rctx) != nil {
				break
			}
		}
	}
	return nil
}

// ackWritten acknowledges what was written, up to m. A stop whose drain
// ran out (the ring stayed full) still acknowledges what it wrote, in a
// wait of its own: with the drain's context, the acknowledgement of a
// batch written in part was never sent, and the next run wrote that part
// into the ring again.
func (b *In) ackWritten(dctx context.Context, m jetstream.Msg) error {
	if dctx.Err() == nil {
		return b.ack(dctx, m)
	}
	ctx, cancel := context.WithTimeout(context.Background(), finalAckWait)
	defer cancel()
	return b.ack(ctx, m)
}

// finalAckWait bounds the acknowledgement a stop makes after its drain ran
// out: a round trip to a server that keeps up, a few tries of one.
const finalAckWait = 3 * ackAttemptTimeout

// errAckUnconfirmed: an acknowledgement the server, connected, did not
// confirm in ackAttempts tries.
var errAckUnconfirmed = errors.New("no confirmation of the acknowledgement")

// resetConsumer makes the durable consumer deliver next the message after
// its acknowledged position.
func (b *In) resetConsumer(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	if _, err := b.js.ResetConsumer(ctx, b.jsOpts.Stream, b.jsOpts.Durable); err != nil {
		return fmt.Errorf("reset consumer %q of stream %q to its acknowledged position: %w", b.jsOpts.Durable, b.jsOpts.Stream, err)
	}
	return nil
}

// ack acknowledges m and everything before it, waiting for the server's
// confirmation and trying again while it is away.
//
// An acknowledgement sent into a connection that then broke is never
// confirmed: each try waits ackAttemptTimeout, not the client's default
// 5 s, so a bridge goes on within a second of the server's return. Trying
// again is harmless (acknowledging twice changes nothing). A server that
// crashed and came back may have lost the delivery, and then never
// confirms it: after ackAttempts tries while connected, errAckUnconfirmed.
func (b *In) ack(ctx context.Context, m jetstream.Msg) error {
	var bo backoff
	for try := 1; ; try++ {
		actx, cancel := context.WithTimeout(ctx, ackAttemptTimeout)
		err := m.DoubleAck(actx)
		cancel()
		if err == nil {
			return nil
		}
		if errors.Is(err, nats.ErrConnectionClosed) || ctx.Err() != nil {
			return fmt.Errorf("%w: acknowledging stream %q: %v", ErrNotAcked, b.jsOpts.Stream, err)
		}
		if try >= ackAttempts && b.nc.IsConnected() {
			return fmt.Errorf("%w after %d tries: %v", errAckUnconfirmed, try, err)
		}
		b.logf("acknowledge to stream %q: %v; trying again", b.jsOpts.Stream, err)
		if err := waitConnected(ctx, b.nc); err != nil {
			return fmt.Errorf("%w: acknowledging stream %q: %v", ErrNotAcked, b.jsOpts.Stream, err)
		}
		if err := bo.wait(ctx); err != nil {
			return fmt.Errorf("%w: acknowledging stream %q: %v", ErrNotAcked, b.jsOpts.Stream, err)
		}
	}
}
