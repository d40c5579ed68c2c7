//go:build linux

package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/shmring/shmring/internal/codec"
	"github.com/shmring/shmring/internal/launch"
	"github.com/shmring/shmring/internal/medium"
	"github.com/shmring/shmring/internal/report"
	"github.com/shmring/shmring/ring"
)

// The checks of what arrived: the broadcast reader's of every message, the
// mpmc consumers' and parent's, and the faults that test them.

// fanReaderConfig is what a reader child needs (its config).
type fanReaderConfig struct {
	Index  int    `json:"index"`
	Medium string `json:"medium"` // "ring" or "unix"
	Ring   string `json:"ring,omitempty"`
	Policy string `json:"policy"` // "lossless" or "lossy"
	Size   int    `json:"size"`
	Fault  fault  `json:"fault"` // tests: drop or redo a delivered message
}

// fanReaderResult is one reader's report.
type fanReaderResult struct {
	Index    int    `json:"index"`
	Policy   string `json:"policy"`
	Received uint64 `json:"received"` // messages delivered and checked
	Missed   uint64 `json:"missed"`   // reported by laps (lossy)
	Laps     uint64 `json:"laps"`
	// messages a lossy reader skipped over without a lap reporting them
	Unreported uint64 `json:"unreported,omitempty"`
	MaxLag     uint64 `json:"max_lag"`
	LagSum     uint64 `json:"lag_sum"`
	LagSamples uint64 `json:"lag_samples"`
	Hist       string `json:"hist"` // send time to receive time, encoded
}

// lagEvery: a reader samples its lag once every this many messages.
const lagEvery = 256

func runFanChild(stdout io.Writer) (err error) {
	var c fanReaderConfig
	if err := childConfig(&c, func() int { return c.Size }, codec.HeaderSize); err != nil {
		return err
	}
	var src medium.Receiver
	switch c.Medium {
	case fanRing:
		rs := medium.NewRings(context.Background(), ring.DefaultWait)
		defer func() { err = errors.Join(err, rs.Close()) }()
		if src, err = rs.Reader(c.Ring, c.Policy == "lossy"); err != nil {
			return err
		}
	case fanUnix:
		fd, err := medium.Inherited(3)
		if err != nil {
			return err
		}
		src = medium.SocketReceiver{FDReceiver: medium.NewFDReceiver(fd), Size: c.Size}
	default:
		return fmt.Errorf("%s: unknown medium %q", launch.ConfigEnv, c.Medium)
	}
	if err := childGate(stdout)(); err != nil {
		return errors.Join(err, src.Close())
	}
	res, err := runFanReader(src, c)
	if err != nil {
		return err
	}
	return printResult(stdout, res)
}

// runFanReader reads to the end of the stream, checking every message's
// checksum and sequence number: a lossless reader's exactly, a lossy one's
// never backwards, with a gap only where a lap reported it.
func runFanReader(src medium.Receiver, c fanReaderConfig) (res fanReaderResult, err error) {
	res = fanReaderResult{Index: c.Index, Policy: c.Policy}
	defer func() { err = errors.Join(err, src.Close()) }()
	lagger, _ := src.(medium.Lagger)
	lossy := c.Policy == "lossy"
	buf := make([]byte, c.Size)
	h := report.NewHist()
	var expected, delivered uint64
	var bad error
	for {
		err := src.Recv(buf)
		if err == io.EOF {
			break
		}
		var lap *medium.LapError
		switch {
		case errors.As(err, &lap) && lap.Missed == 0:
			return res, fmt.Errorf("%w: reader %d: a lap that missed no message", codec.ErrIntegrity, c.Index)
		case lap != nil:
			if !lossy {
				bad = cmp.Or(bad, fmt.Errorf("%w: lossless reader %d was lapped (missed %d)", codec.ErrIntegrity, c.Index, lap.Missed))
			}
			res.Missed += lap.Missed
			res.Laps++
			expected += lap.Missed
			continue
		case err != nil:
			return res, fmt.Errorf("reader %d: receive: %w", c.Index, err)
		}
		now := time.Now().UnixNano()
		for range c.Fault.copies(delivered) {
			if bad == nil {
				bad = res.account(buf, &expected, lossy, now, h)
			}
		}
		if delivered%lagEvery == 0 && lagger != nil {
			if l, ok := lagger.Lag(); ok {
				res.MaxLag = max(res.MaxLag, l)
				res.LagSum += l
				res.LagSamples++
			}
		}
		delivered++
	}
	if res.Hist, err = report.Encode(h); err != nil {
		return res, err
	}
	if bad != nil {
		return res, fmt.Errorf("reader %d (%s): %w", c.Index, c.Policy, bad)
	}
	return res, nil
}

// account checks one delivered message and counts it.
func (res *fanReaderResult) account(msg []byte, expected *uint64, lossy bool, now int64, h *hdrhistogram.Histogram) error {
	hd, err := codec.Check(msg)
	if err != nil {
		return err
	}
	switch {
	case hd.Producer != 0:
		return fmt.Errorf("%w: message from producer %d, there is only producer 0", codec.ErrIntegrity, hd.Producer)
	case hd.Seq < *expected:
		return fmt.Errorf("%w: message %d after message %d (repeated or reordered)", codec.ErrIntegrity, hd.Seq, *expected-1)
	case hd.Seq > *expected && !lossy:
		return fmt.Errorf("%w: message %d, want %d (lost)", codec.ErrIntegrity, hd.Seq, *expected)
	case hd.Seq > *expected:
		res.Unreported += hd.Seq - *expected
	}
	*expected = hd.Seq + 1
	res.Received++
	report.Record(h, time.Duration(now-hd.SentNs))
	return nil
}

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

// copies says how many times message n goes through: 0, 1 or 2.
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
