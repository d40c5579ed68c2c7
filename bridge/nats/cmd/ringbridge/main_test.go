package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"testing"

	"github.com/shmring/shmring/bridge/nats/internal/msgcheck"
	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/ring"
)

// TestMain lets the test binary be ringbridge itself and the processes on
// either side of it: a producer writing numbered messages into a ring and
// a consumer checking them out of another.
func TestMain(m *testing.M) {
	proctest.Register("ringbridge", func() int { return run(proctest.Args(), os.Stdout, os.Stderr) })
	proctest.Register("produce", produceRole)
	proctest.Register("consume", consumeRole)
	proctest.Main(m)
}

// roleTimeout bounds a producer's or consumer's whole run: a hang guard
// for a child whose parent's watchdog did not fire, not a speed limit.
const roleTimeout = 5 * time.Minute

// produceRole: RING N SIZE [PAUSE]. Sends messages 0..N-1 of SIZE bytes
// into RING and ends the stream. With PAUSE it prints "paused at PAUSE"
// after that many, waits for a line on stdin, and then reports "held" the
// first time the ring is full (the bridge is not taking messages out);
// at the end it prints "sent N".
func produceRole() int {
	a := proctest.Args()
	n, _ := strconv.ParseUint(a[1], 10, 64)
	size, _ := strconv.Atoi(a[2])
	pause := n
	if len(a) > 3 {
		pause, _ = strconv.ParseUint(a[3], 10, 64)
	}
	r, err := ring.Open(a[0])
	if err != nil {
		return fail("produce: %v", err)
	}
	defer r.Close()
	p, err := r.Producer()
	if err != nil {
		return fail("produce: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), roleTimeout)
	defer cancel()
	msg := make([]byte, size)
	watchFull := false
	for seq := uint64(0); seq < n; seq++ {
		if seq == pause && pause < n {
			fmt.Printf("paused at %d\n", seq)
			if !bufio.NewScanner(os.Stdin).Scan() {
				return fail("produce: stdin closed while paused")
			}
			watchFull = true
		}
		msgcheck.Stamp(msg, seq)
		if watchFull {
			err := p.TrySend(msg)
			if err == nil {
				continue
			}
			if !errors.Is(err, ring.ErrFull) {
				return fail("produce: message %d: %v", seq, err)
			}
			fmt.Println("held")
			watchFull = false
		}
		if err := p.Send(ctx, msg); err != nil {
			return fail("produce: message %d: %v", seq, err)
		}
	}
	fmt.Printf("sent %d\n", n)
	if err := p.Close(); err != nil {
		return fail("produce: close: %v", err)
	}
	return 0
}

// consumeRole: RING N MODE. Reads RING until message N-1 and prints
// "done received=R gaps=G" (and " first=F", the first message's number,
// in MODE gaps). MODE exact fails on any message out of turn;
// MODE gaps accepts numbers that skip (a lossy source) but not ones that
// repeat or go back. Every 100000 messages it prints "at K". The end of
// the stream (a bridge stopping) is waited out: another may take over.
func consumeRole() int {
	a := proctest.Args()
	n, _ := strconv.ParseUint(a[1], 10, 64)
	exact := a[2] == "exact"
	r, err := ring.Open(a[0])
	if err != nil {
		return fail("consume: %v", err)
	}
	defer r.Close()
	c, err := r.Consumer()
	if err != nil {
		return fail("consume: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), roleTimeout)
	defer cancel()
	buf := make([]byte, r.SlotSize())
	var received, gaps, next, first uint64
	for next < n {
		k, err := c.Recv(ctx, buf)
		if errors.Is(err, ring.ErrClosed) {
			time.Sleep(time.Millisecond)
			continue
		}
		if err != nil {
			return fail("consume: after %d messages: %v", received, err)
		}
		seq, err := msgcheck.Check(buf[:k])
		if err != nil {
			return fail("consume: after %d messages: %v", received, err)
		}
		if seq < next || exact && seq != next {
			return fail("consume: got message %d, want %d (lost, repeated or reordered)", seq, next)
		}
		if received == 0 {
			first = seq
		}
		gaps += seq - next
		next = seq + 1
		received++
		if received%100000 == 0 {
			fmt.Printf("at %d\n", received)
		}
	}
	if exact {
		fmt.Printf("done received=%d gaps=%d\n", received, gaps)
	} else {
		fmt.Printf("done received=%d gaps=%d first=%d\n", received, gaps, first)
	}
	return 0
}

func fail(format string, args ...any) int {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	return 1
}

// counters parses the "stopped:" line a bridge prints on stderr into
// name → value.
func counters(t *testing.T, c *proctest.Child) map[string]uint64 {
	t.Helper()
	stderr := c.Stderr()
	i := strings.LastIndex(stderr, "stopped: ")
	if i < 0 {
		t.Fatalf("no final counters from the bridge; stderr:\n%s", stderr)
	}
	line := stderr[i+len("stopped: "):]
	line, _, _ = strings.Cut(line, "\n")
	m := map[string]uint64{}
	for _, kv := range strings.Fields(line) {
		k, v, _ := strings.Cut(kv, "=")
		m[k], _ = strconv.ParseUint(v, 10, 64)
	}
	return m
}
