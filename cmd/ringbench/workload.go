//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/shmring/shmring/internal/medium"
	"github.com/shmring/shmring/internal/report"
	"golang.org/x/sys/unix"
)

// The loops the two ends run. Every message is stamped by its sender and
// verified by its receiver, inside every figure, for every transport alike.

// clockEvery is how many messages of size bytes go between clock readings
// in the streaming loops (a power of two up to 1024, about 64 KiB of
// messages), so that reading the clock costs next to nothing and large
// messages still see it often enough.
func clockEvery(size int) uint64 {
	k := uint64(1024)
	for k > 1 && k*uint64(size) > 64<<10 {
		k /= 2
	}
	return k
}

// peerResult is what the peer reports when a run ends: the messages it
// received and verified, those inside its measurement window, their bytes
// and the window's length on its clock (throughput), and its handles'
// counters.
type peerResult struct {
	Received  uint64           `json:"received"`
	Measured  uint64           `json:"measured"`
	Bytes     uint64           `json:"bytes"`
	ElapsedNs int64            `json:"elapsed_ns"`
	Counters  []medium.Counter `json:"counters,omitempty"`
}

// sendFor is the parent's throughput loop: messages 0, 1, 2, … for d (and
// at least minCount), or exactly count if count > 0; it returns how many.
func sendFor(ctx context.Context, e *end, sh shape, d time.Duration, count, minCount uint64) (uint64, error) {
	s := newSender(e, sh)
	every := clockEvery(sh.mean())
	deadline := time.Now().Add(d)
	for seq := uint64(0); ; seq++ {
		if count > 0 && seq == count {
			return seq, nil
		}
		if seq%every == 0 {
			if err := ctx.Err(); err != nil {
				return seq, err
			}
			if count == 0 && seq >= minCount && time.Now().After(deadline) {
				return seq, nil
			}
		}
		if err := s.send(seq); err != nil {
			return seq, fmt.Errorf("send message %d: %w", seq, err)
		}
	}
}

// receiveAll is the peer's throughput loop, until the sender closes. Its
// window opens at the first clock reading warmup after the first message
// (or at the first message, for a stream shorter than that) and closes at
// the end of the stream.
func receiveAll(e *end, sh shape, warmup time.Duration) (peerResult, error) {
	r := newReceiver(e, sh)
	every := clockEvery(sh.mean())
	var first, start time.Time
	var startN uint64                // messages 0..startN had arrived when the window opened
	var total, firstB, startB uint64 // bytes of the messages received; of message 0; of 0..startN
	measuring := false
	for n := uint64(0); ; n++ {
		k, err := r.recv(n, false)
		if errors.Is(err, io.EOF) {
			end := time.Now()
			if n < 2 { // no span to time: a cell of no measurement, which the report warns of
				return peerResult{Received: n}, nil
			}
			if !measuring {
				start, startN, startB = first, 0, firstB
			}
			return peerResult{Received: n, Measured: n - 1 - startN, Bytes: total - startB, ElapsedNs: end.Sub(start).Nanoseconds()}, nil
		}
		if err != nil {
			return peerResult{Received: n}, err
		}
		total += uint64(k)
		if n%every == 0 {
			now := time.Now()
			switch {
			case n == 0:
				first, firstB = now, total
			case !measuring && now.Sub(first) >= warmup:
				measuring, start, startN, startB = true, now, n, total
			}
		}
	}
}

// roundTrip sends message seq and receives and verifies its echo.
func roundTrip(s *sender, r *receiver, seq uint64) error {
	if err := s.send(seq); err != nil {
		return fmt.Errorf("send message %d: %w", seq, err)
	}
	if _, err := r.recv(seq, false); err != nil {
		if errors.Is(err, io.EOF) {
			err = errors.New("peer closed the link")
		}
		return fmt.Errorf("echo: %w", err)
	}
	return nil
}

// echoAll is the peer's loop for the two-way workloads: it receives,
// verifies and sends back each message until the parent closes.
func echoAll(e *end, sh shape) (peerResult, error) {
	r := newReceiver(e, sh)
	for n := uint64(0); ; n++ {
		if _, err := r.recv(n, true); err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return peerResult{Received: n}, err
		}
	}
}

// runPeer is the peer's side of w on e, from the gate on, its loop pinned
// to pc.CPU; the result carries e's counters.
func runPeer(e *end, w workload, pc peerConfig, gate func() error) (res peerResult, err error) {
	if err := gate(); err != nil {
		return res, err
	}
	unpin, err := pinThread(pc.CPU)
	if err != nil {
		return res, err
	}
	defer unpin()
	sh, err := pc.shape()
	if err != nil {
		return res, err
	}
	if w == throughput {
		res, err = receiveAll(e, sh, pc.Warmup)
	} else {
		res, err = echoAll(e, sh)
	}
	res.Counters = e.counters()
	return res, err
}

// pingFor is the parent's round-trip loop: it sends message seq, waits for
// the echo and verifies it, and records the round trip in h once warmup
// has passed; it stops after warmup+d once at least one was recorded and
// minCount were made, and returns how many it made. The caller closes the
// sending side.
//
// With rate > 0 message seq is due at start + seq/rate: the loop waits for
// that moment (never sends early) and times the round trip from when the
// message was DUE. That keeps coordinated omission out of the figures:
// when the link stalls for 50 ms, the messages that should have gone out
// meanwhile are sent late, back to back, and each records how late its
// answer really was, as a user sending on that schedule would have seen.
// Timing from the actual send would record one slow sample and hide the rest.
// It stops once every message due before the window's end was answered;
// a transport that cannot keep the rate (schedule.keptUp) has its cell
// skipped (errBehindRate) rather than show figures without the messages
// due last.
func pingFor(ctx context.Context, e *end, sh shape, rate float64, warmup, d time.Duration, minCount uint64, h *hdrhistogram.Histogram) (uint64, error) {
	s, r := newSender(e, sh), newReceiver(e, sh)
	start := time.Now()
	measureFrom := start.Add(warmup)
	end := measureFrom.Add(d)
	sched := schedule{start: start, from: measureFrom, end: end, rate: rate}
	for seq := uint64(0); ; seq++ {
		t0 := time.Now()
		if rate > 0 {
			t0 = sched.due(seq)
			if !sched.inWindow(seq) && seq >= minCount {
				return seq, nil // every message due in the window was answered
			}
			if err := sched.keptUp(seq, time.Now()); err != nil { // not for what minCount adds after the window
				return seq, err
			}
			waitUntil(t0)
		}
		if err := roundTrip(s, r, seq); err != nil {
			return seq, err
		}
		t1 := time.Now()
		recorded := !t0.Before(measureFrom)
		if recorded {
			report.Record(h, t1.Sub(t0))
		}
		if rate == 0 && recorded && t1.After(end) && seq+1 >= minCount {
			return seq + 1, nil
		}
		if seq%64 == 0 {
			if err := ctx.Err(); err != nil {
				return seq + 1, err
			}
		}
	}
}

// waitUntil returns at t or just after. It sleeps only while more than
// sleepSlack remains (time.Sleep oversleeps by up to a millisecond on the
// reference machine) and spins on the clock for the rest.
func waitUntil(t time.Time) {
	const sleepSlack = 2 * time.Millisecond
	if d := time.Until(t); d > sleepSlack {
		time.Sleep(d - sleepSlack)
	}
	for time.Now().Before(t) {
	}
}

// pinThread locks the goroutine to its OS thread and pins that to cpu
// (sched_setaffinity(2)); unpin undoes both. cpu < 0 pins nothing.
func pinThread(cpu int) (unpin func(), err error) {
	if cpu < 0 {
		return func() {}, nil
	}
	runtime.LockOSThread()
	var old, set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("sched_getaffinity: %w", err)
	}
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("pin to CPU %d: sched_setaffinity: %w", cpu, err)
	}
	return func() {
		_ = unix.SchedSetaffinity(0, &old) // back to what it was: the thread returns to the pool
		runtime.UnlockOSThread()
	}, nil
}

// usableCPU says whether this process may run on cpu.
func usableCPU(cpu int) bool {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return false
	}
	return cpu >= 0 && cpu < 1024 && set.IsSet(cpu)
}
