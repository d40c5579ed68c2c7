//go:build linux

package main

import (
	"fmt"

	"github.com/shmring/shmring/internal/codec"
)

// The mpmc subcommand's checks: each consumer accounts for what it got,
// and the parent compares that with what the producers sent.

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
