//go:build linux

package medium

import (
	"io"
	"sync"
	"sync/atomic"
)

// Chan is the in-process reference: one buffered Go channel between
// goroutines of one process. A message travels as a buffer the sender
// copies into and the receiver copies out of, as with the ring's Send and
// Recv, with no allocation in the steady state.
//
// With one receiver each sender reuses a slab of capacity+2 buffers in
// turn: it is at most capacity messages ahead of the one the receiver is
// copying, and the Go memory model orders that copy (before the receiver's
// next receive) before the channel send that reuses its buffer ("the kth
// receive on a channel with capacity C is synchronized before the
// completion of the k+Cth send"). With several receivers one may still be
// copying out of a buffer when another has received k+C more, so buffers
// come from a pool and go back to it after the copy.
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
	var b *[]byte
	if s.slab != nil {
		b = s.slab[s.next]
		if s.next++; s.next == len(s.slab) {
			s.next = 0
		}
	} else {
		b = s.c.pool.Get().(*[]byte)
	}
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
