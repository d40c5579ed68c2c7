package natsbridge

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/shmring/shmring/ring"
	"golang.org/x/time/rate"
)

// InOptions configure an In bridge (subject → ring).
type InOptions struct {
	// Subject is what the bridge subscribes to. Required; it may hold
	// wildcards, but no empty token or white space (ErrConfig).
	Subject string
	// JetStream, if set, reads through a durable consumer of a stream and
	// acknowledges what is in the ring.
	JetStream *JetStreamOptions
	// DropRepeats drops a message whose sequence header is not above the
	// last one's on its subject: a JetStream redelivery after a lost
	// acknowledgement. It assumes one Out bridge publishes on each subject
	// (a wildcard subscription may hear several, one a subject). Over core
	// NATS, which never redelivers, nothing is dropped: a number not above
	// the last starts a new run of the Out bridge.
	DropRepeats bool
	// Batch is how many messages one JetStream pull asks for (and may be
	// unacknowledged at once). Default 256.
	Batch int
	// PendingMsgs and PendingBytes bound what the NATS client buffers for
	// a core subscription while the ring is full; beyond them it drops
	// (Counters.Dropped). Zero keeps the client's defaults; negative is
	// unlimited.
	PendingMsgs, PendingBytes int
	// DrainTimeout bounds how long a stopping bridge goes on writing into
	// the ring what it already received. Default 10 s. Past it (the ring
	// stayed full), what a core subscription's client still holds is lost:
	// counted as dropped, and Run returns ErrNotWritten saying how many.
	DrainTimeout time.Duration
	// Logf, if set, receives one line per event worth an operator's eye.
	Logf func(format string, args ...any)
}

// In publishes what a NATS subscription receives into a ring, as the
// ring's producer: one ring message per NATS message, in order. A full
// ring makes it wait (the subscription's buffer, or over JetStream the
// stream, holds the rest).
type In struct {
	nc *nats.Conn
	r  *ring.Ring
	o  InOptions
	p  *ring.Producer
	c  counters

	oversizeLog rate.Sometimes // as Out's (oversizeLogEvery)

	file os.FileInfo // the ring file when the role was taken

	seqs seqTracker // only the delivering goroutine touches it

	js     jetstream.JetStream
	cons   jetstream.Consumer // nil over core NATS
	jsOpts JetStreamOptions

	subMu sync.Mutex
	sub   *nats.Subscription // core NATS, while Run runs

	ready     chan struct{}
	readyOnce sync.Once
}

// NewIn prepares an In bridge: it takes r's producer role and, over
// JetStream, finds the stream and creates its durable consumer. Run starts
// it; Close gives the role up, which ends the ring's stream.
func NewIn(nc *nats.Conn, r *ring.Ring, o InOptions) (*In, error) {
	if nc == nil || r == nil {
		return nil, fmt.Errorf("%w: NewIn needs a connection and a ring", ErrConfig)
	}
	if err := CheckSubject(o.Subject, true); err != nil {
		return nil, err
	}
	if o.Batch <= 0 {
		o.Batch = defaultBatch
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = defaultDrainTimeout
	}
	b := &In{nc: nc, r: r, o: o, ready: make(chan struct{}), seqs: seqTracker{core: o.JetStream == nil}, oversizeLog: oversizeLogEvery()}
	if o.JetStream != nil {
		jo, err := o.JetStream.withDefaults(r.Name())
		if err != nil {
			return nil, err
		}
		js, err := jetstream.New(nc)
		if err != nil {
			return nil, fmt.Errorf("JetStream: %w", err)
		}
		s, err := openStream(js, jo, o.Subject)
		if err != nil {
			return nil, err
		}
		if b.cons, err = openConsumer(s, jo, o.Subject, o.Batch); err != nil {
			return nil, err
		}
		b.js, b.jsOpts = js, jo
	}
	p, err := r.Producer()
	if err != nil {
		return nil, fmt.Errorf("ring %q: %w", r.Name(), err)
	}
	b.p = p
	b.file = ringFile(r.Path())
	return b, nil
}

// Counters returns the bridge's totals so far. It may be called from any
// goroutine.
func (b *In) Counters() Counters {
	c := b.c.snapshot()
	c.Reconnects = b.nc.Stats().Reconnects
	b.subMu.Lock()
	if b.sub != nil {
		if n, err := b.sub.Dropped(); err == nil {
			c.Dropped += uint64(n)
		}
	}
	b.subMu.Unlock()
	return c
}

// Ready is closed once Run receives: over core NATS, when the server has
// the subscription (a message published after that reaches the ring).
func (b *In) Ready() <-chan struct{} { return b.ready }

func (b *In) markReady() { b.readyOnce.Do(func() { close(b.ready) }) }

// Close gives up the producer role, which ends the ring's stream: its
// readers get ring.ErrClosed once they have read everything. Call it once
// Run has returned: Run stops when its context ends, and Close does not
// stop it (a ring handle is used by one goroutine at a time).
func (b *In) Close() error { return b.p.Close() }

// Run delivers until ctx ends (then it returns nil, once what it received
// is in the ring, within DrainTimeout) or something fails: the ring file
// removed (ErrRingGone), its reader dead (ring.ErrPeerDead), the
// connection closed.
func (b *In) Run(ctx context.Context) error {
	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go watchRing(rctx, cancel, b.r.Path(), b.file, ringCheckEvery)
	dctx, stop := lingering(rctx, b.o.DrainTimeout)
	defer stop()
	var err error
	if b.cons != nil {
		err = b.runJetStream(rctx, dctx)
	} else {
		err = b.runCore(rctx, dctx, cancel)
	}
	if err == nil {
		if cause := context.Cause(rctx); errors.Is(cause, ErrRingGone) {
			return cause
		}
	}
	return err
}

// deliver writes one message into the ring. Only an error that must stop
// the bridge is returned; an oversize message or a dropped repeat is
// counted.
func (b *In) deliver(ctx context.Context, subject string, data []byte, h nats.Header) error {
	if seq, ok := seqOf(h); ok {
		gap, repeat := b.seqs.observe(subject, seq)
		if gap > 0 {
			b.c.gaps.Add(gap)
		}
		if repeat {
			b.c.repeats.Add(1)
			if b.o.DropRepeats {
				return nil
			}
		}
	}
	err := b.p.Send(ctx, data)
	switch {
	case err == nil:
		b.c.messages.Add(1)
		b.c.bytes.Add(uint64(len(data)))
		return nil
	case errors.Is(err, ring.ErrTooLarge):
		total := b.c.oversize.Add(1)
		b.oversizeLog.Do(func() {
			b.logf("%q → ring %q: dropped a message of %d bytes: larger than the ring's slots (%d bytes) (%d dropped so far)",
				b.o.Subject, b.r.Name(), len(data), b.r.SlotSize(), total)
		})
		return nil
	default:
		return fmt.Errorf("write ring %q: %w", b.r.Name(), err)
	}
}

// runCore subscribes and lets the client's delivery goroutine write into
// the ring. Stopping drains the subscription: what the client buffered is
// still written, within DrainTimeout; what is left then (the ring stayed
// full) is counted as dropped, and Run says how many.
func (b *In) runCore(rctx, dctx context.Context, cancel context.CancelCauseFunc) error {
	// deliverMu is held while a message is written into the ring. Run takes
	// it before it returns, so that no delivery of the client's goroutine
	// is still using the producer when Run's caller closes it: the client
	// may run a callback after Unsubscribe. Once stopped, a callback only
	// counts its message as abandoned.
	var (
		deliverMu sync.Mutex
		stopped   bool
		abandoned uint64
		failed    error
	)
	abandon := func() {
		abandoned++
		b.c.dropped.Add(1)
	}
	handle := func(m *nats.Msg) {
		deliverMu.Lock()
		defer deliverMu.Unlock()
		switch {
		case stopped:
			abandon()
			return
		case failed != nil || errors.Is(context.Cause(rctx), ErrRingGone):
			return
		}
		err := b.deliver(dctx, m.Subject, m.Data, m.Header)
		switch {
		case err == nil:
		case dctx.Err() != nil && errors.Is(err, context.Canceled):
			abandon() // the drain ran out while it waited for room
		default:
			failed = err
			cancel(err)
		}
	}
	sub, err := b.nc.Subscribe(b.o.Subject, handle)
	if err != nil {
		return fmt.Errorf("subscribe to %q: %w", b.o.Subject, err)
	}
	if b.o.PendingMsgs != 0 || b.o.PendingBytes != 0 {
		msgs, bytes, _ := sub.PendingLimits()
		if b.o.PendingMsgs != 0 {
			msgs = b.o.PendingMsgs
		}
		if b.o.PendingBytes != 0 {
			bytes = b.o.PendingBytes
		}
		if err := sub.SetPendingLimits(msgs, bytes); err != nil {
			_ = sub.Unsubscribe()
			return fmt.Errorf("subscribe to %q: %w", b.o.Subject, err)
		}
	}
	// The subscription must be known to the server before Run's caller
	// is told the bridge is up.
	if err := b.nc.FlushTimeout(flushTimeout); err != nil {
		_ = sub.Unsubscribe()
		return fmt.Errorf("subscribe to %q: %w", b.o.Subject, err)
	}
	b.subMu.Lock()
	b.sub = sub
	b.subMu.Unlock()
	b.markReady()

	<-rctx.Done()
	// Dropped needs a live subscription: keep the count first, and again
	// after the drain (the client drops while the ring stays full).
	b.subMu.Lock()
	dropped, _ := sub.Dropped()
	b.c.dropped.Add(uint64(max(dropped, 0)))
	b.sub = nil
	b.subMu.Unlock()
	closed := sub.StatusChanged(nats.SubscriptionClosed)
	drained := true
	if err := sub.Drain(); err == nil {
		drained = b.awaitDrained(sub, closed, dctx, true)
	}
	if n, err := sub.Dropped(); err == nil && n > dropped {
		b.c.dropped.Add(uint64(n - dropped))
	}
	deliverMu.Lock()
	stopped = true
	deliverMu.Unlock()
	if !drained {
		// What the client still holds is called back now, to be counted.
		actx, stop := context.WithTimeout(context.Background(), abandonWait)
		b.awaitDrained(sub, closed, actx, false)
		stop()
	}
	_ = sub.Unsubscribe()
	deliverMu.Lock()
	defer deliverMu.Unlock()
	if failed == nil && abandoned > 0 {
		return fmt.Errorf("%w: %d messages, into ring %q, which stayed full for DrainTimeout (%v) after the stop; counted as dropped",
			ErrNotWritten, abandoned, b.r.Name(), b.o.DrainTimeout)
	}
	return failed
}

// abandonWait bounds how long a stopping In whose drain ran out waits for
// the client to call back what it still holds, each callback counting its
// message and returning at once.
const abandonWait = time.Second

// drainPollEvery is how often a stopping In looks whether the server is
// away with nothing left to deliver.
const drainPollEvery = 10 * time.Millisecond

// awaitDrained waits until a draining subscription has delivered what the
// client holds for it (true), or dctx ends (false). While the server is
// away nothing more can arrive, so once the client's queue is empty there
// is nothing to wait for: the client's drain would wait on for its flush
// (10 s) or until DrainTimeout, to deliver nothing; say logs that stop.
func (b *In) awaitDrained(sub *nats.Subscription, closed <-chan nats.SubStatus, dctx context.Context, say bool) bool {
	tick := time.NewTicker(drainPollEvery)
	defer tick.Stop()
	for {
		select {
		case <-closed:
			return true
		case <-dctx.Done():
			return false
		case <-tick.C:
			// The client counts a message as pending until its callback
			// has returned, so none is being delivered either.
			n, _, err := sub.Pending()
			if err != nil {
				return true
			}
			if n == 0 && !b.nc.IsConnected() {
				if say {
					b.logf("%q → ring %q: stopping with the server away and nothing left in the client to deliver", b.o.Subject, b.r.Name())
				}
				return true
			}
		}
	}
}

func (b *In) logf(format string, args ...any) {
	if b.o.Logf != nil {
		b.o.Logf(format, args...)
	}
}
