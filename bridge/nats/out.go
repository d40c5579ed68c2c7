package natsbridge

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/shmring/shmring/ring"
	"golang.org/x/time/rate"
)

// OutOptions configure an Out bridge (ring → subject).
type OutOptions struct {
	// Subject is where the messages go. Required: one subject, with no
	// empty token, white space or wildcard (ErrConfig).
	Subject string
	// Reader says how to join a broadcast ring: Lossless (the producer
	// waits for the bridge, so nothing is lost) or Lossy (it never waits;
	// what the bridge misses is counted in Counters.Missed), from Oldest
	// or Latest. Other kinds of ring are read as a consumer.
	Reader ring.ReaderOptions
	// Batch bounds the messages taken from the ring at once (and, over
	// JetStream, awaiting acknowledgement at once). Default 256. A batch
	// is copied out of the ring before it is published, into at most
	// 16 KiB over core NATS, 1 MiB over JetStream (or one slot), which
	// bounds it further for large slots.
	Batch int
	// SeqHeader sends each message's sequence number in SeqHeader, so a
	// receiver can detect a gap. Always on over JetStream.
	SeqHeader bool
	// JetStream, if set, publishes to a stream with acknowledgements.
	JetStream *JetStreamOptions
	// IdleFlush is how long the ring must stay empty before the bridge
	// flushes the connection (a round trip that confirms the server has
	// everything published so far). Default 5 ms.
	IdleFlush time.Duration
	// DrainTimeout bounds how long a stopping bridge goes on delivering
	// (flushing, collecting acknowledgements) what it already took from
	// the ring. Default 10 s.
	DrainTimeout time.Duration
	// Logf, if set, receives one line per event worth an operator's eye:
	// a dropped message and why, a lost connection, a resent batch.
	Logf func(format string, args ...any)
}

const (
	defaultBatch        = 256
	defaultIdleFlush    = 5 * time.Millisecond
	defaultDrainTimeout = 10 * time.Second
	// flushTimeout bounds one flush round trip; a flush that times out
	// is tried again while the bridge's context allows.
	flushTimeout = 5 * time.Second
)

// Out forwards every message of a ring to a NATS subject, in order, one
// NATS message per ring message.
type Out struct {
	nc  *nats.Conn
	r   *ring.Ring
	o   OutOptions
	src source
	c   counters
	// limit is the most messages taken from the ring at once: Batch, or
	// fewer where the source's arena holds fewer.
	limit int

	file os.FileInfo // the ring file when the role was taken

	// next is the sequence number of the next message read from the
	// ring; only the Run goroutine touches it.
	next uint64

	js          jetstream.JetStream // nil over core NATS
	oversizeLog rate.Sometimes      // dropOversize's lines
	// runID tags this run's Nats-Msg-Ids, so that no id of an earlier run
	// (or another bridge) still in the stream's duplicate window is used
	// again: the stream would take the message for a duplicate, store
	// nothing and acknowledge it all the same.
	runID  string
	jsOpts JetStreamOptions
	// noRetry turns off nats.go's own resend of a publish the server
	// answered with "no responders" (a stream not there yet, or between
	// leaders): it resends each message on a timer of its own, so two of
	// them can overtake each other. publishAcked resends, in order.
	noRetry jetstream.PublishOpt

	// msg, hdrVal and num are reused for every core publish with a
	// sequence header: PublishMsg encodes the message before it returns.
	msg    nats.Msg
	hdrVal []string
	num    []byte
}

// NewOut prepares an Out bridge: it takes its role on r (a consumer, or a
// broadcast reader) and, over JetStream, finds the stream and the sequence
// number to go on from. Run starts the forwarding; Close gives the role up.
func NewOut(nc *nats.Conn, r *ring.Ring, o OutOptions) (*Out, error) {
	if nc == nil || r == nil {
		return nil, fmt.Errorf("%w: NewOut needs a connection and a ring", ErrConfig)
	}
	if err := CheckSubject(o.Subject, false); err != nil {
		return nil, err
	}
	if o.Batch <= 0 {
		o.Batch = defaultBatch
	}
	if o.IdleFlush <= 0 {
		o.IdleFlush = defaultIdleFlush
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = defaultDrainTimeout
	}
	b := &Out{nc: nc, r: r, o: o, next: 1, oversizeLog: oversizeLogEvery()}
	if o.JetStream != nil {
		if err := b.openJetStream(); err != nil {
			return nil, err
		}
	}
	arenaBytes := coreArena
	if b.js != nil {
		arenaBytes = ackedArena
	}
	src, err := openSource(r, o.Reader, arenaBytes)
	if err != nil {
		return nil, fmt.Errorf("ring %q: %w", r.Name(), err)
	}
	b.src = src
	b.limit = min(o.Batch, arenaFits(r.SlotSize(), arenaBytes))
	b.file = ringFile(r.Path())
	b.msg = nats.Msg{Subject: o.Subject, Header: nats.Header{}}
	b.hdrVal = []string{""}
	b.msg.Header[SeqHeader] = b.hdrVal
	return b, nil
}

func (b *Out) openJetStream() error {
	// A message published into a reconnect buffer goes out on the new
	// connection ahead of those lost in the old one, and the resend then
	// stores the lost ones behind it: out of the ring's order.
	if b.nc.Opts.ReconnectBufSize != -1 {
		return fmt.Errorf("%w: a JetStream Out needs a connection without a reconnect buffer (nats.ReconnectBufSize(-1)), or an outage can reorder the stream", ErrConfig)
	}
	jo, err := b.o.JetStream.withDefaults(b.r.Name())
	if err != nil {
		return err
	}
	js, err := jetstream.New(b.nc,
		jetstream.WithPublishAsyncMaxPending(b.o.Batch),
		jetstream.WithPublishAsyncTimeout(jo.AckTimeout))
	if err != nil {
		return fmt.Errorf("JetStream: %w", err)
	}
	s, err := openStream(js, jo, b.o.Subject)
	if err != nil {
		return err
	}
	last, err := resumePoint(s, b.o.Subject)
	if err != nil {
		return err
	}
	var tag [8]byte
	rand.Read(tag[:]) // never fails (crypto/rand)
	b.js, b.jsOpts, b.next, b.runID = js, jo, last+1, hex.EncodeToString(tag[:])
	b.noRetry = jetstream.WithRetryAttempts(0)
	return nil
}

// Counters returns the bridge's totals so far. It may be called from any
// goroutine.
func (b *Out) Counters() Counters {
	c := b.c.snapshot()
	c.Reconnects = b.nc.Stats().Reconnects
	return c
}

// Close gives up the bridge's role on the ring. Messages it leased and
// did not deliver stay in a lossless ring for the next consumer or reader
// (on an MPMC or MPSC ring that one gets them marked
// ring.Consumer.Redelivered); over core NATS, a batch is released before
// it is handed to the client, so what the client took before it noticed
// the server gone counts as delivered, and the rest of a batch whose
// connection failed mid-way is lost (at most once: see the package
// comment). Call it
// once Run has returned: Run stops when its context ends, and Close does
// not stop it (a ring handle is used by one goroutine at a time).
func (b *Out) Close() error { return b.src.close() }

// Run forwards until the ring's producer ends the stream (then it returns
// nil, once everything is delivered), ctx ends (nil, after delivering what
// it took, within DrainTimeout), or something fails: the ring file removed
// (ErrRingGone) or shrunk (ring.ErrTruncated), the producer dead
// (ring.ErrPeerDead), the connection closed. Messages too large for the
// server are dropped, logged and counted, never fatal.
func (b *Out) Run(ctx context.Context) error {
	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go watchRing(rctx, cancel, b.r.Path(), b.file, ringCheckEvery)
	// dctx is for delivering what was already taken: it outlives rctx by
	// DrainTimeout.
	dctx, stop := lingering(rctx, b.o.DrainTimeout)
	defer stop()

	idle, dirty := false, false
	for {
		// A ring with messages in it answers even a cancelled context:
		// ask first.
		if rctx.Err() != nil {
			return b.finish(rctx, dctx, rctx.Err(), dirty)
		}
		wctx, stopWait := rctx, context.CancelFunc(nil)
		if idle && dirty && b.js == nil {
			wctx, stopWait = context.WithTimeout(rctx, b.o.IdleFlush)
		}
		msgs, missed, err := b.src.next(wctx, b.limit)
		if stopWait != nil {
			stopWait()
		}
		if err != nil {
			if rctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
				if err := b.flush(dctx); err != nil {
					return err
				}
				dirty = false
				continue
			}
			return b.finish(rctx, dctx, err, dirty)
		}
		if missed > 0 {
			b.next += missed
			b.c.missed.Add(missed)
		}
		if b.js != nil {
			if err = b.publishAcked(dctx, msgs); err == nil {
				b.src.release()
			}
		} else {
			err = b.publish(dctx, msgs) // releases the batch itself
		}
		if err != nil {
			return err
		}
		idle, dirty = len(msgs) < b.limit, true
	}
}

// finish decides what the error that stopped reading the ring means,
// once what was published since the last flush (dirty) is confirmed. A
// bridge with nothing unconfirmed stops at once: waiting out DrainTimeout
// for a server that is down, to flush nothing, then failing (a black-box
// tester: exit 1 after 10 s of an idle bridge told to stop).
func (b *Out) finish(rctx, dctx context.Context, err error, dirty bool) error {
	if dirty {
		if ferr := b.flush(dctx); ferr != nil {
			return ferr
		}
	}
	switch {
	case errors.Is(err, ring.ErrClosed):
		return nil // the producer ended the stream and all of it is out
	case rctx.Err() != nil:
		if cause := context.Cause(rctx); errors.Is(cause, ErrRingGone) {
			return cause
		}
		return nil // told to stop
	default:
		return fmt.Errorf("read ring %q: %w", b.r.Name(), err)
	}
}

// flush confirms with a round trip that the server has every message
// published so far (core NATS); over JetStream acknowledgements did that.
func (b *Out) flush(ctx context.Context) error {
	if b.js != nil {
		return nil
	}
	var bo backoff
	for {
		// Bounded by ctx as well: a stopping bridge flushes within
		// DrainTimeout, not flushTimeout, while the server is down.
		fctx, cancel := context.WithTimeout(ctx, flushTimeout)
		err := b.nc.FlushWithContext(fctx)
		cancel()
		if err == nil {
			return nil
		}
		// A flush in flight when the connection drops fails with
		// ErrConnectionClosed although the client goes on reconnecting:
		// only a connection that is closed for good ends the bridge.
		if b.nc.IsClosed() || ctx.Err() != nil {
			return fmt.Errorf("flush to NATS: %w", err)
		}
		// Unanswered for flushTimeout on a connection still up: a server
		// that stopped reading (paused, swamped). A write finds that out
		// only once the socket is full, and a bridge with nothing more to
		// write never does: it waited for the server for ever, holding
		// the ring (a test, one run in four or five). It reconnects, as a
		// write that timed out makes it; what the stalled connection held
		// is lost as a crashed server's is (at most once).
		if errors.Is(err, context.DeadlineExceeded) && b.nc.IsConnected() {
			b.logf("%q: the server did not answer a flush within %v: reconnecting", b.o.Subject, flushTimeout)
			_ = b.nc.ForceReconnect()
		}
		// Reconnecting: the client keeps what it buffered; try again.
		if err := bo.wait(ctx); err != nil {
			return fmt.Errorf("flush to NATS: %w", err)
		}
	}
}

func (b *Out) dropOversize(n int, err error) {
	total := b.c.oversize.Add(1)
	b.oversizeLog.Do(func() {
		if errors.Is(err, nats.ErrMaxPayload) {
			b.logf("ring %q → %q: dropped a message of %d bytes: %v (the server takes at most %d bytes with headers; %d dropped so far)",
				b.r.Name(), b.o.Subject, n, err, b.nc.MaxPayload(), total)
			return
		}
		b.logf("ring %q → %q: dropped a message of %d bytes: %v (%d dropped so far)", b.r.Name(), b.o.Subject, n, err, total)
	})
}

// oversizeLogEvery: the first few oversize drops are logged each, then at
// most one a second (each line says how many so far): a stream of them
// would flood the log a line per message.
func oversizeLogEvery() rate.Sometimes { return rate.Sometimes{First: 10, Interval: time.Second} }

func (b *Out) logf(format string, args ...any) {
	if b.o.Logf != nil {
		b.o.Logf(format, args...)
	}
}
