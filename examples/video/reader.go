//go:build linux

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/shmring/shmring/internal/launch"
	"github.com/shmring/shmring/internal/report"
	"github.com/shmring/shmring/ring"
)

// readerConfig is what a reader process is told (launch.Config).
type readerConfig struct {
	Name     string     `json:"name"`
	Lossless bool       `json:"lossless"`
	Res      resolution `json:"res"`
}

// readerResult is a reader's last line, after resultPrefix.
type readerResult struct {
	Name     string  `json:"name"`
	Lossless bool    `json:"lossless"`
	Frames   uint64  `json:"frames"`   // checked and counted
	Skipped  uint64  `json:"skipped"`  // released unread: a newer frame was in (preview)
	Laps     uint64  `json:"laps"`     // times the producer overran it (preview)
	Missed   uint64  `json:"missed"`   // frames lost to laps, torn ones included
	Failures uint64  `json:"failures"` // frames that failed their check
	FPS      float64 `json:"fps"`
	P50Ns    int64   `json:"p50_ns"`
	P99Ns    int64   `json:"p99_ns"`
}

const (
	readyLine    = "ready"
	resultPrefix = "result "
	readerRole   = "reader"
	// socketFD is the child's end of its socketpair (ExtraFiles[0]).
	socketFD = 3
)

func (r readerResult) line() string {
	kind := "encoder (lossless, every frame)"
	if !r.Lossless {
		kind = "preview (lossy, latest frame)"
	}
	p50, p99 := "n/a", "n/a" // no frame, no latency: not a latency of 0
	if r.Frames > 0 {
		p50, p99 = report.Dur(time.Duration(r.P50Ns)), report.Dur(time.Duration(r.P99Ns))
	}
	return fmt.Sprintf("%-32s %6d frames checked in place, %6.1f fps, latency p50 %s p99 %s, drops %d (skipped for a newer frame %d, missed %d in %d laps), integrity failures %d",
		kind+":", r.Frames, r.FPS, p50, p99, r.Skipped+r.Missed, r.Skipped, r.Missed, r.Laps, r.Failures)
}

// child runs this process as a reader and returns its exit status.
func child(role string, stdout, stderr io.Writer) int {
	// A terminal's Ctrl-C signals the whole process group: the producer
	// stops early and closes the stream, and a reader ends with it, after
	// its report. Dying of the signal would lose the report.
	signal.Ignore(os.Interrupt)
	var c readerConfig
	err := launch.Config(&c)
	if err == nil && role != readerRole {
		err = fmt.Errorf("unknown role %q", role)
	}
	if err == nil {
		err = read(c, stdout, stderr)
	}
	if err != nil {
		fmt.Fprintf(stderr, "video %s: %v\n", c.Name, err)
		return 1
	}
	return 0
}

// receiveRing maps the ring the producer sends over descriptor socketFD.
func receiveRing() (*ring.Ring, error) {
	f := os.NewFile(socketFD, "video-socket")
	conn, err := net.FileConn(f) // a duplicate: f is ours to close
	f.Close()
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return nil, fmt.Errorf("descriptor %d is a %T, not a unix socket", socketFD, conn)
	}
	return ring.RecvRing(uc)
}

// read joins the ring and reads frames until the producer closes the stream.
func read(c readerConfig, stdout, stderr io.Writer) error {
	r, err := receiveRing()
	if err != nil {
		return err
	}
	defer r.Close()
	o := ring.ReaderOptions{Policy: ring.Lossy, Start: ring.Latest}
	if c.Lossless {
		o = ring.ReaderOptions{Policy: ring.Lossless, Start: ring.Oldest}
	}
	rd, err := r.Reader(o)
	if err != nil {
		return err
	}
	defer rd.Close()
	fmt.Fprintln(stdout, readyLine)

	res := readerResult{Name: c.Name, Lossless: c.Lossless}
	h := report.NewHist()
	var first, last time.Time
	next := uint64(0) // the lowest frame number acceptable next
	for {
		b, err := rd.Receive(context.Background())
		var lap *ring.LapError
		switch {
		case errors.As(err, &lap):
			res.Laps++
			res.Missed += lap.Missed
			continue
		case errors.Is(err, ring.ErrClosed):
			res.FPS = frameRate(res.Frames, last.Sub(first))
			res.P50Ns, res.P99Ns = report.At(h, 50).Nanoseconds(), report.At(h, 99).Nanoseconds()
			out, err := json.Marshal(res)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(stdout, "%s%s\n", resultPrefix, out)
			return err
		case err != nil:
			return err
		}
		now := time.Now()
		// Lag counts the leased frame too (it is not consumed until
		// Release): above 1, a newer frame is in, so skip to it.
		if !c.Lossless && rd.Lag() > 1 {
			switch err := rd.Release(); {
			case errors.As(err, &lap):
				res.Laps++ // overwritten before we let go of it: a drop, counted in Missed
				res.Missed += lap.Missed
			case err != nil:
				return err
			default:
				res.Skipped++
			}
			continue
		}
		hd, cerr := check(b, c.Res)
		if rerr := rd.Release(); errors.As(rerr, &lap) {
			res.Laps++ // overwritten while we read it: torn, a drop
			res.Missed += lap.Missed
			continue
		} else if rerr != nil {
			return rerr
		}
		switch {
		case cerr == nil && (hd.Seq < next || c.Lossless && hd.Seq != next):
			cerr = fmt.Errorf("frame %d after frame %d", hd.Seq, next-1)
		case cerr == nil:
			next = hd.Seq + 1
		}
		if cerr != nil {
			if res.Failures++; res.Failures <= 3 {
				fmt.Fprintf(stderr, "video %s: %v\n", c.Name, cerr)
			}
			continue
		}
		if res.Frames == 0 {
			first = now
		}
		last = now
		res.Frames++
		report.Record(h, now.Sub(time.Unix(0, hd.SentNs)))
	}
}

// crew is the reader processes of one run.
type crew struct{ procs []*launch.Proc }

// startReaders starts every reader, hands each the ring over its own
// socketpair and waits until all have joined.
func startReaders(ctx context.Context, r *ring.Ring, res resolution) (_ *crew, err error) {
	c := &crew{} // not the named result, which a failing return sets to nil before this defer runs
	defer func() {
		if err != nil {
			err = errors.Join(err, c.finish(true))
		}
	}()
	for _, rc := range readers {
		rc.Res = res
		if err := c.start(r, rc); err != nil {
			return nil, fmt.Errorf("%s: %w", rc.Name, err)
		}
	}
	// Not ended by a Ctrl-C: readers that join are then told the stream
	// is over, and report; only a reader that never joins fails the run.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	for i, p := range c.procs {
		line, err := p.NextLine(ctx)
		switch {
		case err != nil: // it quotes the reader's stderr where there is any
			return nil, fmt.Errorf("%s did not join: %w", readers[i].Name, err)
		case line != readyLine:
			return nil, fmt.Errorf("%s did not join: it said %q; stderr: %s", readers[i].Name, line, strings.TrimSpace(p.Stderr()))
		}
	}
	return c, nil
}

// start launches one reader and sends it the ring.
func (c *crew) start(r *ring.Ring, rc readerConfig) error {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return os.NewSyscallError("socketpair", err)
	}
	mine, theirs := os.NewFile(uintptr(fds[0]), "video-socket"), os.NewFile(uintptr(fds[1]), "video-socket-child")
	defer mine.Close()
	cmd, err := launch.Self(readerRole, rc)
	if err != nil {
		theirs.Close()
		return err
	}
	cmd.ExtraFiles = []*os.File{theirs}
	p, err := launch.Start(rc.Name, cmd)
	theirs.Close() // the child has its own copy
	if err != nil {
		return err
	}
	c.procs = append(c.procs, p)
	conn, err := net.FileConn(mine)
	if err != nil {
		return err
	}
	defer conn.Close()
	return ring.SendRing(conn.(*net.UnixConn), r)
}

// results reads every reader's result line; each has exited when it returns.
func (c *crew) results() ([]readerResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []readerResult
	var errs []error
	for _, p := range c.procs {
		var res readerResult
		var err error
		for {
			line, lerr := p.NextLine(ctx)
			if lerr != nil {
				err = lerr // it quotes the reader's stderr where there is any
				break
			}
			if js, ok := strings.CutPrefix(line, resultPrefix); ok {
				err = json.Unmarshal([]byte(js), &res)
				break
			}
		}
		if err == nil {
			out = append(out, res)
		}
		// A reader whose result never came has exited, and its error says
		// how; one that reported may still fail as it exits.
		if werr := await(p, false); err == nil {
			err = werr
		}
		errs = append(errs, err)
	}
	c.procs = nil
	return out, errors.Join(errs...)
}

// finish waits for every reader to exit and says which failed; with kill
// set (the run failed already, and said why) it kills them all first and
// says nothing of how they ended: by the kill.
func (c *crew) finish(kill bool) error {
	var errs []error
	for _, p := range c.procs {
		if err := await(p, kill); !kill {
			errs = append(errs, err)
		}
	}
	c.procs = nil
	return errors.Join(errs...)
}

// await waits for a reader to exit, killing it first when kill is set, or
// when it is still running 10 s on.
func await(p *launch.Proc, kill bool) error {
	if kill {
		p.Kill()
	}
	select {
	case <-p.Done():
	case <-time.After(10 * time.Second):
		p.Kill()
	}
	return p.Wait()
}
