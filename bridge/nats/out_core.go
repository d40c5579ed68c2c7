package natsbridge

// Out over core NATS: at most once, each batch released from the ring
// before it is handed to the connection.

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"
)

// publish hands a batch to the connection (core NATS). While the
// connection is down it waits rather than fill the client's reconnect
// buffer, holding the batch, and so the ring. Once connected it releases
// the batch from the ring (its messages are copies: source.go) before it
// hands the first of them to the client: at most once. A bridge killed
// after that loses what it had not handed over; one that released after
// publishing left its successor a batch the server already had, which it
// sent again, behind later messages (a black-box tester: 7 repeats and a
// jump back from one kill -9). What it has not handed over when the
// connection fails mid-batch is no longer in the ring: it is lost, and
// counted as dropped (unsent).
func (b *Out) publish(ctx context.Context, msgs [][]byte) error {
	if err := waitConnected(ctx, b.nc); err != nil {
		return b.unsent(ctx, len(msgs), false, err)
	}
	b.src.release()
	var sent, bytes uint64
	for i, m := range msgs {
		var bo backoff
		for {
			err := b.publishOne(m, b.next+uint64(i))
			if err == nil {
				sent++
				bytes += uint64(len(m))
				break
			}
			if oversizeErr(err) {
				b.dropOversize(len(m), err)
				break
			}
			if !errors.Is(err, nats.ErrReconnectBufExceeded) && !lostConnection(err) {
				return b.unsent(ctx, len(msgs)-i, true, err) // closed, draining: for good
			}
			if err := bo.wait(ctx); err != nil {
				return b.unsent(ctx, len(msgs)-i, true, err)
			}
			if err := waitConnected(ctx, b.nc); err != nil {
				return b.unsent(ctx, len(msgs)-i, true, err)
			}
		}
	}
	b.next += uint64(len(msgs))
	b.c.messages.Add(sent)
	b.c.bytes.Add(bytes)
	return nil
}

// unsent is publish's error for the n messages of a batch it did not hand
// to the connection: ErrNotAcked once its context (the drain deadline)
// ended, else what stopped it (a closed connection). Not yet released,
// they stay in the ring; released, they are lost (at most once) and
// counted as dropped.
func (b *Out) unsent(ctx context.Context, n int, released bool, err error) error {
	fate := "left in the ring"
	if released {
		b.c.dropped.Add(uint64(n))
		fate = "taken from the ring and lost (at most once)"
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%w: %d messages to %q, %s (%v)", ErrNotAcked, n, b.o.Subject, fate, err)
	}
	return fmt.Errorf("publish to %q: %d messages %s: %w", b.o.Subject, n, fate, err)
}

func (b *Out) publishOne(m []byte, seq uint64) error {
	if !b.o.SeqHeader {
		return b.nc.Publish(b.o.Subject, m)
	}
	b.num = strconv.AppendUint(b.num[:0], seq, 10)
	b.hdrVal[0] = string(b.num)
	b.msg.Data = m
	return b.nc.PublishMsg(&b.msg)
}
