//go:build linux

// Command video is a camera pipeline: a producer writes synthetic raw
// frames into a broadcast record ring that lives in a memfd, and hands the
// ring to two child processes over unix sockets.
//
//	go run ./examples/video                      # 1080p, 30 fps, 3 seconds
//	go run ./examples/video -res=4k -fps=30 -duration=10s
//	go run ./examples/video -res=320x180 -fps=120 -hugepages
//
// The producer (this process) creates the ring with Options.Memfd: no name
// in /dev/shm, so a container's 64 MiB /dev/shm does not limit it, and the
// file is sealed so no reader can truncate it. It starts itself again once
// per reader (internal/launch: each child dies with the producer) and
// sends each the ring's descriptor with ring.SendRing over a socketpair;
// the child maps it with ring.RecvRing:
//
//   - encoder: a lossless reader. It sees every frame, in order, and checks
//     each in place (ring.Reader.Receive: no copy) as an encoder would read
//     it. The producer waits for it when the ring is full.
//   - preview: a lossy reader that always shows the latest frame. It skips
//     to the newest: a frame it receives while a newer one is already in
//     the ring (Lag() > 1: the lag counts the held one) is released unread
//     and counted as skipped; when
//     the producer laps it, it is told how many frames it missed. It
//     checks every frame it shows, in place; one overwritten while it read
//     it (Release says so) is a drop, not a failure.
//
// Every frame is BGRA pixels behind a header with its number and a CRC-32C
// of the whole frame, header and every pixel (frame.go). Each reader prints
// its fps, the latency from the producer's timestamp (taken when a frame is
// complete, before its checksum and Commit) to its Receive, p50 and p99
// (HdrHistogram), its drops and its integrity failures, and exits non-zero
// on any failure. Ctrl-C (SIGINT) ends the run early as -duration would:
// every reader still reports, and the exit status is 0 unless something
// failed (a demo cut short is not a failure).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"time"

	"github.com/shmring/shmring/internal/launch"
	"github.com/shmring/shmring/ring"
)

func main() {
	if role, ok := launch.Role(); ok {
		os.Exit(child(role, os.Stdout, os.Stderr))
	}
	if err := run(os.Args[1:], os.Stdout); errors.Is(err, flag.ErrHelp) {
		return // -h: the flag package printed the usage
	} else if err != nil {
		fmt.Fprintln(os.Stderr, "video:", err)
		os.Exit(1)
	}
}

// config is the producer's settings.
type config struct {
	res       resolution
	fps       float64
	duration  time.Duration
	frames    int // the ring holds this many frames
	hugePages bool
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("video", flag.ContinueOnError)
	var c config
	res := fs.String("res", "1080p", "frame size: 720p, 1080p, 4k or WxH (1 to 8192 each)")
	fs.Float64Var(&c.fps, "fps", 30, "frames per second the producer aims at (more than 0, at most 10000)")
	fs.DurationVar(&c.duration, "duration", 3*time.Second, "how long the producer runs")
	fs.IntVar(&c.frames, "frames", 4, "frames the ring holds at least, 2 to 64 (its capacity is a power of two)")
	fs.BoolVar(&c.hugePages, "hugepages", false, "back the ring with huge pages (needs vm.nr_hugepages)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: %s takes flags only (-h lists them)", fs.Arg(0), fs.Name())
	}
	var err error
	if c.res, err = parseResolution(*res); err != nil {
		return err
	}
	switch {
	case !(c.fps > 0 && c.fps <= 10000): // NaN too
		return fmt.Errorf("-fps %v: want more than 0 and at most 10000", c.fps)
	case c.duration <= 0:
		return fmt.Errorf("-duration %v: want more than 0", c.duration)
	case c.frames < 2 || c.frames > 64:
		return fmt.Errorf("-frames %d: want 2 to 64", c.frames)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return produce(ctx, c, out)
}

// readers are the child processes, in the order they start.
var readers = []readerConfig{
	{Name: "encoder", Lossless: true},
	{Name: "preview", Lossless: false},
}

// produce creates the ring, starts and joins the readers, produces frames
// at the target rate for the configured time, closes the stream and
// prints every reader's summary.
func produce(ctx context.Context, c config, out io.Writer) (err error) {
	size := c.res.frameSize()
	r, err := ring.Create("video-frames", ring.Options{
		Kind: ring.Broadcast, Records: true, Memfd: true, HugePages: c.hugePages,
		Capacity: ringCapacity(size, c.frames), MaxMessage: size, MaxReaders: len(readers) + 2,
	})
	if err != nil {
		return err
	}
	defer r.Close()
	crew, err := startReaders(ctx, r, c.res)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, crew.finish(err != nil)) }()

	p, err := r.Producer()
	if err != nil {
		return err
	}
	paint := newPainter(c.res)
	fmt.Fprintf(out, "video: %v BGRA frames of %s at %g fps for %v, through a broadcast record ring of %s in a memfd (huge pages: %v), %d readers\n",
		c.res, sizeText(size), c.fps, c.duration, sizeText(int(r.Header().FileSize)), c.hugePages, len(readers))
	fmt.Fprintf(out, "latency: from a frame's timestamp (its pixels written; its CRC-32C and Commit follow) to a reader's Receive\n")
	start := time.Now()
	// A claim waits for the encoder no longer than the run lasts: a
	// stalled encoder (stopped, or slower than the rate) holds the
	// producer back, and the run still ends on time.
	claimCtx, cancel := context.WithDeadline(ctx, start.Add(c.duration))
	defer cancel()
	var n uint64
	var late int
	var first, last time.Time // the first and the last frame's commits
	stalled := false
	clock := pacer{start: start, fps: c.fps}
	for ; ; n++ {
		due := clock.due()
		// The schedule or the clock, whichever ends first: a producer
		// that cannot keep the rate (4K on two busy cores) stops on
		// time, with fewer frames, rather than late with all of them.
		if due.Sub(start) >= c.duration || time.Since(start) >= c.duration || ctx.Err() != nil {
			break
		}
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		} else if clock.missed(time.Now()) {
			late++
		}
		clock.next()
		b, err := p.ClaimN(claimCtx, size)
		if err != nil && claimCtx.Err() != nil {
			// Ctrl-C, or the run's end, while waiting for the encoder:
			// stop as between frames.
			stalled = ctx.Err() == nil
			break
		} else if err != nil {
			return fmt.Errorf("frame %d: claim: %w", n, err)
		}
		paint.paint(b, n, func() int64 { return time.Now().UnixNano() })
		if err := p.Commit(size); err != nil {
			return fmt.Errorf("frame %d: commit: %w", n, err)
		}
		if last = time.Now(); n == 0 {
			first = last
		}
	}
	elapsed := time.Since(start)
	st := p.Stats()
	if err := p.Close(); err != nil {
		return err
	}
	fmt.Fprintf(out, "producer: %d frames in %v (%.1f fps), %d more than a frame late (%d frame periods skipped), waited for the encoder %d times\n",
		n, elapsed.Round(time.Millisecond), frameRate(n, last.Sub(first)), late, clock.skipped, st.Full)
	if stalled {
		fmt.Fprintf(out, "producer: stopped at the end of -duration while the encoder held the ring full: %.0f frames were due, %d made\n",
			c.duration.Seconds()*c.fps, n)
	}
	results, err := crew.results()
	for _, res := range results {
		fmt.Fprintln(out, res.line())
	}
	if err != nil {
		return err
	}
	for _, res := range results {
		if res.Failures > 0 {
			return fmt.Errorf("%s: %d frames failed their check", res.Name, res.Failures)
		}
	}
	return nil
}

// A pacer is the producer's frame clock, as a camera's: frame k of the
// schedule is due at start + k/fps seconds, computed from k (a period
// rounded to the nanosecond and added up ran fast: 1/30 s is 33,333,333
// ns, so 90 of them ended before 3 s and a 3 s run made 91 frames). A
// frame more than a period late takes the present period's place, and the
// ones missed meanwhile are never made: catching up with a burst of frames
// would show a rate above the one asked for and bunch the readers'
// latencies.
type pacer struct {
	start   time.Time
	fps     float64
	tick    uint64 // the schedule's place of the next frame
	skipped uint64 // periods given no frame, as missed moved on
}

// at is when frame k of the schedule is due, from start.
func (c *pacer) at(k uint64) time.Duration {
	return time.Duration(math.Round(float64(k) * float64(time.Second) / c.fps))
}

// due is when the next frame is due.
func (c *pacer) due() time.Time { return c.start.Add(c.at(c.tick)) }

// missed reports whether the next frame, made at now, is more than a
// period late, and if so gives it the present period's place.
func (c *pacer) missed(now time.Time) bool {
	if now.Sub(c.due()) <= c.at(c.tick+1)-c.at(c.tick) {
		return false
	}
	at := uint64(now.Sub(c.start).Seconds() * c.fps)
	for c.at(at) > now.Sub(c.start) { // the float product may round up past now
		at--
	}
	c.skipped += at - c.tick
	c.tick = at
	return true
}

// next moves the clock on by one frame.
func (c *pacer) next() { c.tick++ }

// frameRate is frames per second over n frames whose first and last came
// span apart: n-1 frame periods, for the producer and the readers alike
// (0 with fewer than two frames: no period to count).
func frameRate(n uint64, span time.Duration) float64 {
	if n < 2 || span <= 0 {
		return 0
	}
	return float64(n-1) / span.Seconds()
}

// ringCapacity is a record ring's capacity for frames frames of size
// bytes: each takes its length rounded up to 16 bytes plus a 16-byte
// header, and a frame that wraps leaves the end of the ring unused, so a
// page more per frame, then a power of two (what Options.Capacity must
// be).
func ringCapacity(size, frames int) int {
	need := frames * (size + 4096)
	c := 1 << 12
	for c < need {
		c <<= 1
	}
	return c
}

// sizeText prints n bytes in MB, or in bytes where that would read 0.0 MB
// (a 1x1 frame is 36 bytes with its header).
func sizeText(n int) string {
	if n < 50_000 {
		return fmt.Sprintf("%d bytes", n)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}
