package ring

// The broadcast futex handshake, proven the way pingpong_test.go proves
// SPSC's: two processes ping-pong over two one-slot broadcast rings, every
// reader and producer sleeping with a tick of an hour, so only the other
// side's wake-up ends a sleep. Readers sleep on the producer's wake word
// (empty ring); producers sleep on the gate (a one-slot ring is full until
// the lossless reader moves on). A lost wake-up hangs until the guard's
// deadline fails the test.

import (
	"errors"
	"fmt"
	"strconv"
	"testing"

	"github.com/shmring/shmring/internal/proctest"
)

func init() { proctest.Register("bcast-pingpong", childBroadcastPingPong) }

var bcastPingOptions = Options{Kind: Broadcast, SlotSize: pingSize, Slots: 1, MaxReaders: 2}

// childBroadcastPingPong reads each ping on one ring and publishes its
// complement on the other.
func childBroadcastPingPong() int {
	a := childArgs(4)
	pingName, pongName, rounds, jitter := a[0], a[1], mustUint(a[2]), a[3] == "jitter"
	pingRing, err := Open(pingName)
	if err != nil {
		return childFail("Open(ping): %v", err)
	}
	defer pingRing.Close()
	pongRing, err := Open(pongName)
	if err != nil {
		return childFail("Open(pong): %v", err)
	}
	defer pongRing.Close()
	rd, err := pingRing.Reader(ReaderOptions{Policy: Lossless, Start: Oldest})
	if err != nil {
		return childFail("Reader: %v", err)
	}
	p, err := pongRing.Producer()
	if err != nil {
		return childFail("Producer: %v", err)
	}
	j := newWaitJitter(jitter, 12)
	fmt.Println("ready")
	ctx, cancel := guardedContext()
	defer cancel()
	buf, out := make([]byte, pingSize), make([]byte, pingSize)
	for i := range rounds {
		j.set(rd)
		n, err := rd.Recv(ctx, buf)
		if err != nil {
			return childFail("round %d: Recv: %v", i, err)
		}
		v, err := getPing(buf[:n])
		if err != nil || v != i {
			return childFail("round %d: ping %d, %v; want %d", i, v, err, i)
		}
		j.set(p)
		if err := p.Send(ctx, putPing(out, ^v)); err != nil {
			return childFail("round %d: Send: %v", i, err)
		}
	}
	j.set(rd)
	if _, err := rd.Recv(ctx, buf); !errors.Is(err, ErrClosed) {
		return childFail("Recv after the last round = %v, want ErrClosed", err)
	}
	fmt.Println(formatStats(rd.Stats()))
	fmt.Println(formatStats(p.Stats()))
	if err := p.Close(); err != nil {
		return childFail("Close: %v", err)
	}
	return 0
}

func TestBroadcastPingPongLosesNoWakeUp(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	rounds := uint64(50_000)
	if longRun() {
		rounds *= 10
	}
	if raceEnabled {
		rounds /= 10
	}
	for _, v := range sleepVariants {
		t.Run(v.name, func(t *testing.T) {
			pingRing, pongRing := newTestRing(t, bcastPingOptions), newTestRing(t, bcastPingOptions)
			p, err := pingRing.Producer()
			if err != nil {
				t.Fatal(err)
			}
			rd, err := pongRing.Reader(ReaderOptions{Policy: Lossless, Start: Oldest})
			if err != nil {
				t.Fatal(err)
			}
			j := newWaitJitter(v.jitter, 11)
			mode := "sleep"
			if v.jitter {
				mode = "jitter"
			}
			child := proctest.Start(t, "bcast-pingpong", pingRing.Name(), pongRing.Name(), strconv.FormatUint(rounds, 10), mode)
			child.Expect("ready") // its reader has joined: the first ping gates on it
			ctx, cancel := guardedContext()
			defer cancel()
			buf, out := make([]byte, pingSize), make([]byte, pingSize)
			for i := range rounds {
				j.set(p)
				if err := p.Send(ctx, putPing(out, i)); err != nil {
					t.Fatalf("round %d: Send: %v", i, err)
				}
				j.set(rd)
				n, err := rd.Recv(ctx, buf)
				if err != nil {
					t.Fatalf("round %d: Recv: %v", i, err)
				}
				got, err := getPing(buf[:n])
				if err != nil || got != ^i {
					t.Fatalf("round %d: pong %#x, %v; want %#x", i, got, err, ^i)
				}
			}
			if err := p.Close(); err != nil { // wakes the child, asleep in Recv
				t.Fatal(err)
			}
			childReader, childProducer := readStats(t, child), readStats(t, child)
			j.set(rd)
			if _, err := rd.Recv(ctx, buf); !errors.Is(err, ErrClosed) {
				t.Fatalf("Recv after the child closed = %v, want ErrClosed", err)
			}
			if err := child.Wait(); err != nil {
				t.Fatal(err)
			}
			if childProducer.Messages != rounds {
				t.Errorf("child sent %d, want %d", childProducer.Messages, rounds)
			}
			if !v.jitter {
				if rd.Stats().Sleeps == 0 || childReader.Sleeps == 0 {
					t.Errorf("reader sleeps: parent %d, child %d; want both > 0 (the test must exercise sleeping)", rd.Stats().Sleeps, childReader.Sleeps)
				}
			}
			t.Logf("%d round trips; parent reader %+v producer %+v; child reader %+v producer %+v",
				rounds, rd.Stats(), p.Stats(), childReader, childProducer)
		})
	}
}

// The producer's side of the handshake: a stream through one slot, the
// producer asleep on the gate whenever the lossless reader has not moved on,
// the reader asleep whenever nothing is published. The child is SPSC's
// streaming producer (pingpong_test.go): Producer and Send are the same
// calls on every kind.
func TestBroadcastGatedStreamLosesNoWakeUp(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	n := uint64(50_000)
	if raceEnabled {
		n /= 10
	}
	for _, v := range sleepVariants {
		t.Run(v.name, func(t *testing.T) {
			r := newTestRing(t, bcastPingOptions)
			rd, err := r.Reader(ReaderOptions{Policy: Lossless, Start: Oldest})
			if err != nil {
				t.Fatal(err)
			}
			mode := "sleep"
			if v.jitter {
				mode = "jitter"
			}
			child := proctest.Start(t, "stream-sleeping", r.Name(), strconv.FormatUint(n, 10), mode)
			j := newWaitJitter(v.jitter, 13)
			ctx, cancel := guardedContext()
			defer cancel()
			buf := make([]byte, pingSize)
			for i := range n {
				j.set(rd)
				k, err := rd.Recv(ctx, buf)
				if err != nil {
					t.Fatalf("message %d: Recv: %v", i, err)
				}
				if got, err := getPing(buf[:k]); err != nil || got != i {
					t.Fatalf("message %d: got %d, %v", i, got, err)
				}
			}
			producer := readStats(t, child)
			if _, err := rd.Recv(ctx, buf); !errors.Is(err, ErrClosed) {
				t.Fatalf("Recv after the last message = %v, want ErrClosed", err)
			}
			if err := child.Wait(); err != nil {
				t.Fatal(err)
			}
			if !v.jitter && (producer.Sleeps == 0 || rd.Stats().Sleeps == 0) {
				t.Errorf("sleeps: producer %d, reader %d; want both > 0 (the test must exercise sleeping)", producer.Sleeps, rd.Stats().Sleeps)
			}
			t.Logf("%d messages; producer %+v; reader %+v", n, producer, rd.Stats())
		})
	}
}
