package main

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/shmring/shmring/bridge/nats/internal/natstest"
)

// TestAWriteToAStalledServerGivesUpWithinTheDrainTimeout: a publish
// blocked on a server that stopped reading holds the client's lock, so a
// stopping out bridge waited for the client's write timeout, a minute by
// default, whatever --drain-timeout said (a black-box tester: SIGTERM with
// --drain-timeout 1s took 59.6 s against a SIGSTOPped server). The write
// timeout is now the drain timeout, at least a second.
func TestAWriteToAStalledServerGivesUpWithinTheDrainTimeout(t *testing.T) {
	srv := natstest.Start(t, natstest.Config{})
	for _, c := range []struct{ drain, want time.Duration }{
		{3 * time.Second, 3 * time.Second},
		{0, time.Second},
	} {
		f := connFlags{url: srv.URL(), connectTimeout: time.Second}
		nc, err := f.connect(context.Background(), "test", c.drain, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if got := nc.Opts.FlusherTimeout; got != c.want {
			t.Errorf("--drain-timeout %v: the connection's write timeout is %v, want %v", c.drain, got, c.want)
		}
		nc.Close()
	}
}
