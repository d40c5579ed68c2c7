//go:build linux

package main

import (
	"errors"
	"fmt"

	"github.com/shmring/shmring/internal/codec"
	"github.com/shmring/shmring/internal/medium"
	"github.com/shmring/shmring/ring"
)

// mpLayout names the queues of one measurement: rings that children open
// by name, or Go channels of this process.
type mpLayout struct {
	Kind    string   `json:"kind"`              // "mpmc", "mpsc" or "spsc"
	Data    string   `json:"data,omitempty"`    // throughput: the one ring
	Req     string   `json:"req,omitempty"`     // round trip: clients to servers
	Reply   string   `json:"reply,omitempty"`   // round trip: servers to any client (mpmc, spsc)
	Replies []string `json:"replies,omitempty"` // round trip: one per client (mpsc: one consumer per ring)
}

// mpMedium gives each worker its own handles on the queues of a layout:
// rings (each opened once per process) or channels shared by goroutines.
// The workers (mpmcwork.go) are the same code whatever the medium.
type mpMedium struct {
	lay      mpLayout
	sender   func(name string) (medium.Sender, error)
	receiver func(name string) (medium.Receiver, error)
}

func ringMedium(rs *medium.Rings, lay mpLayout) mpMedium {
	return mpMedium{lay: lay, sender: rs.Sender, receiver: rs.Receiver}
}

// chanMedium is the in-process baseline: a buffered channel wherever the
// ring medium has a ring, with as many senders and receivers.
func chanMedium(j mpJob) mpMedium {
	chans := map[string]*medium.Chan{}
	lay, _ := j.layout(func(tag, _ string, senders, receivers int) (string, error) {
		chans[tag] = medium.NewChan(j.size, j.slots, senders, receivers)
		return tag, nil
	})
	lay.Kind = "chan"
	return mpMedium{lay: lay,
		sender:   func(n string) (medium.Sender, error) { return chans[n].Sender(), nil },
		receiver: func(n string) (medium.Receiver, error) { return chans[n].Receiver(), nil },
	}
}

// layout makes the job's queues with create(tag, kind, senders, receivers)
// and returns the layout that names them.
func (j mpJob) layout(create func(tag, kind string, senders, receivers int) (string, error)) (lay mpLayout, err error) {
	lay.Kind = j.kind
	if j.workload == mpThroughput {
		lay.Data, err = create("mp-data", j.kind, j.producers, j.consumers)
		return lay, err
	}
	if lay.Req, err = create("mp-req", j.kind, j.producers, j.consumers); err != nil {
		return lay, err
	}
	if j.kind != "mpsc" {
		lay.Reply, err = create("mp-reply", j.kind, j.consumers, j.producers)
		return lay, err
	}
	for i := range j.producers { // one consumer per ring: a reply ring per client
		name, err := create(fmt.Sprintf("mp-reply%d", i), "spsc", 1, 1)
		if err != nil {
			return lay, err
		}
		lay.Replies = append(lay.Replies, name)
	}
	return lay, nil
}

// open makes the job's medium: channels, or rings created in rs.
func (j mpJob) open(rs *medium.Rings) (mpMedium, error) {
	if j.medium == mediumChan {
		return chanMedium(j), nil
	}
	lay, err := j.layout(func(tag, kind string, producers, consumers int) (string, error) {
		k, ok := map[string]ring.Kind{"mpmc": ring.MPMC, "mpsc": ring.MPSC, "spsc": ring.SPSC}[kind]
		if !ok {
			return "", fmt.Errorf("unknown ring kind %q", kind)
		}
		o := ring.Options{Kind: k, SlotSize: j.size, Slots: j.slots}
		if k != ring.SPSC {
			o.MaxProducers, o.MaxConsumers = producers, consumers // an mpsc job has one consumer
		}
		return rs.Create(tag, o)
	})
	return ringMedium(rs, lay), err
}

func (m mpMedium) producer() (medium.Sender, error)   { return m.sender(m.lay.Data) }
func (m mpMedium) consumer() (medium.Receiver, error) { return m.receiver(m.lay.Data) }

func (m mpMedium) client(id int) (medium.Sender, medium.Receiver, error) {
	s, err := m.sender(m.lay.Req)
	if err != nil {
		return nil, nil, err
	}
	name := m.lay.Reply
	if len(m.lay.Replies) > 0 {
		if id >= len(m.lay.Replies) {
			return nil, nil, errors.Join(fmt.Errorf("only %d reply rings", len(m.lay.Replies)), s.Close())
		}
		name = m.lay.Replies[id]
	}
	r, err := m.receiver(name)
	if err != nil {
		return nil, nil, errors.Join(err, s.Close())
	}
	return s, r, nil
}

func (m mpMedium) server() (medium.Receiver, *replier, error) {
	r, err := m.receiver(m.lay.Req)
	if err != nil {
		return nil, nil, err
	}
	names := m.lay.Replies
	if len(names) == 0 {
		names = []string{m.lay.Reply}
	}
	rep := &replier{}
	for _, n := range names {
		s, err := m.sender(n)
		if err != nil {
			return nil, nil, errors.Join(err, r.Close(), rep.close())
		}
		rep.to = append(rep.to, s)
	}
	return r, rep, nil
}

// A replier is a round-trip server's way back: reply sends msg to client
// id, over one shared queue (any client may take it) or over client id's.
type replier struct {
	to []medium.Sender
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
