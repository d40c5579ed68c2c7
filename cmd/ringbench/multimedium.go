//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/shmring/shmring/ring"
)

// The media of the mpmc subcommand: rings of one kind, opened by name in
// any process, and a Go channel shared by goroutines of one process. A
// worker takes its own handle from a medium and moves whole messages; the
// workers (multiwork.go) are the same code whatever the medium.

// mpSender sends whole messages; close ends this sender's stream (the
// receivers read io.EOF once every sender closed and all was received).
type mpSender interface {
	send(msg []byte) error
	close() error
}

// mpReceiver fills buf with exactly one message of len(buf) bytes; io.EOF
// once every sender has closed and every message was received.
type mpReceiver interface {
	recv(buf []byte) error
	close() error
}

// A replier is a round-trip server's way back: reply sends msg to client
// id (over a shared reply ring, any client may take it; over per-client
// rings, that client does).
type replier interface {
	reply(id uint32, msg []byte) error
	close() error
}

// mpMedium hands out handles; each worker takes its own.
type mpMedium interface {
	producer() (mpSender, error)
	consumer() (mpReceiver, error)
	client(id int) (mpSender, mpReceiver, error)
	server() (mpReceiver, replier, error)
}

// mpLayout names the rings of one measurement; children find them by it.
type mpLayout struct {
	Kind    string   `json:"kind"`              // "mpmc", "mpsc" or "spsc"
	Data    string   `json:"data,omitempty"`    // throughput: the one ring
	Req     string   `json:"req,omitempty"`     // round trip: clients to servers
	Reply   string   `json:"reply,omitempty"`   // round trip: servers to any client (mpmc, spsc)
	Replies []string `json:"replies,omitempty"` // round trip: one SPSC ring per client (mpsc: one consumer per ring)
}

func ringKind(kind string) (ring.Kind, error) {
	switch kind {
	case "mpmc":
		return ring.MPMC, nil
	case "mpsc":
		return ring.MPSC, nil
	case "spsc":
		return ring.SPSC, nil
	}
	return 0, fmt.Errorf("unknown ring kind %q", kind)
}

// ringMedium opens the rings of a layout once per process and gives each
// worker its own Producer or Consumer on them.
type ringMedium struct {
	ctx   context.Context
	lay   mpLayout
	mu    sync.Mutex
	rings map[string]*ring.Ring
}

func newRingMedium(ctx context.Context, lay mpLayout, created map[string]*ring.Ring) *ringMedium {
	m := &ringMedium{ctx: ctx, lay: lay, rings: map[string]*ring.Ring{}}
	for n, r := range created {
		m.rings[n] = r
	}
	return m
}

func (m *ringMedium) open(name string) (*ring.Ring, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r, ok := m.rings[name]; ok {
		return r, nil
	}
	if name == "" {
		return nil, errors.New("ring name missing from the layout")
	}
	r, err := ring.Open(name)
	if err != nil {
		return nil, err
	}
	m.rings[name] = r
	return r, nil
}

// closeAll closes every ring this medium opened (and their handles).
func (m *ringMedium) closeAll() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var errs []error
	for _, r := range m.rings {
		errs = append(errs, r.Close())
	}
	m.rings = nil
	return errors.Join(errs...)
}

func (m *ringMedium) sender(name string) (*ringSender, error) {
	r, err := m.open(name)
	if err != nil {
		return nil, err
	}
	p, err := r.Producer()
	if err != nil {
		return nil, fmt.Errorf("ring=%s: producer: %w", name, err)
	}
	return &ringSender{ctx: m.ctx, p: p}, nil
}

func (m *ringMedium) receiver(name string) (*ringReceiver, error) {
	r, err := m.open(name)
	if err != nil {
		return nil, err
	}
	c, err := r.Consumer()
	if err != nil {
		return nil, fmt.Errorf("ring=%s: consumer: %w", name, err)
	}
	return &ringReceiver{ctx: m.ctx, c: c}, nil
}

func (m *ringMedium) producer() (mpSender, error)   { return m.sender(m.lay.Data) }
func (m *ringMedium) consumer() (mpReceiver, error) { return m.receiver(m.lay.Data) }

func (m *ringMedium) client(id int) (mpSender, mpReceiver, error) {
	s, err := m.sender(m.lay.Req)
	if err != nil {
		return nil, nil, err
	}
	name := m.lay.Reply
	if len(m.lay.Replies) > 0 {
		if id >= len(m.lay.Replies) {
			return nil, nil, fmt.Errorf("client %d: only %d reply rings", id, len(m.lay.Replies))
		}
		name = m.lay.Replies[id]
	}
	r, err := m.receiver(name)
	if err != nil {
		return nil, nil, errors.Join(err, s.close())
	}
	return s, r, nil
}

func (m *ringMedium) server() (mpReceiver, replier, error) {
	r, err := m.receiver(m.lay.Req)
	if err != nil {
		return nil, nil, err
	}
	names := m.lay.Replies
	if len(names) == 0 {
		names = []string{m.lay.Reply}
	}
	rep := &ringReplier{shared: len(m.lay.Replies) == 0}
	for _, n := range names {
		s, err := m.sender(n)
		if err != nil {
			return nil, nil, errors.Join(err, r.close(), rep.close())
		}
		rep.to = append(rep.to, s)
	}
	return r, rep, nil
}

// ringSender sends with the copying Send, one message per call.
type ringSender struct {
	ctx context.Context
	p   *ring.Producer
}

func (s *ringSender) send(msg []byte) error { return s.p.Send(s.ctx, msg) }
func (s *ringSender) close() error          { return s.p.Close() }

// ringReceiver receives with the copying Recv, one message per call.
type ringReceiver struct {
	ctx context.Context
	c   *ring.Consumer
}

func (r *ringReceiver) recv(buf []byte) error {
	n, err := r.c.Recv(r.ctx, buf)
	if errors.Is(err, ring.ErrClosed) {
		return io.EOF
	}
	if err != nil {
		return err
	}
	if n != len(buf) {
		return fmt.Errorf("%w: got a %d-byte message, want %d bytes", errIntegrity, n, len(buf))
	}
	return nil
}

func (r *ringReceiver) close() error { return r.c.Close() }

// ringReplier sends every reply into one shared ring, or client id's reply
// into ring id.
type ringReplier struct {
	shared bool
	to     []*ringSender
}

func (r *ringReplier) reply(id uint32, msg []byte) error {
	if r.shared {
		return r.to[0].send(msg)
	}
	if int(id) >= len(r.to) {
		return fmt.Errorf("%w: a request from client %d, but only %d clients", errIntegrity, id, len(r.to))
	}
	return r.to[id].send(msg)
}

func (r *ringReplier) close() error {
	var errs []error
	for _, s := range r.to {
		errs = append(errs, s.close())
	}
	return errors.Join(errs...)
}

// chanMedium is the in-process baseline: one buffered channel shared by
// every producer and consumer goroutine (and for round trips a request
// channel and a shared or per-client reply channel). A message travels as
// a pooled buffer: the sender copies it in, the receiver copies it out and
// returns the buffer to the pool, so the channel costs one copy in and one
// out per message, as the ring's Send and Recv do, with no allocation in
// the steady state. (With several consumers a sender cannot reuse its own
// buffers in turn, as the run command's channel does: a consumer may still
// be copying out of one.)
type chanMedium struct {
	size     int
	pool     sync.Pool
	data     chan *[]byte
	req      chan *[]byte
	reply    chan *[]byte   // shared, or nil
	replies  []chan *[]byte // per client, or nil
	dataOpen atomic.Int64   // producers that have not closed
	reqOpen  atomic.Int64   // clients that have not closed
}

// newChanMedium makes the channels for senders producers (clients) and
// per-client replies when perClient is set.
func newChanMedium(size, capacity, senders, clients int, perClient bool) *chanMedium {
	m := &chanMedium{size: size, data: make(chan *[]byte, capacity), req: make(chan *[]byte, capacity)}
	m.pool.New = func() any { b := make([]byte, size); return &b }
	m.dataOpen.Store(int64(senders))
	m.reqOpen.Store(int64(clients))
	if perClient {
		for range clients {
			m.replies = append(m.replies, make(chan *[]byte, capacity))
		}
	} else {
		m.reply = make(chan *[]byte, capacity)
	}
	return m
}

func (m *chanMedium) producer() (mpSender, error) {
	return &chanSender{m: m, ch: m.data, open: &m.dataOpen}, nil
}

func (m *chanMedium) consumer() (mpReceiver, error) { return &chanReceiver{m: m, ch: m.data}, nil }

func (m *chanMedium) client(id int) (mpSender, mpReceiver, error) {
	in := m.reply
	if m.replies != nil {
		in = m.replies[id]
	}
	return &chanSender{m: m, ch: m.req, open: &m.reqOpen}, &chanReceiver{m: m, ch: in}, nil
}

func (m *chanMedium) server() (mpReceiver, replier, error) {
	return &chanReceiver{m: m, ch: m.req}, &chanReplier{m: m}, nil
}

type chanSender struct {
	m      *chanMedium
	ch     chan *[]byte
	open   *atomic.Int64 // nil: never closes the channel
	closed bool
}

func (s *chanSender) send(msg []byte) error {
	b := s.m.pool.Get().(*[]byte)
	copy(*b, msg)
	s.ch <- b
	return nil
}

// close closes the channel when the last sender on it closes.
func (s *chanSender) close() error {
	if s.closed || s.open == nil {
		return nil
	}
	s.closed = true
	if s.open.Add(-1) == 0 {
		close(s.ch)
	}
	return nil
}

type chanReceiver struct {
	m  *chanMedium
	ch chan *[]byte
}

func (r *chanReceiver) recv(buf []byte) error {
	b, ok := <-r.ch
	if !ok {
		return io.EOF
	}
	copy(buf, *b)
	r.m.pool.Put(b)
	return nil
}

func (r *chanReceiver) close() error { return nil }

type chanReplier struct{ m *chanMedium }

func (r *chanReplier) reply(id uint32, msg []byte) error {
	ch := r.m.reply
	if r.m.replies != nil {
		if int(id) >= len(r.m.replies) {
			return fmt.Errorf("%w: a request from client %d, but only %d clients", errIntegrity, id, len(r.m.replies))
		}
		ch = r.m.replies[id]
	}
	s := chanSender{m: r.m, ch: ch}
	return s.send(msg)
}

func (r *chanReplier) close() error { return nil }
