package natsbridge

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// publishAcked publishes a batch to the stream and returns once the stream
// acknowledged every message of it (or dropped one as oversize): only then
// may the ring's slots be released. A message whose acknowledgement fails
// or times out is sent again with every message after it, so the stream
// keeps the ring's order; the Nats-Msg-Id header (subject, the run's tag
// and sequence number) makes the stream discard a copy it already stored.
//
// While the server is away the batch is held, and with it the ring: a
// lossless ring fills and its producer waits. If ctx ends first the batch
// is not released and ErrNotAcked is returned.
func (b *Out) publishAcked(ctx context.Context, msgs [][]byte) error {
	first := b.next
	todo := make([]int, len(msgs)) // indexes not yet acknowledged or dropped, in order
	for i := range todo {
		todo[i] = i
	}
	futures := make([]jetstream.PubAckFuture, len(msgs))
	dropped := make([]bool, len(msgs))
	var acked, bytes uint64
	var bo backoff
	for round := 0; len(todo) > 0; round++ {
		if round > 0 {
			b.c.resent.Add(uint64(len(todo)))
			b.logf("ring %q → stream %q: resending %d messages from sequence %d",
				b.r.Name(), b.jsOpts.Stream, len(todo), first+uint64(todo[0]))
			if err := bo.wait(ctx); err != nil {
				return b.notAcked(len(todo), err)
			}
		}
		if err := waitConnected(ctx, b.nc); err != nil {
			return b.notAcked(len(todo), err)
		}
		clear(futures)
		for _, i := range todo {
			f, err := b.js.PublishMsgAsync(b.jsMsg(msgs[i], first+uint64(i)), b.noRetry)
			if err == nil {
				futures[i] = f
				continue
			}
			if oversizeErr(err) {
				b.dropOversize(len(msgs[i]), err)
				dropped[i] = true
				continue
			}
			if errors.Is(err, nats.ErrConnectionClosed) {
				return fmt.Errorf("publish to stream %q: %w", b.jsOpts.Stream, err)
			}
			break // the rest waits for the next round
		}
		// Collect acknowledgements; from the first message that failed on,
		// everything goes again.
		retry := -1
		for k, i := range todo {
			f := futures[i]
			if f == nil {
				if retry < 0 && !dropped[i] {
					retry = k
				}
				continue
			}
			select {
			case <-ctx.Done(): // the drain deadline: no waiting out an acknowledgement timeout past it
				return b.notAcked(len(todo)-k, ctx.Err())
			case <-f.Ok(): // a duplicate too: this run's own earlier copy (runID)
				if retry < 0 {
					acked++
					bytes += uint64(len(msgs[i]))
				}
			case err := <-f.Err():
				if oversizeErr(err) {
					b.dropOversize(len(msgs[i]), err)
					dropped[i] = true
					continue
				}
				if retry < 0 {
					retry = k
					b.logf("ring %q → stream %q: sequence %d not acknowledged: %v",
						b.r.Name(), b.jsOpts.Stream, first+uint64(i), err)
				}
			}
		}
		if retry < 0 {
			break
		}
		todo = slices.DeleteFunc(todo[retry:], func(i int) bool { return dropped[i] })
	}
	b.next += uint64(len(msgs))
	b.c.messages.Add(acked)
	b.c.bytes.Add(bytes)
	return nil
}

// jsMsg builds message seq for the stream. JetStream keeps the message
// until it is acknowledged (to resend it), so each needs its own.
func (b *Out) jsMsg(data []byte, seq uint64) *nats.Msg {
	num := strconv.FormatUint(seq, 10)
	return &nats.Msg{
		Subject: b.o.Subject,
		Data:    data,
		Header: nats.Header{
			SeqHeader:             []string{num},
			jetstream.MsgIDHeader: []string{b.o.Subject + ":" + b.runID + ":" + num},
		},
	}
}

// notAcked is the error of a bridge that stops with n messages of its
// batch not acknowledged by the stream. The batch stays in the ring. (Core
// NATS's is unsent.)
func (b *Out) notAcked(n int, err error) error {
	return fmt.Errorf("%w: %d messages to stream %q (%v)", ErrNotAcked, n, b.jsOpts.Stream, err)
}
