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
func runWorker(m mpMedium, w mpWorker, gate func() error) (mpResult, error) {
	var s medium.Sender
	var r medium.Receiver
	var rep *replier
	var err error
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
	if err != nil {
		return mpResult{}, err
	}
	switch w.Role {
	case "producer":
		return runMPProducer(s, w)
	case "consumer":
		return runMPConsumer(r, w)
	case "client":
		return runMPClient(s, r, w)
	}
	return runMPServer(r, rep, w)
}

func runMPProducer(s medium.Sender, w mpWorker) (res mpResult, err error) {
	res = mpResult{Role: w.Role, Index: w.Index}
	defer func() { err = errors.Join(err, s.Close()) }()
	msg := make([]byte, w.Size)
	every := clockEvery(w.Size)
	deadline := time.Now().Add(w.Duration).UnixNano()
	id := uint32(w.Index)
	var seq uint64
	for ; seq%every != 0 || time.Now().UnixNano() < deadline || w.Fault.due(seq) || seq < w.MinSend; seq++ {
		codec.Put(msg, codec.Header{Seq: seq, Producer: id})
		codec.Seal(msg)
		res.Digest += codec.Digest(seq)
		w.Fault.flip(seq, msg)
		for range w.Fault.copies(seq) {
			if err := s.Send(msg); err != nil {
				res.Sent = seq
				return res, fmt.Errorf("producer %d: send message %d: %w", w.Index, seq, err)
			}
		}
	}
	res.Sent = seq
	res.EndNs = time.Now().UnixNano()
	return res, nil
}

func runMPConsumer(r medium.Receiver, w mpWorker) (res mpResult, err error) {
	res = mpResult{Role: w.Role, Index: w.Index, Per: make([]perProducer, w.Producers)}
	defer func() { err = errors.Join(err, r.Close()) }()
	buf := make([]byte, w.Size)
	// With one consumer every message of each producer arrives, in order:
	// check each sequence number exactly, not just its order.
	strict := w.Consumers == 1
	var bad error
	for n := uint64(0); ; n++ {
		err := r.Recv(buf)
		if err == io.EOF {
			break
		}
		if err != nil {
			return res, fmt.Errorf("consumer %d: receive: %w", w.Index, err)
		}
		if n == 0 {
			res.FirstNs = time.Now().UnixNano()
		}
		for range w.Fault.copies(n) {
			if bad == nil {
				bad = res.account(buf, strict)
			}
		}
	}
	res.EndNs = time.Now().UnixNano()
	if bad != nil {
		return res, fmt.Errorf("consumer %d: %w", w.Index, bad)
	}
	return res, nil
}

// runMPClient keeps one request outstanding, stamped with its send time,
// takes the next reply (any client's, on a shared reply ring) and records
// now minus the time in it.
func runMPClient(s medium.Sender, r medium.Receiver, w mpWorker) (res mpResult, err error) {
	res = mpResult{Role: w.Role, Index: w.Index}
	defer func() { err = errors.Join(err, s.Close(), r.Close()) }()
	msg, buf := make([]byte, w.Size), make([]byte, w.Size)
	h := report.NewHist()
	start := time.Now()
	from, deadline := start.Add(w.Warmup).UnixNano(), start.Add(w.Warmup+w.Duration).UnixNano()
	id := uint32(w.Index)
	var bad error
	for seq := uint64(0); ; seq++ {
		now := time.Now().UnixNano()
		if now >= deadline && !w.Fault.due(seq) && seq >= w.MinSend {
			break
		}
		codec.Put(msg, codec.Header{Seq: seq, Producer: id, SentNs: now})
		codec.Seal(msg)
		w.Fault.flip(seq, msg)
		if err := s.Send(msg); err != nil {
			return res, fmt.Errorf("client %d: send request %d: %w", w.Index, seq, err)
		}
		res.Sent++
		if err := r.Recv(buf); err != nil {
			return res, fmt.Errorf("client %d: receive a reply: %w", w.Index, err)
		}
		got := time.Now().UnixNano()
		res.Received++
		hd, err := codec.Check(buf)
		if err == nil && int(hd.Producer) >= w.Producers {
			err = fmt.Errorf("%w: reply to client %d, but there are %d clients", codec.ErrIntegrity, hd.Producer, w.Producers)
		}
		if err != nil {
			bad = cmp.Or(bad, err)
			continue
		}
		if hd.SentNs >= from {
			report.Record(h, time.Duration(got-hd.SentNs))
		}
	}
	if res.Hist, err = report.Encode(h); err != nil {
		return res, err
	}
	if bad != nil {
		return res, fmt.Errorf("client %d: %w", w.Index, bad)
	}
	return res, nil
}

// runMPServer echoes every request to its client until the request stream
// ends, then closes its reply side.
func runMPServer(r medium.Receiver, rep *replier, w mpWorker) (res mpResult, err error) {
	res = mpResult{Role: w.Role, Index: w.Index}
	defer func() { err = errors.Join(err, r.Close(), rep.close()) }()
	buf := make([]byte, w.Size)
	var bad error
	for n := uint64(0); ; n++ {
		err := r.Recv(buf)
		if err == io.EOF {
			break
		}
		if err != nil {
			return res, fmt.Errorf("server %d: receive a request: %w", w.Index, err)
		}
		hd, err := codec.Check(buf)
		if err == nil && int(hd.Producer) >= w.Producers {
			err = fmt.Errorf("%w: request from client %d, but there are %d clients", codec.ErrIntegrity, hd.Producer, w.Producers)
		}
		if int(hd.Producer) >= w.Producers {
			hd.Producer = 0 // still answer someone: every client waits for a reply
		}
		bad = cmp.Or(bad, err)
		w.Fault.flip(n, buf)
		if err := rep.reply(hd.Producer, buf); err != nil {
			return res, fmt.Errorf("server %d: reply: %w", w.Index, err)
		}
		res.Received++
	}
	if bad != nil {
		return res, fmt.Errorf("server %d: %w", w.Index, bad)
	}
	return res, nil
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
