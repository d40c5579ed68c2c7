//go:build linux

package main

import (
	"context"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// rateFor is the parent's fixed-rate loop. Message seq is due at
// start + seq/rate; the parent waits for that moment (never sends early),
// sends, waits for the echo, and records the time from the moment the
// message was DUE to the end of the echo's receive.
//
// Measuring from the intended send time is what keeps coordinated omission
// out of the figures: when the link stalls for 50 ms, the messages that
// should have gone out during the stall are sent late, back to back, and
// each records how late its answer really was (50 ms, 50 ms - 1/rate, …), as
// a user sending on that schedule would have seen. Timing from the actual
// send would record one slow sample and hide the rest.
//
// Only messages due after warmup are recorded; the loop stops at the first
// echo after warmup+d once at least one was recorded (a stall may have
// eaten the whole window).
func rateFor(ctx context.Context, ep endpoint, size int, rate float64, warmup, d time.Duration, minCount uint64, h *hdrhistogram.Histogram) (uint64, error) {
	s, r := newSender(ep, size), newReceiver(ep, size)
	start := time.Now()
	measureFrom := start.Add(warmup)
	end := measureFrom.Add(d)
	nsPerMsg := float64(time.Second) / rate
	for seq := uint64(0); ; seq++ {
		due := start.Add(time.Duration(float64(seq) * nsPerMsg))
		waitUntil(due)
		if err := roundTrip(s, r, seq); err != nil {
			return seq, err
		}
		t1 := time.Now()
		recorded := !due.Before(measureFrom)
		if recorded {
			recordRTT(h, t1.Sub(due))
		}
		if recorded && t1.After(end) && seq+1 >= minCount {
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
