//go:build linux

package main

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// The workers of the mpmc subcommand. Each runs the same code in a child
// process (over rings it opened by name) and in a goroutine (over rings or
// the shared channel), and reports an mpResult. A worker that finds a bad
// message remembers the first such error and carries on moving messages
// until its stream ends, so that no other worker waits forever on it; it
// returns the error at the end.

// mpWorker says what one worker does; a child gets it as JSON in
// envMPConfig.
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
}

// A fault breaks one message on purpose (tests only: no flag sets it).
// Senders know flip and flipfrom (a byte changed after the checksum), dup (sent twice)
// and skip (a sequence number never sent); receivers drop (a message
// received and not counted) and redo (counted twice).
type fault struct {
	Kind string `json:"kind,omitempty"`
	At   uint64 `json:"at,omitempty"` // the worker's n-th message, from 0
}

// due reports whether a sender must go on to message n whatever its clock
// says: a fault not yet reached. A loaded machine may otherwise end a short
// run before the fault, and a test that injects one would pass for nothing.
func (f fault) due(n uint64) bool { return f.Kind != "" && n <= f.At }

// copies says how many times message n goes through when f applies:
// 0 (skip, drop), 1, or 2 (dup, redo).
func (f fault) copies(n uint64) int {
	if f.At != n {
		return 1
	}
	switch f.Kind {
	case "skip", "drop":
		return 0
	case "dup", "redo":
		return 2
	}
	return 1
}

// flip corrupts msg if f says so for message n: flip hits message At,
// flipfrom every message from At on (a lossy reader may be lapped past any
// one message, never past all).
func (f fault) flip(n uint64, msg []byte) {
	if f.Kind == "flip" && f.At == n || f.Kind == "flipfrom" && n >= f.At {
		msg[len(msg)-1] ^= 0x20
	}
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

// runWorker takes w's handles from m, calls gate (which returns once every
// worker is ready and the run starts), and runs w's loop.
// A gate that fails ends the worker; its handles are the medium's to close.
func runWorker(m mpMedium, w mpWorker, gate func() error) (mpResult, error) {
	switch w.Role {
	case "producer":
		s, err := m.producer()
		if err != nil {
			return mpResult{}, err
		}
		if err := gate(); err != nil {
			return mpResult{}, err
		}
		return runMPProducer(s, w)
	case "consumer":
		r, err := m.consumer()
		if err != nil {
			return mpResult{}, err
		}
		if err := gate(); err != nil {
			return mpResult{}, err
		}
		return runMPConsumer(r, w)
	case "client":
		s, r, err := m.client(w.Index)
		if err != nil {
			return mpResult{}, err
		}
		if err := gate(); err != nil {
			return mpResult{}, err
		}
		return runMPClient(s, r, w)
	case "server":
		r, rep, err := m.server()
		if err != nil {
			return mpResult{}, err
		}
		if err := gate(); err != nil {
			return mpResult{}, err
		}
		return runMPServer(r, rep, w)
	}
	return mpResult{}, fmt.Errorf("unknown worker role %q", w.Role)
}

func runMPProducer(s mpSender, w mpWorker) (res mpResult, err error) {
	res = mpResult{Role: w.Role, Index: w.Index}
	defer func() { err = errors.Join(err, s.close()) }()
	msg := make([]byte, w.Size)
	every := clockEvery(w.Size)
	deadline := time.Now().Add(w.Duration).UnixNano()
	id := uint32(w.Index)
	var seq uint64
	for ; seq%every != 0 || time.Now().UnixNano() < deadline || w.Fault.due(seq); seq++ {
		stampMulti(msg, id, seq, 0)
		res.Digest += seqDigest(seq)
		w.Fault.flip(seq, msg)
		for range w.Fault.copies(seq) {
			if err := s.send(msg); err != nil {
				res.Sent = seq
				return res, fmt.Errorf("producer %d: send message %d: %w", w.Index, seq, err)
			}
		}
	}
	res.Sent = seq
	res.EndNs = time.Now().UnixNano()
	return res, nil
}

func runMPConsumer(r mpReceiver, w mpWorker) (res mpResult, err error) {
	res = mpResult{Role: w.Role, Index: w.Index, Per: make([]perProducer, w.Producers)}
	defer func() { err = errors.Join(err, r.close()) }()
	buf := make([]byte, w.Size)
	// With one consumer every message of each producer arrives, in order:
	// check each sequence number exactly, not just its order.
	strict := w.Consumers == 1
	var bad error
	for n := uint64(0); ; n++ {
		err := r.recv(buf)
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

// account checks one received message and counts it.
func (res *mpResult) account(msg []byte, strict bool) error {
	h, err := checkMulti(msg)
	if err != nil {
		return err
	}
	if int(h.id) >= len(res.Per) {
		return fmt.Errorf("%w: message from producer %d, but there are %d producers", errIntegrity, h.id, len(res.Per))
	}
	p := &res.Per[h.id]
	switch {
	case p.Count > 0 && h.seq <= p.MaxSeq:
		return fmt.Errorf("%w: producer %d's message %d after its message %d (repeated or reordered)", errIntegrity, h.id, h.seq, p.MaxSeq)
	case strict && h.seq != p.Count:
		return fmt.Errorf("%w: producer %d's message %d, want %d (lost)", errIntegrity, h.id, h.seq, p.Count)
	}
	p.Count++
	p.MaxSeq = h.seq
	p.Digest += seqDigest(h.seq)
	res.Received++
	return nil
}

// runMPClient keeps one request outstanding: it stamps the send time into
// a request, sends it, takes the next reply (any client's, on a shared
// reply ring) and records now minus the time embedded in that reply.
func runMPClient(s mpSender, r mpReceiver, w mpWorker) (res mpResult, err error) {
	res = mpResult{Role: w.Role, Index: w.Index}
	defer func() { err = errors.Join(err, s.close(), r.close()) }()
	msg, buf := make([]byte, w.Size), make([]byte, w.Size)
	h := newRTTHistogram()
	start := time.Now()
	from, deadline := start.Add(w.Warmup).UnixNano(), start.Add(w.Warmup+w.Duration).UnixNano()
	id := uint32(w.Index)
	var bad error
	for seq := uint64(0); ; seq++ {
		now := time.Now().UnixNano()
		if now >= deadline && !w.Fault.due(seq) {
			break
		}
		stampMulti(msg, id, seq, now)
		w.Fault.flip(seq, msg)
		if err := s.send(msg); err != nil {
			return res, fmt.Errorf("client %d: send request %d: %w", w.Index, seq, err)
		}
		res.Sent++
		if err := r.recv(buf); err != nil {
			return res, fmt.Errorf("client %d: receive a reply: %w", w.Index, err)
		}
		got := time.Now().UnixNano()
		res.Received++
		hd, err := checkMulti(buf)
		if err == nil && int(hd.id) >= w.Producers {
			err = fmt.Errorf("%w: reply to client %d, but there are %d clients", errIntegrity, hd.id, w.Producers)
		}
		if err != nil {
			bad = cmpOr(bad, err)
			continue
		}
		if hd.sentNs >= from {
			recordRTT(h, time.Duration(got-hd.sentNs))
		}
	}
	if res.Hist, err = encodeHist(h); err != nil {
		return res, err
	}
	if bad != nil {
		return res, fmt.Errorf("client %d: %w", w.Index, bad)
	}
	return res, nil
}

// runMPServer echoes every request to its client until the request stream
// ends, then closes its reply side.
func runMPServer(r mpReceiver, rep replier, w mpWorker) (res mpResult, err error) {
	res = mpResult{Role: w.Role, Index: w.Index}
	defer func() { err = errors.Join(err, r.close(), rep.close()) }()
	buf := make([]byte, w.Size)
	var bad error
	for n := uint64(0); ; n++ {
		err := r.recv(buf)
		if err == io.EOF {
			break
		}
		if err != nil {
			return res, fmt.Errorf("server %d: receive a request: %w", w.Index, err)
		}
		hd, err := checkMulti(buf)
		if err == nil && int(hd.id) >= w.Producers {
			err = fmt.Errorf("%w: request from client %d, but there are %d clients", errIntegrity, hd.id, w.Producers)
		}
		if int(hd.id) >= w.Producers {
			hd.id = 0 // still answer someone: every client waits for a reply
		}
		bad = cmpOr(bad, err)
		w.Fault.flip(n, buf)
		if err := rep.reply(hd.id, buf); err != nil {
			return res, fmt.Errorf("server %d: reply: %w", w.Index, err)
		}
		res.Received++
	}
	if bad != nil {
		return res, fmt.Errorf("server %d: %w", w.Index, bad)
	}
	return res, nil
}

// cmpOr keeps the first error.
func cmpOr(first, next error) error {
	if first != nil {
		return first
	}
	return next
}

// checkExactlyOnce compares what the producers sent with what the
// consumers received, producer by producer: the count, the highest
// sequence number and the digest must all agree, or a message was lost
// or delivered twice.
func checkExactlyOnce(prods, cons []mpResult) error {
	var sent, got uint64
	for _, p := range prods {
		var count, digest, maxSeq uint64
		for _, c := range cons {
			if p.Index >= len(c.Per) {
				return fmt.Errorf("%w: consumer %d reported %d producers, want at least %d", errIntegrity, c.Index, len(c.Per), p.Index+1)
			}
			pp := c.Per[p.Index]
			count += pp.Count
			digest += pp.Digest
			if pp.Count > 0 {
				maxSeq = max(maxSeq, pp.MaxSeq)
			}
		}
		sent += p.Sent
		got += count
		switch {
		case count != p.Sent:
			return fmt.Errorf("%w: producer %d sent %d messages, the consumers received %d of its messages (lost or duplicated)", errIntegrity, p.Index, p.Sent, count)
		case p.Sent > 0 && maxSeq != p.Sent-1:
			return fmt.Errorf("%w: producer %d's last message is %d, the highest received is %d", errIntegrity, p.Index, p.Sent-1, maxSeq)
		case digest != p.Digest:
			return fmt.Errorf("%w: producer %d: the messages received are not those sent (one lost and another delivered twice)", errIntegrity, p.Index)
		}
	}
	if sent != got {
		return fmt.Errorf("%w: %d messages sent, %d received", errIntegrity, sent, got)
	}
	return nil
}

// checkRoundTrips: every request was echoed once and every reply taken.
func checkRoundTrips(clients, servers []mpResult) error {
	var sent, replies, echoed uint64
	for _, c := range clients {
		sent += c.Sent
		replies += c.Received
	}
	for _, s := range servers {
		echoed += s.Received
	}
	if sent != echoed || sent != replies {
		return fmt.Errorf("%w: clients sent %d requests, servers echoed %d, clients took %d replies", errIntegrity, sent, echoed, replies)
	}
	return nil
}
