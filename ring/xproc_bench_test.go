package ring

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

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/shmring/shmring/internal/proctest"
)

// Cross-process benchmarks: the parent is the producer (or the pinging
// side), a re-executed child the consumer (or the echoing side). Every
// message carries its sequence number and the child checks it, so a
// benchmark that loses or reorders data fails instead of reporting.

func init() {
	proctest.Register("bench-sink", benchSink)
	proctest.Register("bench-echo", benchEcho)
}

// waitByName maps the strategy names the parent passes to a child.
var waitByName = map[string]WaitStrategy{"default": DefaultWait, "spin": WaitSpin, "sleep": WaitSleep}

// benchSink consumes n messages one call each (batch 1: Recv; batch k:
// ReceiveBatch of up to k), checks each sequence number, and prints
// "done <sleeps> <wakes>".
func benchSink() int {
	args := proctest.Args() // name n batch wait
	n, _ := strconv.Atoi(args[1])
	batch, _ := strconv.Atoi(args[2])
	r, err := openBench(args[0])
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
	c.SetWait(waitByName[args[3]])
	fmt.Println("ready")
	ctx := context.Background()
	buf := make([]byte, r.SlotSize())
	for seq := uint64(0); seq < uint64(n); {
		if batch == 1 {
			k, err := c.Recv(ctx, buf)
			if err != nil || k < 8 || binary.LittleEndian.Uint64(buf) != seq {
				fmt.Fprintf(os.Stderr, "message %d: n=%d err=%v\n", seq, k, err)
				return 1
			}
			seq++
			continue
		}
		ms, err := c.ReceiveBatch(ctx, batch)
		if err != nil {
			fmt.Fprintf(os.Stderr, "batch at %d: %v\n", seq, err)
			return 1
		}
		for i := range ms.Len() {
			m, err := ms.At(i)
			if err != nil || len(m) < 8 || binary.LittleEndian.Uint64(m) != seq {
				fmt.Fprintf(os.Stderr, "message %d: err=%v\n", seq, err)
				return 1
			}
			seq++
		}
		c.Release()
	}
	st := c.Stats()
	fmt.Printf("done %d %d\n", st.Sleeps, st.Wakes)
	return 0
}

// benchEcho sends back every message it receives until the stream closes,
// then prints "done <sleeps>": its two handles' futex sleeps.
func benchEcho() int {
	args := proctest.Args() // ping pong wait
	ping, err := openBench(args[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer ping.Close()
	pong, err := openBench(args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer pong.Close()
	c, err := ping.Consumer()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	p, err := pong.Producer()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	c.SetWait(waitByName[args[2]])
	p.SetWait(waitByName[args[2]])
	fmt.Println("ready")
	ctx := context.Background()
	for {
		m, err := c.Receive(ctx)
		if errors.Is(err, ErrClosed) {
			fmt.Printf("done %d\n", c.Stats().Sleeps+p.Stats().Sleeps)
			return 0
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		err = p.Send(ctx, m)
		c.Release()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
}

// BenchmarkThroughputCrossProcess streams b.N messages to a consumer process:
// one message per call on both sides at batch=1, SendBatch/ReceiveBatch of
// that many at batch>1. sleeps/op counts the consumer's futex sleeps: zero
// when the stream made no system call.
func BenchmarkThroughputCrossProcess(b *testing.B) {
	for _, size := range benchSizes {
		for _, batch := range []int{1, 16, 64} {
			if batch == 64 && size != 8 {
				continue // batch 64 is the C ring's -b 64 comparison, 8-byte values only
			}
			b.Run(fmt.Sprintf("size=%d/batch=%d", size, batch), func(b *testing.B) {
				benchCrossProcess(b, size, batch, "default")
			})
		}
	}
}

func benchCrossProcess(b *testing.B, size, batch int, wait string) {
	r := newBenchRing(b, size, 1<<12)
	p, err := r.Producer()
	if err != nil {
		b.Fatal(err)
	}
	n := b.N
	child := proctest.Start(b, "bench-sink", r.Name(), strconv.Itoa(n), strconv.Itoa(batch), wait)
	child.Expect("ready")
	ctx := context.Background()
	msgs := make([][]byte, batch)
	for i := range msgs {
		msgs[i] = make([]byte, size)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for seq := 0; seq < n; {
		if batch == 1 {
			binary.LittleEndian.PutUint64(msgs[0], uint64(seq))
			if err := p.Send(ctx, msgs[0]); err != nil {
				b.Fatal(err)
			}
			seq++
			continue
		}
		k := min(batch, n-seq)
		for i := range k {
			binary.LittleEndian.PutUint64(msgs[i], uint64(seq+i))
		}
		sent, err := p.SendBatch(ctx, msgs[:k])
		if err != nil {
			b.Fatal(err)
		}
		seq += sent // unsent ones are numbered again on the next turn
	}
	line, err := child.ReadLine()
	elapsed := time.Since(start)
	b.StopTimer()
	if err != nil || !strings.HasPrefix(line, "done ") {
		b.Fatalf("consumer: %q %v: %v", line, err, child.Wait())
	}
	var sleeps, wakes uint64
	fmt.Sscanf(line, "done %d %d", &sleeps, &wakes)
	if err := child.Wait(); err != nil {
		b.Fatal(err)
	}
	reportRate(b, n, elapsed)
	b.ReportMetric(float64(sleeps)/float64(n), "sleeps/op")
	b.ReportMetric(float64(p.Stats().Wakes)/float64(n), "wakes/op")
}

// BenchmarkPingPongCrossProcess bounces a message off an echoing process
// over two rings: the round trip spinning (both sides poll), sleeping (both
// sides sleep on the futex every turn) and with the default wait, at the
// sizes the engine's targets name. The rings of small messages have 1024
// slots so that a producer reloads the consumer's cursor once per lap, not
// once per message, as in any stream; a round trip then moves the two slot
// lines and little else.
func BenchmarkPingPongCrossProcess(b *testing.B) {
	for _, c := range []struct {
		wait string
		size int
	}{{"spin", 8}, {"spin", 64}, {"sleep", 64}, {"default", 64}, {"default", 64 << 10}} {
		b.Run(fmt.Sprintf("wait=%s/size=%d", c.wait, c.size), func(b *testing.B) {
			slots := max(16, min(1<<10, (4<<20)/c.size))
			ping, pong := newBenchRing(b, c.size, slots), newBenchRing(b, c.size, slots)
			benchPingPong(b, ping, pong, c.wait, c.size)
		})
	}
}

// benchPingPong times round trips of size-byte messages: out on ping,
// echoed by a child process on pong, each side waiting as wait names.
// sleeps/op counts both sides' futex sleeps per round trip.
func benchPingPong(b *testing.B, ping, pong *Ring, wait string, size int) {
	p, err := ping.Producer()
	if err != nil {
		b.Fatal(err)
	}
	c, err := pong.Consumer()
	if err != nil {
		b.Fatal(err)
	}
	p.SetWait(waitByName[wait])
	c.SetWait(waitByName[wait])
	child := proctest.Start(b, "bench-echo", ping.Name(), pong.Name(), wait)
	child.Expect("ready")
	hist := hdrhistogram.New(1, int64(10*time.Second), 3)
	ctx := context.Background()
	msg, buf := make([]byte, size), make([]byte, size)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		binary.LittleEndian.PutUint64(msg, uint64(i))
		t0 := time.Now()
		if err := p.Send(ctx, msg); err != nil {
			b.Fatal(err)
		}
		n, err := c.Recv(ctx, buf)
		hist.RecordValue(int64(time.Since(t0)))
		if err != nil || n != size || binary.LittleEndian.Uint64(buf) != uint64(i) {
			b.Fatalf("reply %d: n=%d err=%v", i, n, err)
		}
	}
	b.StopTimer()
	p.Close()
	var childSleeps uint64
	if line, err := child.ReadLine(); err != nil || !strings.HasPrefix(line, "done ") {
		b.Fatalf("echo: %q %v: %v", line, err, child.Wait())
	} else {
		fmt.Sscanf(line, "done %d", &childSleeps)
	}
	if err := child.Wait(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(hist.ValueAtQuantile(50)), "rtt-p50-ns")
	b.ReportMetric(float64(hist.ValueAtQuantile(99)), "rtt-p99-ns")
	b.ReportMetric(float64(hist.ValueAtQuantile(99.9)), "rtt-p99.9-ns")
	b.ReportMetric(float64(p.Stats().Sleeps+c.Stats().Sleeps+childSleeps)/float64(b.N), "sleeps/op")
}
