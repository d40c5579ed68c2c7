//go:build !ringbench_bcast

package main

import (
	"context"
	"errors"

	"github.com/shmring/shmring/ring"
)

// bcastBuilt says whether this build has broadcast readers: not until the
// broadcast engine (Ring.Reader) is merged; fanout_ring.go then replaces
// this file.
const bcastBuilt = false

func openBcastReader(context.Context, *ring.Ring, string) (fanSource, error) {
	return nil, errors.New("broadcast readers are not in this build")
}
