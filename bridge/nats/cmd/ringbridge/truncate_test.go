package main

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/shmring/shmring/bridge/nats/internal/msgcheck"
	"github.com/shmring/shmring/bridge/nats/internal/natstest"
	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/ring"
)

// TestOutExitsWhenItsRingIsTruncated: a peer shrinks the ring file while
// ringbridge out forwards it, holding a batch it took and could not
// publish yet (the server was down; the producer filled the ring behind
// it). Once the server is back, ringbridge exits with status 1 and a line
// on stderr saying the file was truncated: no SIGBUS, no hang. What a
// subscriber got is whole and in order: every message before the outage,
// then at most some of those the bridge took before the truncation.
func TestOutExitsWhenItsRingIsTruncated(t *testing.T) {
	proctest.Watchdog(t, watchdog)
	const pause = 500
	srv := natstest.Start(t, natstest.Config{})
	src := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 1024})
	got := make(chan *nats.Msg, 1<<16)
	sub, err := nats.Connect(srv.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if _, err := sub.ChanSubscribe("trunc", got); err != nil {
		t.Fatal(err)
	}
	if err := sub.Flush(); err != nil {
		t.Fatal(err)
	}
	// No idle flush: one in flight when the server stops would hold the
	// bridge in flush, not with a batch taken from the ring. nats.go's
	// own flusher still sends what is published.
	out := bridge(t, "out", src, "trunc", "--url", srv.URL(), "--reconnect-wait", "50ms", "--idle-flush", "1h")
	producer := proctest.Start(t, "produce", src, "100000", "64", strconv.Itoa(pause))

	expectLine(t, producer, "paused at "+strconv.Itoa(pause))
	next := uint64(0)
	for ; next < pause; next++ {
		select {
		case m := <-got:
			if seq, err := msgcheck.Check(m.Data); err != nil || seq != next {
				t.Fatalf("got message %d (%v), want %d", seq, err, next)
			}
		case <-time.After(watchdog):
			t.Fatalf("watchdog: message %d never came", next)
		}
	}
	srv.Stop()
	// The line names the bridge, for several logging to one place (a
	// black-box tester).
	for !strings.Contains(out.Stderr(), "ringbridge out "+src+" → trunc: disconnected from NATS") {
		time.Sleep(10 * time.Millisecond) // bounded by the watchdog
	}
	if err := producer.WriteLine("go"); err != nil {
		t.Fatal(err)
	}
	// The ring is full. The bridge, woken by its first message, takes a
	// batch and waits for the server with it; nothing outside it can see
	// that it has, so give it a moment on a busy machine. Should it take
	// the batch only after the truncation, the ring reports that instead,
	// and the checks below still hold (TestOutStopsOnATruncatedRing, in
	// the package, makes sure of the held batch).
	expectLine(t, producer, "held")
	time.Sleep(200 * time.Millisecond)
	if err := os.Truncate(ringPath(t, src), slotsCut(t, src)); err != nil {
		t.Fatal(err)
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}

	_ = out.Wait()
	stderr := out.Stderr()
	t.Logf("ringbridge out said:\n%s", stderr)
	if code := out.ExitCode(); code != 1 {
		t.Fatalf("ringbridge out exited with status %d, want 1; stderr:\n%s", code, stderr)
	}
	want := "ringbridge: read ring \"" + src + "\": ring: file truncated under the ring: "
	if !strings.Contains(stderr, "\n"+want) && !strings.HasPrefix(stderr, want) {
		t.Errorf("stderr:\n%s\nwant a line starting %q", stderr, want)
	}
	_ = producer.Wait() // the producer's own calls report the truncation too
	if err := sub.Flush(); err != nil {
		t.Fatal(err)
	}
	for len(got) > 0 {
		seq, err := msgcheck.Check((<-got).Data)
		if err != nil || seq < next {
			t.Fatalf("after the outage: message %d (%v), want %d or later, whole", seq, err, next)
		}
		next = seq + 1
	}
}

func ringPath(t *testing.T, name string) string {
	t.Helper()
	r, err := ring.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	return r.Path()
}

// slotsCut is a size to shrink the ring's file to that keeps its header
// and control words whole and takes its slots away but for the first
// page of them, so that the bridge's next touch of a slot past it faults.
func slotsCut(t *testing.T, name string) int64 {
	t.Helper()
	r, err := ring.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	page := uint64(os.Getpagesize())
	return int64((r.Header().SlotsOffset + page) &^ (page - 1))
}
