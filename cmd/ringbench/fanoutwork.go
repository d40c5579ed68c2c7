//go:build linux

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/shmring/shmring/ring"
)

// The two ends of the broadcast subcommand's fan-out: the producer (the
// parent) writes every message once into a broadcast ring, or once into
// each reader's unix stream socket; each reader (a child process) reads
// them all, or, lossy on the ring, as many as it keeps up with.

// fanSink is the producer's end.
type fanSink interface {
	send(msg []byte) error
	close() error
}

// fanSource is a reader's end.
type fanSource interface {
	// recv fills buf with the next message; or, when the reader was lapped,
	// returns how many messages it missed and leaves buf alone; io.EOF at
	// the end of the stream.
	recv(buf []byte) (missed uint64, err error)
	// lag is how many published messages the reader has not yet read, if
	// the medium tells.
	lag() (uint64, bool)
	close() error
}

// fanReaderConfig is what a reader child needs, as JSON in envConfig.
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
	// Unreported counts messages a lossy reader skipped over without a
	// lap reporting them.
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
	if err := json.Unmarshal([]byte(os.Getenv(envConfig)), &c); err != nil {
		return fmt.Errorf("%s: %w", envConfig, err)
	}
	if c.Size < mmHeader || c.Size > maxSize {
		return fmt.Errorf("%s: message size %d out of range [%d, %d]", envConfig, c.Size, mmHeader, maxSize)
	}
	var src fanSource
	switch c.Medium {
	case "ring":
		r, err := ring.Open(c.Ring)
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, r.Close()) }()
		if src, err = openBcastReader(context.Background(), r, c.Policy); err != nil {
			return err
		}
	case "unix":
		fd, err := childFD(3)
		if err != nil {
			return err
		}
		src = &sockSource{end: newFDEnd(fd, -1, nil), size: c.Size}
	default:
		return fmt.Errorf("%s: unknown medium %q", envConfig, c.Medium)
	}
	if _, err := fmt.Fprintln(stdout, readyLine); err != nil {
		return errors.Join(err, src.close())
	}
	res, err := runFanReader(src, c)
	if err != nil {
		return err
	}
	return printResult(stdout, res)
}

// runFanReader reads until the end of the stream, checking every message:
// its checksum, and its sequence number against the one expected (a
// lossless reader: exactly; a lossy one: never backwards, and a gap only
// where a lap reported it).
func runFanReader(src fanSource, c fanReaderConfig) (res fanReaderResult, err error) {
	res = fanReaderResult{Index: c.Index, Policy: c.Policy}
	defer func() { err = errors.Join(err, src.close()) }()
	lossy := c.Policy == "lossy"
	buf := make([]byte, c.Size)
	h := newRTTHistogram()
	var expected, delivered uint64
	var bad error
	for {
		missed, err := src.recv(buf)
		if err == io.EOF {
			break
		}
		if err != nil {
			return res, fmt.Errorf("reader %d: receive: %w", c.Index, err)
		}
		if missed > 0 {
			if !lossy {
				bad = cmpOr(bad, fmt.Errorf("%w: lossless reader %d was lapped (missed %d)", errIntegrity, c.Index, missed))
			}
			res.Missed += missed
			res.Laps++
			expected += missed
			continue
		}
		now := time.Now().UnixNano()
		for range c.Fault.copies(delivered) {
			if bad == nil {
				bad = res.account(buf, &expected, lossy, now, h)
			}
		}
		if delivered%lagEvery == 0 {
			if l, ok := src.lag(); ok {
				res.MaxLag = max(res.MaxLag, l)
				res.LagSum += l
				res.LagSamples++
			}
		}
		delivered++
	}
	if res.Hist, err = encodeHist(h); err != nil {
		return res, err
	}
	if bad != nil {
		return res, fmt.Errorf("reader %d (%s): %w", c.Index, c.Policy, bad)
	}
	return res, nil
}

// account checks one delivered message and counts it.
func (res *fanReaderResult) account(msg []byte, expected *uint64, lossy bool, now int64, h interface{ RecordValue(int64) error }) error {
	hd, err := checkMulti(msg)
	if err != nil {
		return err
	}
	switch {
	case hd.id != 0:
		return fmt.Errorf("%w: message from producer %d, there is only producer 0", errIntegrity, hd.id)
	case hd.seq < *expected:
		return fmt.Errorf("%w: message %d after message %d (repeated or reordered)", errIntegrity, hd.seq, *expected-1)
	case hd.seq > *expected && !lossy:
		return fmt.Errorf("%w: message %d, want %d (lost)", errIntegrity, hd.seq, *expected)
	case hd.seq > *expected:
		res.Unreported += hd.seq - *expected
	}
	*expected = hd.seq + 1
	res.Received++
	d := max(now-hd.sentNs, histMin)
	_ = h.RecordValue(min(d, histMax))
	return nil
}

// sockSource reads a unix stream socket, one message per read(2) loop.
type sockSource struct {
	end  *fdEnd
	size int
}

func (s *sockSource) recv(buf []byte) (uint64, error) { return 0, s.end.recv(buf) }

// lag is the bytes queued in the socket, in messages (SIOCINQ, unix(7)).
func (s *sockSource) lag() (uint64, bool) {
	n, err := unix.IoctlGetInt(s.end.rfd, unix.SIOCINQ)
	if err != nil || n < 0 {
		return 0, false
	}
	return uint64(n / s.size), true
}

func (s *sockSource) close() error { return s.end.close() }

// sockSink writes every message to each reader's socket in turn.
type sockSink struct{ ends []*fdEnd }

func (s *sockSink) send(msg []byte) error {
	for i, e := range s.ends {
		if err := e.send(msg); err != nil {
			return fmt.Errorf("socket of reader %d: %w", i, err)
		}
	}
	return nil
}

func (s *sockSink) close() error {
	var errs []error
	for _, e := range s.ends {
		errs = append(errs, e.close()) // the reader reads end of file
	}
	return errors.Join(errs...)
}

// ringSink publishes with the copying Send, one message per call.
type ringSink struct {
	ctx context.Context
	p   *ring.Producer
}

func (s *ringSink) send(msg []byte) error { return s.p.Send(s.ctx, msg) }
func (s *ringSink) close() error          { return s.p.Close() }
