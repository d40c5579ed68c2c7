// Command marketdata is a feed handler fanning synthetic quotes out to
// subscriber processes through one shmring Broadcast ring.
//
//	go run ./examples/marketdata                 # 3 seconds, three subscribers
//	go run ./examples/marketdata -duration=10s
//
// The feed handler (this process) creates the ring and re-executes itself
// once per subscriber with -role=sub:
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
// counts it was told. The ring file is removed at the end.
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"time"

	"github.com/shmring/shmring/ring"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "marketdata:", err)
		os.Exit(1)
	}
}

type config struct {
	role     string
	ringName string
	name     string
	policy   string
	slow     bool
	duration time.Duration
	slots    int
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("marketdata", flag.ContinueOnError)
	var c config
	fs.StringVar(&c.role, "role", "feed", "feed (creates the ring, starts the subscribers) or sub")
	fs.StringVar(&c.ringName, "ring", "", "ring name (sub; the feed picks one)")
	fs.StringVar(&c.name, "name", "sub", "subscriber name (sub)")
	fs.StringVar(&c.policy, "policy", "lossy", "lossy or lossless (sub)")
	fs.BoolVar(&c.slow, "slow", false, "read slowly on purpose (sub)")
	fs.DurationVar(&c.duration, "duration", 3*time.Second, "how long the feed publishes")
	fs.IntVar(&c.slots, "slots", 1<<14, "ring slots (feed)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch c.role {
	case "feed":
		return feed(c, out)
	case "sub":
		return subscribe(c, out)
	}
	return fmt.Errorf("unknown role %q", c.role)
}

// A quote, as it travels in a slot (48 bytes, little-endian):
//
//	[0:8)   sequence number (the feed's own count, from 0)
//	[8:16)  symbol, ASCII, space padded
//	[16:24) bid, in 1e-4 units
//	[24:32) ask, in 1e-4 units
//	[32:36) bid size
//	[36:40) ask size
//	[40:48) feed's wall clock, Unix nanoseconds
const quoteSize = 48

var symbols = []string{"ACME    ", "INIT    ", "GLOBEX  ", "UMBRELLA", "HOOLI   ", "STARK   ", "WAYNE   ", "TYRELL  "}

func encodeQuote(b []byte, seq uint64, rng *rand.Rand, px []int64) {
	le := binary.LittleEndian
	i := rng.IntN(len(symbols))
	px[i] += int64(rng.IntN(21)) - 10
	le.PutUint64(b[0:], seq)
	copy(b[8:16], symbols[i])
	le.PutUint64(b[16:], uint64(px[i]))
	le.PutUint64(b[24:], uint64(px[i]+100))
	le.PutUint32(b[32:], uint32(100*(1+rng.IntN(50))))
	le.PutUint32(b[36:], uint32(100*(1+rng.IntN(50))))
	le.PutUint64(b[40:], uint64(time.Now().UnixNano()))
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
	// An interrupt still removes the ring: cancel, then the deferred calls run.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	exe, err := os.Executable()
	if err != nil {
		return err
	}
	var mu sync.Mutex // out is shared by the subscribers' copiers
	var wg sync.WaitGroup
	var cmds []*exec.Cmd
	defer func() {
		if err != nil {
			for _, cmd := range cmds {
				if cmd.Process != nil {
					cmd.Process.Kill()
				}
			}
		}
		// Every line first: Wait closes a command's stdout pipe, and a
		// copier still reading it would lose the subscriber's summary.
		wg.Wait()
		for _, cmd := range cmds {
			if werr := cmd.Wait(); werr != nil && err == nil {
				err = fmt.Errorf("subscriber %s: %w", cmd.Args[len(cmd.Args)-1], werr)
			}
		}
	}()
	ready := make(chan string, len(subscribers))
	for _, s := range subscribers {
		cmd := exec.Command(exe, "-role=sub", "-ring="+name, "-policy="+s.policy,
			fmt.Sprintf("-slow=%v", s.slow), "-name="+s.name)
		cmd.Stderr = os.Stderr
		cmd.SysProcAttr = sysProcAttr()
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return err
		}
		if err := cmd.Start(); err != nil {
			return err
		}
		cmds = append(cmds, cmd)
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				if sc.Text() == "ready" {
					ready <- s.name
					continue
				}
				mu.Lock()
				fmt.Fprintln(out, sc.Text())
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
		p.CommitBatch(b.Len())
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
func subscribe(c config, out io.Writer) error {
	r, err := ring.Open(c.ringName)
	if err != nil {
		return err
	}
	defer r.Close()
	o := ring.ReaderOptions{Policy: ring.Lossy, Start: ring.Latest}
	if c.policy == "lossless" {
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
				c.name, c.policy, got, float64(got)/el.Seconds()/1e6, laps, missed, meanAge(latency, got))
			return nil
		case err != nil:
			return err
		}
		if n != quoteSize {
			return fmt.Errorf("%s: a %d-byte quote", c.name, n)
		}
		seq := binary.LittleEndian.Uint64(buf)
		if !first && seq != last {
			return fmt.Errorf("%s: quote %d after a run ending at %d (reported gaps: %d)", c.name, seq, last, missed)
		}
		first = false
		last = seq + 1
		got++
		if got&1023 == 0 {
			latency += time.Duration(time.Now().UnixNano() - int64(binary.LittleEndian.Uint64(buf[40:])))
		}
		if c.slow && got%256 == 0 {
			time.Sleep(200 * time.Microsecond) // a subscriber doing real work on each quote
		}
		if got&4095 == 0 {
			if now := time.Now(); now.Sub(tick) >= 500*time.Millisecond {
				fmt.Fprintf(out, "%-11s %-8s %6.2f M quotes/s  lag %6d  laps %4d  missed %9d\n",
					c.name, c.policy, float64(got-lastGot)/now.Sub(tick).Seconds()/1e6, rd.Lag(), laps, missed)
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
