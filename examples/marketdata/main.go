// Command marketdata is a feed handler fanning synthetic quotes out to
// subscriber processes through one shmring Broadcast ring.
//
//	go run ./examples/marketdata                 # 3 seconds, three subscribers
//	go run ./examples/marketdata -duration=10s
//
// The feed handler (this process) creates the ring and starts itself again
// once per subscriber (internal/launch: each child dies with the feed):
//
//   - risk: lossless. It sees every quote, and the feed never runs more than
//     a ring ahead of it.
//   - screen: lossy, keeps up.
//   - slow-screen: lossy and deliberately slow (it sleeps a little every
//     few hundred quotes). The feed never waits for it: it is lapped, told
//     how many quotes it missed each time, and carries on with fresh ones.
//
// Every subscriber prints its rate, lag (quotes published and not yet
// read) and laps twice a second, and a summary at the end; each checks that
// the quotes it got are in order and that its gaps are exactly the missed
// counts it was told; every quote carries the project's test-message header
// (internal/codec: sequence number, send time, CRC-32C), so a torn or
// corrupted one fails its checksum. The ring file is removed at the end.
package main

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/shmring/shmring/internal/codec"
	"github.com/shmring/shmring/internal/launch"
	"github.com/shmring/shmring/ring"
)

func main() {
	if role, ok := launch.Role(); ok {
		os.Exit(child(role))
	}
	if err := run(os.Args[1:], os.Stdout); errors.Is(err, flag.ErrHelp) {
		return // -h: the flag package printed the usage
	} else if err != nil {
		fmt.Fprintln(os.Stderr, "marketdata:", err)
		os.Exit(1)
	}
}

// subscriber is what a subscriber process is told (launch.Config).
type subscriber struct {
	Ring   string `json:"ring"`
	Name   string `json:"name"`
	Policy string `json:"policy"` // lossy or lossless
	Slow   bool   `json:"slow"`   // read slowly on purpose
}

// child runs this process as a subscriber and returns its exit status.
func child(role string) int {
	// A terminal's Ctrl-C signals the whole process group: the feed stops
	// early and closes the stream, and a subscriber ends with it, after its
	// report. Dying of the signal would lose the report.
	signal.Ignore(os.Interrupt)
	var s subscriber
	err := launch.Config(&s)
	if err == nil && role != "sub" {
		err = fmt.Errorf("unknown role %q", role)
	}
	if err == nil {
		err = subscribe(s, os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "marketdata subscriber:", err)
		return 1
	}
	return 0
}

type config struct {
	duration time.Duration
	slots    int
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("marketdata", flag.ContinueOnError)
	var c config
	fs.DurationVar(&c.duration, "duration", 3*time.Second, "how long the feed publishes")
	fs.IntVar(&c.slots, "slots", 1<<14, "ring slots")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: %s takes flags only (-h lists them)", fs.Arg(0), fs.Name())
	}
	if c.duration <= 0 {
		return fmt.Errorf("-duration %v: want more than 0", c.duration)
	}
	return feed(c, out)
}

// A quote, as it travels in a slot (56 bytes, little-endian): the
// internal/codec header (sequence number, producer 0, CRC-32C, the feed's
// wall clock in Unix nanoseconds), then
//
//	[24:32) symbol, ASCII, space padded
//	[32:40) bid, in 1e-4 units
//	[40:48) ask, in 1e-4 units
//	[48:52) bid size
//	[52:56) ask size
const quoteSize = codec.HeaderSize + 32

var symbols = []string{"ACME    ", "INIT    ", "GLOBEX  ", "UMBRELLA", "HOOLI   ", "STARK   ", "WAYNE   ", "TYRELL  "}

func encodeQuote(b []byte, seq uint64, rng *rand.Rand, px []int64) {
	le := binary.LittleEndian
	i := rng.IntN(len(symbols))
	px[i] += int64(rng.IntN(21)) - 10
	codec.PutHeader(b, codec.Header{Seq: seq, SentNs: time.Now().UnixNano()})
	q := b[codec.HeaderSize:]
	copy(q[0:8], symbols[i])
	le.PutUint64(q[8:], uint64(px[i]))
	le.PutUint64(q[16:], uint64(px[i]+100))
	le.PutUint32(q[24:], uint32(100*(1+rng.IntN(50))))
	le.PutUint32(q[28:], uint32(100*(1+rng.IntN(50))))
	codec.Seal(b)
}

var subscribers = []struct {
	name, policy string
	slow         bool
}{
	{"risk", "lossless", false},
	{"screen", "lossy", false},
	{"slow-screen", "lossy", true},
}

// feed creates the ring, starts the subscribers, publishes for the
// configured time, closes the stream and waits for their summaries.
func feed(c config, out io.Writer) (err error) {
	name := fmt.Sprintf("marketdata-%d", os.Getpid())
	r, err := ring.Create(name, ring.Options{Kind: ring.Broadcast, SlotSize: quoteSize, Slots: c.slots, MaxReaders: 8})
	if err != nil {
		return err
	}
	defer ring.Remove(name)
	defer r.Close()
	// An interrupt, or a kill's SIGTERM, still removes the ring: cancel,
	// then the deferred calls run.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var mu sync.Mutex // out is shared by the subscribers' copiers
	var wg sync.WaitGroup
	var procs []*launch.Proc
	defer func() {
		if err != nil {
			for _, p := range procs {
				p.Kill()
			}
		}
		wg.Wait() // every line, each subscriber's summary included
		for _, p := range procs {
			if werr := p.Wait(); werr != nil && err == nil {
				err = werr
			}
		}
	}()
	ready := make(chan string, len(subscribers))
	for _, s := range subscribers {
		cmd, err := launch.Self("sub", subscriber{Ring: name, Name: s.name, Policy: s.policy, Slow: s.slow})
		if err != nil {
			return err
		}
		p, err := launch.Start("subscriber "+s.name, cmd)
		if err != nil {
			return err
		}
		procs = append(procs, p)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				line, err := p.ReadLine()
				if err != nil {
					return // the subscriber exited; Wait says how
				}
				if line == "ready" {
					ready <- s.name
					continue
				}
				mu.Lock()
				fmt.Fprintln(out, line)
				mu.Unlock()
			}
		}()
	}
	for range subscribers {
		select {
		case <-ready:
		case <-time.After(10 * time.Second):
			return errors.New("a subscriber did not join within 10s")
		}
	}

	p, err := r.Producer()
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	px := make([]int64, len(symbols))
	for i := range px {
		px[i] = int64(1_000_000 + 250_000*i)
	}
	mu.Lock()
	fmt.Fprintf(out, "feed: publishing to %d subscribers for %v through %s (%d slots)\n", len(subscribers), c.duration, r.Path(), c.slots)
	mu.Unlock()
	start := time.Now()
	var seq uint64
	for time.Since(start) < c.duration && ctx.Err() == nil {
		b, err := p.ClaimBatch(ctx, 64) // a burst, published with one cursor store
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return err
		}
		for i := range b.Len() {
			encodeQuote(b.Slot(i), seq+uint64(i), rng, px)
			b.SetLen(i, quoteSize)
		}
		if err := p.CommitBatch(b.Len()); err != nil { // no context: any error is the ring's
			return err
		}
		seq += uint64(b.Len())
	}
	elapsed := time.Since(start)
	st := p.Stats()
	if err := p.Close(); err != nil {
		return err
	}
	mu.Lock()
	fmt.Fprintf(out, "feed: published %d quotes in %v (%.2f M/s); waited for the lossless reader %d times\n",
		seq, elapsed.Round(time.Millisecond), float64(seq)/elapsed.Seconds()/1e6, st.Full)
	mu.Unlock()
	return nil
}

// subscribe reads quotes until the feed closes the stream.
func subscribe(c subscriber, out io.Writer) error {
	r, err := ring.Open(c.Ring)
	if err != nil {
		return err
	}
	defer r.Close()
	o := ring.ReaderOptions{Policy: ring.Lossy, Start: ring.Latest}
	if c.Policy == "lossless" {
		o.Policy = ring.Lossless
	}
	rd, err := r.Reader(o)
	if err != nil {
		return err
	}
	defer rd.Close()
	fmt.Fprintln(out, "ready")

	ctx := context.Background()
	buf := make([]byte, quoteSize)
	var got, missed, laps, last uint64
	first := true
	start := time.Now()
	tick, lastGot := start, uint64(0)
	var latency time.Duration
	for {
		n, err := rd.Recv(ctx, buf)
		var lap *ring.LapError
		switch {
		case errors.As(err, &lap):
			laps++
			missed += lap.Missed
			last += lap.Missed // the quotes in the gap are gone
			continue
		case errors.Is(err, ring.ErrClosed):
			el := time.Since(start)
			fmt.Fprintf(out, "%-11s %-8s done: %d quotes (%.2f M/s), %d laps, %d missed, mean age %v\n",
				c.Name, c.Policy, got, float64(got)/el.Seconds()/1e6, laps, missed, meanAge(latency, got))
			return nil
		case err != nil:
			return err
		}
		if n != quoteSize {
			return fmt.Errorf("%s: a %d-byte quote", c.Name, n)
		}
		h, err := codec.Check(buf)
		if err != nil {
			return fmt.Errorf("%s: %w", c.Name, err)
		}
		seq := h.Seq
		if !first && seq != last {
			return fmt.Errorf("%s: quote %d after a run ending at %d (reported gaps: %d)", c.Name, seq, last, missed)
		}
		first = false
		last = seq + 1
		got++
		if got&1023 == 0 {
			latency += time.Duration(time.Now().UnixNano() - h.SentNs)
		}
		if c.Slow && got%256 == 0 {
			time.Sleep(200 * time.Microsecond) // a subscriber doing real work on each quote
		}
		if got&4095 == 0 {
			if now := time.Now(); now.Sub(tick) >= 500*time.Millisecond {
				fmt.Fprintf(out, "%-11s %-8s %6.2f M quotes/s  lag %6d  laps %4d  missed %9d\n",
					c.Name, c.Policy, float64(got-lastGot)/now.Sub(tick).Seconds()/1e6, rd.Lag(), laps, missed)
				tick, lastGot = now, got
			}
		}
	}
}

func meanAge(sum time.Duration, got uint64) time.Duration {
	if samples := got / 1024; samples > 0 {
		return (sum / time.Duration(samples)).Round(100 * time.Nanosecond)
	}
	return 0
}
