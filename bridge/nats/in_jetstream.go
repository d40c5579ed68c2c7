package natsbridge

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// runJetStream pulls batches from the durable consumer, writes each
// message into the ring as it arrives, and acknowledges a batch (its last
// message, which under AckAll covers the rest) once all of it is in the
// ring. A stopping bridge finishes the pull it is in, so nothing it was
// given stays unacknowledged behind it.
//
// A pull cut short (the server went away) may have sent messages that
// never arrived, and the server counts them as delivered: acknowledging a
// later one would cover them. So after any failed pull, and when the
// bridge starts, it resets the consumer to its acknowledged position
// before pulling again: delivery resumes right after the last message in
// the ring, at once rather than after AckWait.
//
// A pull that outlives a reconnect goes on delivering after the messages
// the server sent into the broken connection, so a batch can arrive with
// a hole in it. Acknowledging past the hole would lose what is in it:
// messages are taken only while their stream sequence follows on, and at
// the first hole the bridge acknowledges what it wrote and resets.
func (b *In) runJetStream(rctx, dctx context.Context) error {
	b.markReady()
	var bo backoff
	reset := true
	var next uint64 // the stream sequence that must come next; 0 right after a reset
	for rctx.Err() == nil {
		if reset {
			next = 0
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
			reset = false
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
		var handled jetstream.Msg // the last message written (or dropped as oversize)
		var failed error
		hole := false
		for m := range batch.Messages() {
			if failed != nil || hole {
				continue // not acknowledged: it comes again
			}
			if md, err := m.Metadata(); err == nil {
				if next != 0 && md.Sequence.Stream != next {
					b.logf("pull from stream %q: sequence %d where %d was due; resuming from the last one written", b.jsOpts.Stream, md.Sequence.Stream, next)
					hole = true
					continue
				}
				next = md.Sequence.Stream + 1
			}
			if err := b.deliver(dctx, m.Data(), m.Headers()); err != nil {
				failed = err
				continue
			}
			handled = m
		}
		if handled != nil {
			if err := b.ack(dctx, handled); err != nil {
				return err
			}
			bo.reset()
		}
		if failed != nil {
			return failed
		}
		if hole {
			reset = true
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
func (b *In) ack(ctx context.Context, m jetstream.Msg) error {
	var bo backoff
	for {
		err := m.DoubleAck(ctx)
		if err == nil {
			return nil
		}
		if errors.Is(err, nats.ErrConnectionClosed) || ctx.Err() != nil {
			return fmt.Errorf("%w: acknowledging stream %q: %v", ErrNotAcked, b.jsOpts.Stream, err)
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
