package main

import (
	"context"
	"fmt"
	"io"
	"time"

	natsbridge "github.com/shmring/shmring/bridge/nats"
)

// report prints the counters every interval until ctx ends, with the rate
// since the last line.
func report(ctx context.Context, w io.Writer, label string, every time.Duration, counters func() natsbridge.Counters) {
	if every <= 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	last, lastAt := counters(), time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			c := counters()
			rate := float64(c.Messages-last.Messages) / now.Sub(lastAt).Seconds()
			fmt.Fprintf(w, "ringbridge %s: %s rate=%.0f/s\n", label, c, rate)
			last, lastAt = c, now
		}
	}
}
