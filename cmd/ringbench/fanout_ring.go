//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/shmring/shmring/ring"
)

// bcastBuilt says whether this build has broadcast readers (Ring.Reader).
const bcastBuilt = true

// openBcastReader joins r as a reader of policy ("lossless" or "lossy"),
// at the oldest message the ring retains.
func openBcastReader(ctx context.Context, r *ring.Ring, policy string) (fanSource, error) {
	o := ring.ReaderOptions{Policy: ring.Lossless, Start: ring.Oldest}
	if policy == "lossy" {
		o.Policy = ring.Lossy
	}
	rd, err := r.Reader(o)
	if err != nil {
		return nil, fmt.Errorf("ring=%s: %s reader: %w", r.Name(), policy, err)
	}
	return &ringSource{ctx: ctx, rd: rd}, nil
}

// ringSource reads with the copying Recv, which never returns a torn
// message: a lossy reader that was overrun gets a *ring.LapError instead.
type ringSource struct {
	ctx context.Context
	rd  *ring.Reader
}

func (s *ringSource) recv(buf []byte) (uint64, error) {
	n, err := s.rd.Recv(s.ctx, buf)
	var lap *ring.LapError
	switch {
	case errors.As(err, &lap):
		if lap.Missed == 0 {
			return 0, fmt.Errorf("%w: a lap that missed no message", errIntegrity)
		}
		return lap.Missed, nil
	case errors.Is(err, ring.ErrClosed):
		return 0, io.EOF
	case err != nil:
		return 0, err
	case n != len(buf):
		return 0, fmt.Errorf("%w: got a %d-byte message, want %d bytes", errIntegrity, n, len(buf))
	}
	return 0, nil
}

func (s *ringSource) lag() (uint64, bool) { return s.rd.Lag(), true }

func (s *ringSource) close() error { return s.rd.Close() }
