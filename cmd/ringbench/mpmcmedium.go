//go:build linux

package main

import (
	"errors"
	"fmt"

	"github.com/shmring/shmring/internal/codec"
	"github.com/shmring/shmring/internal/medium"
	"github.com/shmring/shmring/ring"
)

// The shapes of the mpmc subcommand over internal/medium: rings of one
// kind, opened by name in any process, or Go channels shared by goroutines
// of one process. A worker takes its own handles from an mpMedium; the
// workers (mpmcwork.go) are the same code whatever the medium.
type mpMedium interface {
	producer() (medium.Sender, error)
	consumer() (medium.Receiver, error)
	client(id int) (medium.Sender, medium.Receiver, error)
	server() (medium.Receiver, *replier, error)
}

// A replier is a round-trip server's way back: reply sends msg to client
// id, over one shared medium (any client may take it) or over client id's.
type replier struct {
	to []medium.Sender // one shared, or one per client
}

func (r *replier) reply(id uint32, msg []byte) error {
	if len(r.to) == 1 {
		return r.to[0].Send(msg)
	}
	if int(id) >= len(r.to) {
		return fmt.Errorf("%w: a request from client %d, but only %d clients", codec.ErrIntegrity, id, len(r.to))
	}
	return r.to[id].Send(msg)
}

func (r *replier) close() error {
	var errs []error
	for _, s := range r.to {
		errs = append(errs, s.Close())
	}
	return errors.Join(errs...)
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

// ringMedium gives each worker its own handles on the rings of a layout,
// each ring opened once per process.
type ringMedium struct {
	rs  *medium.Rings
	lay mpLayout
}

func (m ringMedium) producer() (medium.Sender, error)   { return m.rs.Sender(m.lay.Data) }
func (m ringMedium) consumer() (medium.Receiver, error) { return m.rs.Receiver(m.lay.Data) }

func (m ringMedium) client(id int) (medium.Sender, medium.Receiver, error) {
	s, err := m.rs.Sender(m.lay.Req)
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
	r, err := m.rs.Receiver(name)
	if err != nil {
		return nil, nil, errors.Join(err, s.Close())
	}
	return s, r, nil
}

func (m ringMedium) server() (medium.Receiver, *replier, error) {
	r, err := m.rs.Receiver(m.lay.Req)
	if err != nil {
		return nil, nil, err
	}
	names := m.lay.Replies
	if len(names) == 0 {
		names = []string{m.lay.Reply}
	}
	rep := &replier{}
	for _, n := range names {
		s, err := m.rs.Sender(n)
		if err != nil {
			return nil, nil, errors.Join(err, r.Close(), rep.close())
		}
		rep.to = append(rep.to, s)
	}
	return r, rep, nil
}

// chanMedium is the in-process baseline: one buffered channel shared by
// every producer and consumer goroutine, and for round trips a request
// channel and a shared or per-client reply channel.
type chanMedium struct {
	data, req *medium.Chan
	replies   []*medium.Chan // one shared, or one per client
}

// newChanMedium makes the channels for j's shape; mpsc: a reply channel
// per client.
func newChanMedium(j mpJob) *chanMedium {
	m := &chanMedium{
		data: medium.NewChan(j.size, j.slots, j.producers, j.consumers),
		req:  medium.NewChan(j.size, j.slots, j.producers, j.consumers),
	}
	if j.kind == "mpsc" {
		for range j.producers {
			m.replies = append(m.replies, medium.NewChan(j.size, j.slots, j.consumers, 1))
		}
	} else {
		m.replies = []*medium.Chan{medium.NewChan(j.size, j.slots, j.consumers, j.producers)}
	}
	return m
}

func (m *chanMedium) producer() (medium.Sender, error)   { return m.data.Sender(), nil }
func (m *chanMedium) consumer() (medium.Receiver, error) { return m.data.Receiver(), nil }

func (m *chanMedium) client(id int) (medium.Sender, medium.Receiver, error) {
	in := m.replies[0]
	if len(m.replies) > 1 {
		in = m.replies[id]
	}
	return m.req.Sender(), in.Receiver(), nil
}

func (m *chanMedium) server() (medium.Receiver, *replier, error) {
	rep := &replier{}
	for _, c := range m.replies {
		rep.to = append(rep.to, c.Sender())
	}
	return m.req.Receiver(), rep, nil
}
