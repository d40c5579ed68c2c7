//go:build linux

package main

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"
)

// TestKeptUpAllowsATenthOfTheWindow: a medium still on a message due in
// the window a tenth of the window (at least catchUpFloor) after its end
// is behind the rate. A second of grace let through a paced broadcast pass
// whose readers were 64-141 ms behind the schedule, timing a queue (from a
// black-box tester).
func TestKeptUpAllowsATenthOfTheWindow(t *testing.T) {
	start := time.Now()
	s := schedule{start: start, from: start, end: start.Add(2 * time.Second), rate: 1000}
	last := uint64(1999) // due at 1.999 s, in the window
	for _, c := range []struct {
		after  time.Duration // past the window's end
		behind bool
	}{{0, false}, {150 * time.Millisecond, false}, {250 * time.Millisecond, true}, {time.Second, true}} {
		if err := s.keptUp(last, s.end.Add(c.after)); errors.Is(err, errBehindRate) != c.behind {
			t.Errorf("%v after a 2 s window's end, its last message not through: keptUp = %v, want behind: %v", c.after, err, c.behind)
		}
	}
	short := schedule{start: start, from: start, end: start.Add(200 * time.Millisecond), rate: 1000}
	if err := short.keptUp(199, short.end.Add(150*time.Millisecond)); !errors.Is(err, errBehindRate) {
		t.Errorf("150 ms after a 200 ms window's end: keptUp = %v, want errBehindRate (the floor is %v)", err, catchUpFloor)
	}
	if err := s.keptUp(2000, s.end.Add(time.Hour)); err != nil {
		t.Errorf("a message due after the window: keptUp = %v, want nil", err)
	}
}

// TestCheckRate: a rate from one a second to the maximum, or 0 where it
// means no paced pass; NaN (which fails every comparison) and a rate whose
// period overflows a time.Duration are refused (from a black-box tester:
// --rate NaN dropped the pass silently, 1e-300 printed a period of
// -9223372036854775808 ns, and broadcast --rate 0.001 waited 1000 s for its
// second message, deaf to signals).
func TestCheckRate(t *testing.T) {
	for _, c := range []struct {
		rate          float64
		zeroMeansNone bool
		ok            bool
	}{
		{0, true, true}, {0, false, false}, {1, false, true}, {1e7, false, true}, {1e7 + 1, false, false},
		{0.5, true, false}, {1e-300, false, false}, {math.NaN(), true, false}, {math.Inf(1), false, false}, {-1, true, false},
	} {
		if err := checkRate(c.rate, 1e7, c.zeroMeansNone); (err == nil) != c.ok {
			t.Errorf("checkRate(%v, zero means none: %v) = %v, want ok: %v", c.rate, c.zeroMeansNone, err, c.ok)
		}
	}
}

// TestAPacedPublishStopsWithItsContext: a paced producer waiting for its
// next message's due time stops when its context is done (a signal), not
// when the message falls due.
func TestAPacedPublishStopsWithItsContext(t *testing.T) {
	j := fanJob{size: 64, duration: time.Hour, rate: 0.001} // the second message is due in 1000 s
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	o := &fanOutcome{}
	done := make(chan error, 1)
	go func() { done <- j.publish(ctx, &slowSink{}, o) }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("publish = %v, want nil (stopped)", err)
		}
	case <-time.After(30 * time.Second): // a guard against the hang, not a time limit
		t.Fatal("a paced publish waiting for its next message did not stop with its context")
	}
}

// TestAPacedPublishWaitsNoLongerThanItsWindow: a message due after the
// window's end is not sent, so it is not waited for either (a reviewer saw
// --rate=1 --duration=50ms spin a second past each paced cell's window).
func TestAPacedPublishWaitsNoLongerThanItsWindow(t *testing.T) {
	j := fanJob{size: 64, duration: 10 * time.Millisecond, rate: 0.001} // the second message is due in 1000 s
	o := &fanOutcome{}
	done := make(chan error, 1)
	go func() { done <- j.publish(context.Background(), &slowSink{}, o) }()
	select {
	case err := <-done:
		if err != nil || o.published != 1 {
			t.Errorf("publish = %v after %d messages, want nil after the one due in the window", err, o.published)
		}
	case <-time.After(30 * time.Second): // a guard against the wait, not a time limit
		t.Fatal("a paced publish waited past its window for a message it would not send")
	}
}
