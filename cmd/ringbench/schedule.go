//go:build linux

package main

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// A schedule is a fixed-rate pass: message seq is due at start + seq/rate,
// and the messages due in [from, end) are the ones it measures, each timed
// from when it was due. run's fixed-rate round trips and broadcast's paced
// latency pass both keep one, and both judge by keptUp whether the medium
// kept the rate: a figure timed from the due time of a medium that fell
// behind measures the queue its backlog built, not a latency.
type schedule struct {
	start, from, end time.Time
	rate             float64 // messages per second, > 0
}

// due is when message seq is due.
func (s schedule) due(seq uint64) time.Time {
	return s.start.Add(time.Duration(float64(seq) * float64(time.Second) / s.rate))
}

// inWindow says whether message seq falls due before the window's end.
func (s schedule) inWindow(seq uint64) bool { return s.due(seq).Before(s.end) }

// keptUp is the rule: a medium whose next message to go through (seq) was
// due in the window, a tenth of the window (at least catchUpFloor) after the
// window's end, cannot keep the rate: errBehindRate, saying how far behind
// it was. The caller asks before each message and stops there, so that
// the pass is skipped instead of showing the figures of the messages it
// managed without those due last, or of a backlog.
func (s schedule) keptUp(seq uint64, now time.Time) error {
	grace := max(s.end.Sub(s.from)/10, catchUpFloor)
	if !s.inWindow(seq) || now.Sub(s.end) <= grace {
		return nil
	}
	return fmt.Errorf("%w of %.0f msg/s: %v after the window's end, %d of the %d messages due by then had gone through (lower --rate)",
		errBehindRate, s.rate, grace, seq, dueBefore(s.end.Sub(s.start), s.rate))
}

// errBehindRate: a fixed-rate pass whose medium cannot keep the rate. Its
// figures would leave out the messages due last in the window, the latest
// ones, so there are none: the cell is skipped, saying how far behind it
// was.
var errBehindRate = errors.New("the transport could not keep the rate")

// catchUpFloor is the least time a fixed-rate pass late at its window's
// end has to get through what fell due in it (a tenth of the window where
// that is more): a short window on a busy machine is late by a
// descheduling or two, not by a rate it cannot keep. Much more, and what
// the pass times is a queue: a tester saw a second of grace let through a
// broadcast pass whose readers were 64 ms (p50) to 141 ms behind.
const catchUpFloor = 100 * time.Millisecond

// minRate is the slowest schedule a pass takes, a message a second: a
// slower one sends next to nothing in a run of seconds, and its period
// overflows a time.Duration long before the rate reaches zero.
const minRate = 1

// checkRate: --rate from minRate to max messages a second, or 0 where zero
// means no paced pass. Written so that NaN, which fails every comparison,
// fails it.
func checkRate(rate, max float64, zeroMeansNone bool) error {
	if rate == 0 && zeroMeansNone || rate >= minRate && rate <= max {
		return nil
	}
	if zeroMeansNone {
		return fmt.Errorf("--rate %v: want 0 (no paced pass) or %d to %.0f messages per second", rate, minRate, max)
	}
	return fmt.Errorf("--rate %v: want %d to %.0f messages per second", rate, minRate, max)
}

// dueBefore is how many messages a schedule of rate a second has due in
// the first d.
func dueBefore(d time.Duration, rate float64) uint64 {
	return uint64(math.Ceil(d.Seconds() * rate))
}
