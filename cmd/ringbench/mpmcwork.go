//go:build linux

package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/shmring/shmring/internal/codec"
	"github.com/shmring/shmring/internal/medium"
	"github.com/shmring/shmring/internal/report"
	"github.com/shmring/shmring/ring"
)

// The workers of the mpmc subcommand, the same code in a child process and
// in a goroutine. A worker that finds a bad message carries on until its
// stream ends, so that no other waits forever on it, and then fails.

// mpWorker says what one worker does (a child's config).
type mpWorker struct {
	Role      string        `json:"role"`      // producer, consumer, client or server
	Index     int           `json:"index"`     // producer id, consumer number, client id, server number
	Producers int           `json:"producers"` // producers (throughput) or clients (round trip)
	Consumers int           `json:"consumers"` // consumers or servers
	Size      int           `json:"size"`
	Duration  time.Duration `json:"duration"` // producers and clients send for this long
	Warmup    time.Duration `json:"warmup"`   // clients record round trips only after this
	Layout    mpLayout      `json:"layout"`
	Fault     fault         `json:"fault"`
	MinSend   uint64        `json:"min_send,omitempty"` // a sender goes on to this many messages whatever its clock says
}

// perProducer is what one consumer got from one producer.
type perProducer struct {
	Count  uint64 `json:"count"`
	MaxSeq uint64 `json:"max_seq"`
	Digest uint64 `json:"digest"` // sum of seqDigest over the messages
}

// mpResult is one worker's report; each role fills its part.
type mpResult struct {
	Role     string        `json:"role"`
	Index    int           `json:"index"`
	Sent     uint64        `json:"sent,omitempty"`     // producer: sequence numbers used; client: requests
	Digest   uint64        `json:"digest,omitempty"`   // producer: sum of seqDigest over them
	Received uint64        `json:"received,omitempty"` // consumer: messages; client: replies; server: requests echoed
	Per      []perProducer `json:"per,omitempty"`      // consumer: by producer id
	FirstNs  int64         `json:"first_ns,omitempty"` // consumer: first message, Unix ns
	EndNs    int64         `json:"end_ns,omitempty"`   // consumer: end of stream; producer: last send
	Hist     string        `json:"hist,omitempty"`     // client: round trips, encoded
}

// runWorker takes w's handles from m, waits at gate for the start and runs
// w's loop; if the gate fails, the handles are the medium's to close.
func runWorker(m mpMedium, w mpWorker, gate func() error) (res mpResult, err error) {
	res = mpResult{Role: w.Role, Index: w.Index}
	var s medium.Sender
	var r medium.Receiver
	var rep *replier
	switch w.Role {
	case "producer":
		s, err = m.producer()
	case "consumer":
		r, err = m.consumer()
	case "client":
		s, r, err = m.client(w.Index)
	case "server":
		r, rep, err = m.server()
	default:
		err = fmt.Errorf("unknown worker role %q", w.Role)
	}
	if err == nil {
		err = gate()
	}
	switch {
	case err != nil:
	case w.Role == "producer":
		err = runMPProducer(s, w, &res)
	case w.Role == "consumer":
		err = runMPConsumer(r, w, &res)
	case w.Role == "client":
		err = runMPClient(s, r, w, &res)
	default:
		err = runMPServer(r, rep, w, &res)
	}
	if err != nil {
		return res, fmt.Errorf("%s %d: %w", w.Role, w.Index, err)
	}
	return res, nil
}

// recvAll receives size-byte messages until the stream ends, handing each
// to each.
func recvAll(r medium.Receiver, size int, each func(n uint64, msg []byte) error) error {
	buf := make([]byte, size)
	for n := uint64(0); ; n++ {
		if err := r.Recv(buf); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("receive: %w", err)
		}
		if err := each(n, buf); err != nil {
			return err
		}
	}
}

func runMPProducer(s medium.Sender, w mpWorker, res *mpResult) (err error) {
	defer func() { err = errors.Join(err, s.Close()) }()
	msg := make([]byte, w.Size)
	every := clockEvery(w.Size)
	deadline := time.Now().Add(w.Duration).UnixNano()
	for ; res.Sent%every != 0 || time.Now().UnixNano() < deadline || w.Fault.due(res.Sent) || res.Sent < w.MinSend; res.Sent++ {
		seq := res.Sent
		codec.Put(msg, codec.Header{Seq: seq, Producer: uint32(w.Index)})
		codec.Seal(msg)
		res.Digest += codec.Digest(seq)
		w.Fault.flip(seq, msg)
		for range w.Fault.copies(seq) {
			if err := s.Send(msg); err != nil {
				return fmt.Errorf("send message %d: %w", seq, err)
			}
		}
	}
	res.EndNs = time.Now().UnixNano()
	return nil
}

func runMPConsumer(r medium.Receiver, w mpWorker, res *mpResult) (err error) {
	defer func() { err = errors.Join(err, r.Close()) }()
	res.Per = make([]perProducer, w.Producers)
	strict := w.Consumers == 1 // then every message of each producer arrives, in order
	var bad error
	err = recvAll(r, w.Size, func(n uint64, msg []byte) error {
		if n == 0 {
			res.FirstNs = time.Now().UnixNano()
		}
		for range w.Fault.copies(n) {
			if bad == nil {
				bad = res.account(msg, strict)
			}
		}
		return nil
	})
	res.EndNs = time.Now().UnixNano()
	return cmp.Or(err, bad)
}

// runMPClient keeps one request outstanding, stamped with its send time,
// takes the next reply (any client's, on a shared reply ring) and records
// now minus the time in it.
func runMPClient(s medium.Sender, r medium.Receiver, w mpWorker, res *mpResult) (err error) {
	defer func() { err = errors.Join(err, s.Close(), r.Close()) }()
	msg, buf := make([]byte, w.Size), make([]byte, w.Size)
	h := report.NewHist()
	start := time.Now()
	from, deadline := start.Add(w.Warmup).UnixNano(), start.Add(w.Warmup+w.Duration).UnixNano()
	var bad error
	for seq := uint64(0); ; seq++ {
		now := time.Now().UnixNano()
		if now >= deadline && !w.Fault.due(seq) && seq >= w.MinSend {
			break
		}
		codec.Put(msg, codec.Header{Seq: seq, Producer: uint32(w.Index), SentNs: now})
		codec.Seal(msg)
		w.Fault.flip(seq, msg)
		if err := s.Send(msg); err != nil {
			return fmt.Errorf("send request %d: %w", seq, err)
		}
		res.Sent++
		if err := r.Recv(buf); err != nil {
			return fmt.Errorf("receive a reply: %w", err)
		}
		got := time.Now().UnixNano()
		res.Received++
		hd, err := codec.Check(buf)
		if err == nil && int(hd.Producer) >= w.Producers {
			err = fmt.Errorf("%w: reply to client %d, but there are %d clients", codec.ErrIntegrity, hd.Producer, w.Producers)
		}
		if err != nil {
			bad = cmp.Or(bad, err)
		} else if hd.SentNs >= from {
			report.Record(h, time.Duration(got-hd.SentNs))
		}
	}
	res.Hist, err = report.Encode(h)
	return cmp.Or(err, bad)
}

// runMPServer echoes every request to its client until the request stream
// ends, then closes its reply side.
func runMPServer(r medium.Receiver, rep *replier, w mpWorker, res *mpResult) (err error) {
	defer func() { err = errors.Join(err, r.Close(), rep.close()) }()
	var bad error
	err = recvAll(r, w.Size, func(n uint64, msg []byte) error {
		hd, err := codec.Check(msg)
		if err == nil && int(hd.Producer) >= w.Producers {
			err = fmt.Errorf("%w: request from client %d, but there are %d clients", codec.ErrIntegrity, hd.Producer, w.Producers)
		}
		if int(hd.Producer) >= w.Producers {
			hd.Producer = 0 // still answer someone: every client waits for a reply
		}
		bad = cmp.Or(bad, err)
		w.Fault.flip(n, msg)
		if err := rep.reply(hd.Producer, msg); err != nil {
			return fmt.Errorf("reply: %w", err)
		}
		res.Received++
		return nil
	})
	return cmp.Or(err, bad)
}

// runMPChild is an mpmc worker in a child process, over the rings its
// layout names.
func runMPChild(stdout io.Writer) (err error) {
	var w mpWorker
	if err := childConfig(&w, func() int { return w.Size }, codec.HeaderSize); err != nil {
		return err
	}
	rs := medium.NewRings(context.Background(), ring.DefaultWait)
	defer func() { err = errors.Join(err, rs.Close()) }()
	res, err := runWorker(ringMedium(rs, w.Layout), w, childGate(stdout))
	if err != nil {
		return err
	}
	return printResult(stdout, res)
}
