//go:build linux

package main

import (
	"fmt"

	"github.com/shmring/shmring/internal/codec"
)

// The integrity checks of mpmc and broadcast, and the faults that test them.

// account checks one received message and counts it.
func (res *mpResult) account(msg []byte, strict bool) error {
	h, err := codec.Check(msg)
	if err != nil {
		return err
	}
	if int(h.Producer) >= len(res.Per) {
		return fmt.Errorf("%w: message from producer %d, but there are %d producers", codec.ErrIntegrity, h.Producer, len(res.Per))
	}
	p := &res.Per[h.Producer]
	switch {
	case p.Count > 0 && h.Seq <= p.MaxSeq:
		return fmt.Errorf("%w: producer %d's message %d after its message %d (repeated or reordered)", codec.ErrIntegrity, h.Producer, h.Seq, p.MaxSeq)
	case strict && h.Seq != p.Count:
		return fmt.Errorf("%w: producer %d's message %d, want %d (lost)", codec.ErrIntegrity, h.Producer, h.Seq, p.Count)
	}
	p.Count++
	p.MaxSeq = h.Seq
	p.Digest += codec.Digest(h.Seq)
	res.Received++
	return nil
}

// checkExactlyOnce compares, producer by producer, what was sent with what
// the consumers received: count, highest number and digest must agree.
func checkExactlyOnce(prods, cons []mpResult) error {
	var sent, got uint64
	for _, p := range prods {
		var count, digest, maxSeq uint64
		for _, c := range cons {
			if p.Index >= len(c.Per) {
				return fmt.Errorf("%w: consumer %d reported %d producers, want at least %d", codec.ErrIntegrity, c.Index, len(c.Per), p.Index+1)
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
			return fmt.Errorf("%w: producer %d sent %d messages, the consumers received %d of its messages (lost or duplicated)", codec.ErrIntegrity, p.Index, p.Sent, count)
		case p.Sent > 0 && maxSeq != p.Sent-1:
			return fmt.Errorf("%w: producer %d's last message is %d, the highest received is %d", codec.ErrIntegrity, p.Index, p.Sent-1, maxSeq)
		case digest != p.Digest:
			return fmt.Errorf("%w: producer %d: the messages received are not those sent (one lost and another delivered twice)", codec.ErrIntegrity, p.Index)
		}
	}
	if sent != got {
		return fmt.Errorf("%w: %d messages sent, %d received", codec.ErrIntegrity, sent, got)
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
		return fmt.Errorf("%w: clients sent %d requests, servers echoed %d, clients took %d replies", codec.ErrIntegrity, sent, echoed, replies)
	}
	return nil
}

// A fault breaks one message on purpose (tests only): senders flip and
// flipfrom (a byte changed after the checksum), dup (sent twice) and skip
// (never sent); receivers drop (not counted) and redo (counted twice).
type fault struct {
	Kind string `json:"kind,omitempty"`
	At   uint64 `json:"at,omitempty"` // the worker's n-th message, from 0
}

// due says whether a sender must go on to message n whatever its clock
// says, so that a short run on a loaded machine still reaches the fault.
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
