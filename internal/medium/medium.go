//go:build linux

// Package medium is the one way ringbench moves messages, whatever carries
// them (a shmring ring of any kind, a pipe, a unix stream or datagram
// socket, a POSIX message queue, TCP over loopback, a Go channel) and
// whatever the shape. Every call moves exactly one whole message. A Sender
// and a Receiver are one worker's handles; the optional interfaces
// (ZeroCopySender, ZeroCopyReceiver, Lagger, Counted) are what a medium
// offers beyond that.
//
// When not to use this: outside measurements. It adds an interface call to
// every message, which a program that knows its transport does not need.
package medium

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/shmring/shmring/internal/codec"
)

// A Sender sends whole messages.
type Sender interface {
	// Send sends msg as one message; it blocks while the medium is full.
	Send(msg []byte) error
	// Close ends this sender's stream: once every sender closed and all
	// was received, receivers read io.EOF. Idempotent.
	Close() error
}

// A Receiver receives whole messages.
type Receiver interface {
	// Recv fills buf with exactly one message of len(buf) bytes. It returns
	// io.EOF, and nothing else, when the stream ended cleanly between
	// messages, and a *LapError, leaving buf alone, when a lossy reader was
	// overrun.
	Recv(buf []byte) error
	// Close releases the receiving side.
	Close() error
}

// A ZeroCopySender lends the medium's own memory (a ring slot): Claim
// returns n bytes to write the next message into, Commit sends them.
type ZeroCopySender interface {
	Claim(n int) ([]byte, error)
	Commit(n int) error
}

// A ZeroCopyReceiver lends the next message in place (io.EOF at the end of
// the stream) until Release.
type ZeroCopyReceiver interface {
	Lease() ([]byte, error)
	Release()
}

// A Lagger tells how many messages wait for this receiver, when the medium
// knows.
type Lagger interface {
	Lag() (uint64, bool)
}

// Counted is a handle that reports its own counters after a run (a ring's
// sleeps and wakes).
type Counted interface {
	Counters() []Counter
}

// A Counter is one named figure a handle reports.
type Counter struct {
	Name  string `json:"name"`
	Value uint64 `json:"value"`
}

// Get is the value of the counter called name in cs, 0 if absent.
func Get(cs []Counter, name string) uint64 {
	for _, c := range cs {
		if c.Name == name {
			return c.Value
		}
	}
	return 0
}

// A LapError says a lossy reader was overrun and missed messages.
type LapError struct{ Missed uint64 }

func (e *LapError) Error() string { return fmt.Sprintf("lapped: missed %d messages", e.Missed) }

// ErrUnsupported marks a medium that cannot carry a run as configured (a
// message larger than the kernel lets a queue hold): the run is skipped with
// the reason, not failed.
var ErrUnsupported = errors.New("not supported here")

// checkLen: a message of the wrong length is not the one sent.
func checkLen(kind string, got, want int) error {
	if got != want {
		return fmt.Errorf("%w: %s: got a %d-byte message, want %d bytes", codec.ErrIntegrity, kind, got, want)
	}
	return nil
}

// Chan is the in-process reference: one buffered Go channel of buffers the
// sender copies into and the receiver out of, as with the ring's Send and
// Recv, without allocating in the steady state.
//
// With one receiver each sender reuses a slab of capacity+2 buffers in
// turn: the Go memory model orders the receiver's copy before the send
// that reuses its buffer ("the kth receive on a channel with capacity C is
// synchronized before the completion of the k+Cth send"). With several,
// one may still be copying when another has received k+C more, so buffers
// come from a pool.
type Chan struct {
	size, capacity int
	ch             chan *[]byte
	pool           *sync.Pool   // several receivers; nil with one
	open           atomic.Int64 // senders that have not closed
}

// NewChan makes a channel of capacity size-byte messages for the given
// numbers of senders and receivers.
func NewChan(size, capacity, senders, receivers int) *Chan {
	c := &Chan{size: size, capacity: capacity, ch: make(chan *[]byte, capacity)}
	c.open.Store(int64(senders))
	if receivers > 1 {
		c.pool = &sync.Pool{New: func() any { b := make([]byte, size); return &b }}
	}
	return c
}

// Sender is a new sender; the channel closes when every sender counted in
// NewChan has closed.
func (c *Chan) Sender() Sender {
	s := &chanSender{c: c}
	if c.pool == nil {
		backing := make([]byte, (c.capacity+2)*c.size)
		for i := range c.capacity + 2 {
			b := backing[i*c.size : (i+1)*c.size : (i+1)*c.size]
			s.slab = append(s.slab, &b)
		}
	}
	return s
}

// Receiver is a new receiver.
func (c *Chan) Receiver() Receiver { return &chanReceiver{c: c} }

type chanSender struct {
	c      *Chan
	slab   []*[]byte // with one receiver
	next   int
	closed bool
}

func (s *chanSender) Send(msg []byte) error {
	if len(msg) > s.c.size {
		return fmt.Errorf("chan: a %d-byte message in a channel of %d-byte buffers", len(msg), s.c.size)
	}
	var b *[]byte
	if s.slab != nil {
		b = s.slab[s.next]
		if s.next++; s.next == len(s.slab) {
			s.next = 0
		}
	} else {
		b = s.c.pool.Get().(*[]byte)
	}
	*b = (*b)[:len(msg)] // every buffer's capacity is size: a mixed run's messages vary
	copy(*b, msg)
	s.c.ch <- b
	return nil
}

func (s *chanSender) Close() error {
	if !s.closed {
		s.closed = true
		if s.c.open.Add(-1) == 0 {
			close(s.c.ch)
		}
	}
	return nil
}

type chanReceiver struct{ c *Chan }

func (r *chanReceiver) Recv(buf []byte) error {
	b, ok := <-r.c.ch
	if !ok {
		return io.EOF
	}
	if err := checkLen("chan", len(*b), len(buf)); err != nil {
		return err
	}
	copy(buf, *b)
	if r.c.pool != nil {
		r.c.pool.Put(b)
	}
	return nil
}

func (r *chanReceiver) Close() error { return nil }
