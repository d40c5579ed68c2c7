//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/shmring/shmring/internal/codec"
	"github.com/shmring/shmring/internal/medium"
	"github.com/shmring/shmring/internal/report"
	"github.com/shmring/shmring/ring"
	"golang.org/x/sys/unix"
)

// fanJob is one measurement.
type fanJob struct {
	medium   string // fanRing or fanUnix
	readers  int
	policy   string // the plan's: lossless, lossy or mixed (unix: always lossless)
	size     int
	slots    int
	duration time.Duration
	// rate paces the producer (messages per second, each stamped with
	// its intended send time); 0 publishes flat out.
	rate float64
	// Tests: a fault for the producer and one for reader 0.
	producerFault, readerFault fault
}

// fanOutcome is what one measurement found.
type fanOutcome struct {
	published uint64
	elapsed   time.Duration // the producer's publishing time
	readers   []fanReaderResult
	lat       *hdrhistogram.Histogram // every reader's, merged
}

func (o *fanOutcome) rate() float64 {
	if o.elapsed <= 0 {
		return 0
	}
	return float64(o.published) / o.elapsed.Seconds()
}

func (o *fanOutcome) hist() *hdrhistogram.Histogram { return o.lat }

// runFanJob starts the readers, publishes for the job's duration, closes
// the stream and checks what each reader got.
func runFanJob(ctx context.Context, j fanJob) (_ *fanOutcome, err error) {
	ctx, cancel := context.WithTimeout(ctx, j.duration+peerGrace)
	defer cancel()
	rs := medium.NewRings(ctx, ring.DefaultWait)
	defer func() { err = errors.Join(err, rs.Close()) }()
	fan := fanOut{} // unix: one socket per reader
	defer func() { err = errors.Join(err, fan.Close()) }()
	var sink medium.Sender
	var name string
	if j.medium == fanRing {
		if name, err = rs.Create("bcast", ring.Options{Kind: ring.Broadcast, SlotSize: j.size, Slots: j.slots, MaxReaders: j.readers}); err != nil {
			return nil, err
		}
		if sink, err = rs.Sender(name); err != nil {
			return nil, err
		}
	}
	specs := make([]peerSpec, j.readers)
	for i := range specs {
		c := fanReaderConfig{Index: i, Medium: j.medium, Ring: name, Policy: policyOf(j.policy, i), Size: j.size}
		if i == 0 {
			c.Fault = j.readerFault
		}
		if j.medium == fanUnix {
			c.Policy = "lossless"
			fds, err := medium.SocketPair(unix.SOCK_STREAM)
			if err != nil {
				for _, s := range specs[:i] {
					closeFiles(s.files)
				}
				return nil, err
			}
			fan = append(fan, medium.NewPipeSender(fds[0])) // Close closes it: the reader reads end of file
			specs[i].files = []*os.File{os.NewFile(uintptr(fds[1]), "reader-socket")}
		}
		specs[i].name, specs[i].role, specs[i].cfg = fmt.Sprintf("%s reader %d (child process)", c.Policy, i), roleFanReader, c
	}
	if sink == nil {
		sink = fan
	}
	c, err := startCrew(ctx, cancel, specs, rs.RemoveNames)
	if err != nil {
		return nil, err
	}
	defer c.stop()
	var res []fanReaderResult
	done := make(chan error, 1)
	go func() {
		var err error
		res, err = results[fanReaderResult](c)
		done <- err
	}()
	o := &fanOutcome{}
	perr := errors.Join(j.publish(c.ctx, sink, o), sink.Close())
	if err := <-done; err != nil { // a reader's failure explains the producer's
		return nil, err
	}
	if perr != nil {
		return nil, fmt.Errorf("producer: %w", perr)
	}
	var hs []*hdrhistogram.Histogram
	for i, rr := range res {
		h, err := report.Decode(rr.Hist)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", specs[i].name, err)
		}
		hs = append(hs, h)
	}
	o.readers, o.lat = res, report.Merge(hs...)
	return o, checkFanout(o)
}

// fanOut sends every message to each of its senders (a socket per reader).
type fanOut []medium.Sender

func (f fanOut) Send(msg []byte) error {
	for i, s := range f {
		if err := s.Send(msg); err != nil {
			return fmt.Errorf("socket of reader %d: %w", i, err)
		}
	}
	return nil
}

func (f fanOut) Close() error {
	var errs []error
	for _, s := range f {
		errs = append(errs, s.Close())
	}
	return errors.Join(errs...)
}

// publish sends messages stamped with their send time for the job's
// duration, or until a reader failed (ctx done). Paced, it gives up with
// errBehindRate when the medium cannot keep the rate (schedule.keptUp):
// lossless ring readers and socket buffers hold the producer back, so a
// producer that keeps the schedule is one whose readers keep up (a lossy
// reader that does not is lapped, and says so).
func (j fanJob) publish(ctx context.Context, sink medium.Sender, o *fanOutcome) error {
	msg := make([]byte, j.size)
	start := time.Now()
	deadline := start.Add(j.duration).UnixNano()
	sched := schedule{start: start, from: start, end: start.Add(j.duration), rate: j.rate}
	var seq uint64
	defer func() {
		o.published = seq
		o.elapsed = time.Since(start)
	}()
	for ; ; seq++ {
		now := time.Now().UnixNano()
		if j.rate > 0 { // paced: stamp the time it was due, so a late send counts against it
			if err := sched.keptUp(seq, time.Now()); err != nil {
				return err
			}
			due := sched.due(seq)
			if due.Before(sched.end) { // no wait past the window for a message it will not send
				waitYielding(ctx, due)
			}
			now = due.UnixNano()
		}
		if now >= deadline && !j.producerFault.due(seq) && !j.readerFault.due(seq) || ctx.Err() != nil { // the clock is read for every message's send time anyway
			return nil
		}
		codec.Put(msg, codec.Header{Seq: seq, SentNs: now})
		codec.Seal(msg)
		j.producerFault.flip(seq, msg)
		for range j.producerFault.copies(seq) {
			if err := sink.Send(msg); err != nil {
				return fmt.Errorf("publish message %d: %w", seq, err)
			}
		}
	}
}

// waitYielding waits until t, or until ctx is done (a signal, or the
// run's end), yielding the CPU: with more readers than cores, a spinning
// producer would keep them off it.
func waitYielding(ctx context.Context, t time.Time) {
	for time.Now().Before(t) && ctx.Err() == nil {
		unix.Syscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
	}
}

// checkFanout: every reader got, or (lossy) was told it missed, every message.
func checkFanout(o *fanOutcome) error {
	for _, r := range o.readers {
		switch {
		case r.Unreported > 0:
			return fmt.Errorf("%w: %s reader %d skipped %d messages no lap reported", codec.ErrIntegrity, r.Policy, r.Index, r.Unreported)
		case r.Policy == "lossless" && r.Received != o.published:
			return fmt.Errorf("%w: lossless reader %d received %d of %d messages published", codec.ErrIntegrity, r.Index, r.Received, o.published)
		case r.Received+r.Missed != o.published:
			return fmt.Errorf("%w: lossy reader %d received %d and was told it missed %d: %d, but %d were published",
				codec.ErrIntegrity, r.Index, r.Received, r.Missed, r.Received+r.Missed, o.published)
		}
	}
	return nil
}
