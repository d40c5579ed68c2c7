//go:build linux

package ring

// Cross-process MPMC benchmarks: producer processes and consumer processes
// on one ring (throughput), and a round trip through two rings with an
// echoing process (ping-pong), each beside SPSC in the same run so the
// figures read as ratios on a noisy machine.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shmring/shmring/internal/proctest"
)

func init() {
	proctest.Register("mpmc-bench-source", mpmcBenchSource)
	proctest.Register("mpmc-bench-sink", mpmcBenchSink)
}

// mpmcBenchSource: args name stream n. Takes a producer, says "ready",
// waits for "go", sends n 64-byte messages (stream, seq) with Send,
// closes and says "done".
func mpmcBenchSource() int {
	a := proctest.Args()
	stream, _ := strconv.ParseUint(a[1], 10, 64)
	n, _ := strconv.ParseUint(a[2], 10, 64)
	r, err := Open(a[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer r.Close()
	p, err := r.Producer()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("ready")
	if line := readStdinLine(); line != "go" {
		fmt.Fprintf(os.Stderr, "want \"go\", got %q\n", line)
		return 1
	}
	ctx := context.Background()
	msg := make([]byte, 64)
	binary.LittleEndian.PutUint64(msg, stream)
	for seq := uint64(0); seq < n; seq++ {
		binary.LittleEndian.PutUint64(msg[8:], seq)
		if err := p.Send(ctx, msg); err != nil {
			fmt.Fprintf(os.Stderr, "Send %d: %v\n", seq, err)
			return 1
		}
	}
	if err := p.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("done")
	return 0
}

// mpmcBenchSink: args name streams. Takes a consumer, says "ready", then
// receives with Recv until the stream closes, checking that each
// producer's messages come in order, and says "done <messages> <sleeps>".
func mpmcBenchSink() int {
	a := proctest.Args()
	streams, _ := strconv.Atoi(a[1])
	r, err := Open(a[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer r.Close()
	c, err := r.Consumer()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("ready")
	ctx := context.Background()
	buf := make([]byte, 64)
	next := make([]uint64, streams) // the least seq each stream may send next
	got := 0
	for {
		n, err := c.Recv(ctx, buf)
		if errors.Is(err, ErrClosed) {
			break
		}
		if err != nil || n != 64 {
			fmt.Fprintf(os.Stderr, "Recv after %d: n=%d err=%v\n", got, n, err)
			return 1
		}
		s, seq := binary.LittleEndian.Uint64(buf), binary.LittleEndian.Uint64(buf[8:])
		if s >= uint64(streams) || seq < next[s] {
			fmt.Fprintf(os.Stderr, "stream %d seq %d out of order (next %v)\n", s, seq, next)
			return 1
		}
		next[s] = seq + 1
		got++
	}
	fmt.Printf("done %d %d\n", got, c.Stats().Sleeps)
	return 0
}

// BenchmarkMPMCThroughputCrossProcess moves b.N 64-byte messages from np
// producer processes to nc consumer processes through a 1024-slot ring,
// Send and Recv one message per call, beside SPSC (1P1C) in the same run.
// ns/msg is wall time from "go" to the last consumer's end of stream over
// all messages; the time to start the processes is outside it. Each
// consumer checks every producer's messages arrive in order, and the
// consumers' counts must add up to b.N.
func BenchmarkMPMCThroughputCrossProcess(b *testing.B) {
	for _, shape := range []struct {
		name   string
		np, nc int
		kinds  []Kind
	}{
		{"1P1C", 1, 1, []Kind{MPMC, MPSC, SPSC}},
		{"2P2C", 2, 2, []Kind{MPMC}},
		{"4P1C", 4, 1, []Kind{MPMC, MPSC}},
	} {
		for _, k := range shape.kinds {
			b.Run(fmt.Sprintf("%s/kind=%v", shape.name, k), func(b *testing.B) {
				benchMPMCCrossProcess(b, k, shape.np, shape.nc)
			})
		}
	}
}

func benchMPMCCrossProcess(b *testing.B, k Kind, np, nc int) {
	o := Options{Kind: k, SlotSize: 64, Slots: 1 << 10, MaxProducers: np, MaxConsumers: nc}
	if k == SPSC {
		o.MaxProducers, o.MaxConsumers = 0, 0
	} else if k == MPSC {
		o.MaxConsumers = 0
	}
	r := newTestRing(b, o)
	n := b.N
	var sources, sinks []*proctest.Child
	for i := range np {
		share := n / np
		if i < n%np {
			share++
		}
		s := proctest.Start(b, "mpmc-bench-source", r.Name(), strconv.Itoa(i), strconv.Itoa(share))
		s.Expect("ready")
		sources = append(sources, s)
	}
	for range nc {
		c := proctest.Start(b, "mpmc-bench-sink", r.Name(), strconv.Itoa(np))
		c.Expect("ready")
		sinks = append(sinks, c)
	}
	b.SetBytes(64)
	b.ResetTimer()
	start := time.Now()
	for _, s := range sources {
		if err := s.WriteLine("go"); err != nil {
			b.Fatal(err)
		}
	}
	got, sleeps := 0, 0
	for _, c := range sinks {
		line, err := c.ReadLine()
		if err != nil || !strings.HasPrefix(line, "done ") {
			b.Fatalf("consumer: %q %v: %v", line, err, c.Wait())
		}
		var m, s int
		fmt.Sscanf(line, "done %d %d", &m, &s)
		got += m
		sleeps += s
	}
	elapsed := time.Since(start)
	b.StopTimer()
	for _, c := range append(sources, sinks...) {
		if err := c.Wait(); err != nil {
			b.Fatal(err)
		}
	}
	if got != n {
		b.Fatalf("consumers received %d messages, want %d", got, n)
	}
	reportRate(b, n, elapsed)
	b.ReportMetric(float64(sleeps)/float64(n), "sleeps/op")
}

// BenchmarkMPMCPingPongCrossProcess bounces a 64-byte message off an
// echoing process over two rings of one kind (the round trip), spinning
// and sleeping, MPMC and MPSC beside SPSC in the same run. The rings have
// 1024 slots, as in BenchmarkPingPongCrossProcess.
func BenchmarkMPMCPingPongCrossProcess(b *testing.B) {
	for _, k := range []Kind{MPMC, MPSC, SPSC} {
		for _, wait := range []string{"spin", "sleep"} {
			b.Run(fmt.Sprintf("kind=%v/wait=%s", k, wait), func(b *testing.B) {
				o := Options{Kind: k, SlotSize: 64, Slots: 1 << 10}
				if k == MPMC {
					o.MaxProducers, o.MaxConsumers = 2, 2
				}
				ping, pong := newTestRing(b, o), newTestRing(b, o)
				benchPingPong(b, ping, pong, wait, 64)
			})
		}
	}
}
