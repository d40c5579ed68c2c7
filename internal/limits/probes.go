//go:build linux

package limits

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/shmring/shmring/futex"
	"github.com/shmring/shmring/internal/fence"
)

// The Go probes; csrc/limits.c has the same in C.

// spscRate is the minimal SPSC ring between two goroutines: 8-byte values
// in 1024 slots, each side's index published with one release store
// (internal/fence), the other's cached until the ring looks full or empty:
// the shmring SPSC engine without header, slot length, wait or mapping.
func spscRate(w window) (float64, error) { return spscRateEvery(w, 1) }

// spscBatchRate is spscRate with each side publishing its index once per
// 64 messages: the reference for a ring's batched calls.
func spscBatchRate(w window) (float64, error) { return spscRateEvery(w, 64) }

// spscRateEvery is the probe of spscRate, each side publishing its index
// after every that many messages (a divisor of the slots and the batch).
func spscRateEvery(w window, every uint64) (float64, error) {
	if runtime.GOMAXPROCS(0) < 2 {
		return 0, errors.New("needs GOMAXPROCS >= 2")
	}
	const slots, batch = 1024, 1 << 16
	type line struct {
		v atomic.Uint64
		_ [120]byte
	}
	var head, tail line // producer's and consumer's positions
	buf := make([]uint64, slots)
	release := fence.Register()
	var bad atomic.Uint64
	var rates []float64
	for open := w.start(); len(rates) == 0 || open(); {
		start, n := head.v.Load(), uint64(batch)
		done := make(chan struct{})
		go func() { // the consumer
			defer close(done)
			seen := start
			for pos := start; pos < start+n; pos++ {
				for spins := 0; pos == seen; spins++ {
					if seen = head.v.Load(); spins&0xffff == 0xffff {
						runtime.Gosched()
					}
				}
				if buf[pos%slots] != pos {
					bad.Add(1)
				}
				if (pos+1)%every == 0 {
					fence.Store64(&tail.v, pos+1, release)
				}
			}
		}()
		t0 := time.Now()
		freed := tail.v.Load() + slots
		for pos := start; pos < start+n; pos++ {
			for spins := 0; pos == freed; spins++ {
				if freed = tail.v.Load() + slots; spins&0xffff == 0xffff {
					runtime.Gosched()
				}
			}
			buf[pos%slots] = pos
			if (pos+1)%every == 0 {
				fence.Store64(&head.v, pos+1, release)
			}
		}
		<-done
		rates = append(rates, float64(n)/time.Since(t0).Seconds())
	}
	if bad.Load() > 0 {
		return 0, fmt.Errorf("%d values read wrong: the probe is broken", bad.Load())
	}
	return median(rates), nil
}

// memcpyRate is copy's bandwidth over 1 MiB buffers, in bytes per second.
func memcpyRate(w window) (float64, error) { return memcpyRates(1<<20, 1, 1, false, w) }

// MemcpyRate is Go's copy bandwidth over buffers of size bytes (both
// touched first, so no page fault is timed), in bytes per second: the
// median of repeated runs of 64 MiB (at least one copy) for about d. A
// frame of size bytes takes size/MemcpyRate to copy once. The buffers
// stay in the cache where they fit, as in a C memcpy benchmark.
func MemcpyRate(size int, d time.Duration) (float64, error) { return MemcpyRateOver(size, 1, d) }

// MemcpyRateOver is MemcpyRate with the copies going to dsts destination
// buffers in turn (dsts × size bytes, like a ring's slots), so that a
// footprint larger than the cache is written from memory as a ring's is.
func MemcpyRateOver(size, dsts int, d time.Duration) (float64, error) {
	return memcpyRates(size, dsts, 1, false, window{context.Background(), d})
}

// MemcpyRateOutOf is MemcpyRateOver the other way: the copies come from
// srcs source buffers in turn into one destination, so that a footprint
// larger than the last-level cache is read from memory, as a ring's Recv
// of large frames reads them where the ring's frames exceed the cache, or
// were written past it (Go's copy of 1 MiB or more writes with
// non-temporal stores on amd64).
func MemcpyRateOutOf(size, srcs int, d time.Duration) (float64, error) {
	return memcpyRates(size, srcs, 1, true, window{context.Background(), d})
}

// MemcpyRatePair is MemcpyRateOver with two copiers at once, each on a
// locked thread of its own with buffers of its own: the bandwidth one of
// them gets, in bytes per second. A ring's Send and Recv of large frames
// are two such copies running together (the producer's into a slot, the
// consumer's out of another), which on a machine whose two CPUs share a
// core or a memory channel each get less than a copy alone does.
func MemcpyRatePair(size, dsts int, d time.Duration) (float64, error) {
	return memcpyRates(size, dsts, 2, false, window{context.Background(), d})
}

// memcpyRates runs copiers copy loops at once (see MemcpyRateOver) and
// returns the median rate one copier got. Each copies between one buffer
// of size bytes and bufs more in turn: into them, or out of them.
func memcpyRates(size, bufs, copiers int, out bool, w window) (float64, error) {
	if size < 1 || bufs < 1 || size*bufs > 1<<30 {
		return 0, fmt.Errorf("memcpy of %d bytes over %d buffers", size, bufs)
	}
	reps := max(bufs, 64<<20/size)
	type copier struct{ one, many []byte }
	cs := make([]copier, copiers)
	for c := range cs {
		one, many := make([]byte, size), make([]byte, size*bufs)
		for i := range one {
			one[i] = byte(i)
		}
		for i := range bufs { // faults their pages in, untimed
			copy(many[i*size:], one)
			many[i*size] = byte(i) // which buffer a copy out came from
		}
		cs[c] = copier{one, many}
	}
	rates := make([][]float64, copiers)
	start := make(chan struct{})
	done := make(chan int)
	open := w.start()
	for c := range cs {
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			<-start
			for len(rates[c]) == 0 || open() {
				t0 := time.Now()
				for i := range reps {
					buf := cs[c].many[i%bufs*size : (i%bufs+1)*size]
					if out {
						copy(cs[c].one, buf)
					} else {
						copy(buf, cs[c].one)
					}
				}
				rates[c] = append(rates[c], float64(size*reps)/time.Since(t0).Seconds())
			}
			done <- c
		}()
	}
	close(start)
	var all []float64
	for range cs {
		c := <-done
		if cs[c].many[len(cs[c].many)-1] != cs[c].one[size-1] || out && cs[c].one[0] != byte((reps-1)%bufs) {
			return 0, errors.New("copy did not copy")
		}
		all = append(all, rates[c]...)
	}
	return median(all), nil
}

// roundTrips times round trips until w has passed (at least 64) and
// returns the median in ns. The responder runs on its own locked thread.
func roundTrips(w window, ping func() error, respond func() error, stop func()) (float64, error) {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		errc <- respond()
	}()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var rtts []float64
	var err error
	for open := w.start(); err == nil && (len(rtts) < 64 || open()); {
		t0 := time.Now()
		err = ping()
		rtts = append(rtts, float64(time.Since(t0).Nanoseconds()))
	}
	stop()
	return median(rtts), errors.Join(err, <-errc)
}

// futexRTT is a ping-pong over one word between two threads that both
// sleep in futex(2) every turn: the cost of a wake-up, twice.
func futexRTT(w window) (float64, error) {
	var word uint32 // odd: the responder's turn; even: the pinger's; ^0: stop
	wait := func(until func(uint32) bool) uint32 {
		for {
			v := atomic.LoadUint32(&word)
			if until(v) {
				return v
			}
			_ = futex.Wait(&word, v, 0) // a spurious return re-checks
		}
	}
	turn := func(v uint32) error {
		atomic.StoreUint32(&word, v)
		_, err := futex.Wake(&word, 1)
		return err
	}
	var n uint32
	ping := func() error {
		if err := turn(2*n + 1); err != nil {
			return err
		}
		n++
		wait(func(v uint32) bool { return v == 2*n })
		return nil
	}
	respond := func() error {
		for {
			v := wait(func(v uint32) bool { return v&1 == 1 })
			if v == ^uint32(0) {
				return nil
			}
			if err := turn(v + 1); err != nil {
				return err
			}
		}
	}
	return roundTrips(w, ping, respond, func() { _ = turn(^uint32(0)) })
}

// pipeRTT is a 64-byte message sent down one pipe and echoed up another
// between two threads, with raw read(2) and write(2).
func pipeRTT(w window) (float64, error) {
	var down, up [2]int
	if err := unix.Pipe2(down[:], unix.O_CLOEXEC); err != nil {
		return 0, os.NewSyscallError("pipe2", err)
	}
	if err := unix.Pipe2(up[:], unix.O_CLOEXEC); err != nil {
		unix.Close(down[0])
		unix.Close(down[1])
		return 0, os.NewSyscallError("pipe2", err)
	}
	defer func() {
		for _, fd := range []int{down[0], up[0], up[1]} {
			unix.Close(fd)
		}
	}()
	msg := make([]byte, 64)
	echo := make([]byte, 64)
	ping := func() error {
		if _, err := unix.Write(down[1], msg); err != nil {
			return os.NewSyscallError("write", err)
		}
		_, err := unix.Read(up[0], msg)
		return err
	}
	respond := func() error {
		for {
			n, err := unix.Read(down[0], echo)
			if n == 0 || err != nil {
				return err // end of file: the pinger closed
			}
			if _, err := unix.Write(up[1], echo[:n]); err != nil {
				return os.NewSyscallError("write", err)
			}
		}
	}
	return roundTrips(w, ping, respond, func() { unix.Close(down[1]) })
}

// CacheLineRTT measures the round trip of one cache line between two
// goroutines that spin on it. A virtual machine's host may move its vCPUs
// between a near and a far placement, which changes every coherence-bound
// figure several times over; measured before and after a run, it shows
// whether that happened. ok is false when fewer than two CPUs can run.
func CacheLineRTT(d time.Duration) (rtt time.Duration, ok bool) {
	return cacheLineRTT(window{context.Background(), d})
}

func cacheLineRTT(w window) (rtt time.Duration, ok bool) {
	if runtime.GOMAXPROCS(0) < 2 || runtime.NumCPU() < 2 {
		return 0, false
	}
	const (
		batch = 256
		stop  = math.MaxUint64 // odd, but the responder checks for it first
		// Either side yields its P after this many fruitless polls, so that
		// two goroutines put on one P still answer each other.
		yieldEvery = 1<<16 - 1
	)
	// The initiator writes odd values, the responder the next even one.
	type padded struct {
		_ [128]byte
		v atomic.Uint64
		_ [128]byte
	}
	line := new(padded)
	// The initiator blocks until the responder runs, whose wake-up lets an
	// idle P steal it: spinning at once can leave both on one P, taking
	// turns at each 10 ms preemption (observed: 6.96 ms round trips).
	started := make(chan struct{})
	go func() {
		close(started)
		for idle := 0; ; idle++ {
			v := line.v.Load()
			if v == stop {
				return
			}
			if v&1 == 1 {
				line.v.Store(v + 1)
				idle = 0
			}
			if idle&yieldEvery == yieldEvery {
				runtime.Gosched() // in case the initiator waits for this P
			}
		}
	}()
	defer line.v.Store(stop)
	<-started

	var v uint64
	bounce := func(n int) {
		for range n {
			line.v.Store(v + 1)
			for spins := 1; line.v.Load() != v+2; spins++ {
				if spins&yieldEvery == 0 {
					runtime.Gosched() // in case the responder waits for this P
				}
			}
			v += 2
		}
	}
	bounce(batch) // the responder is running once this returns
	var samples []time.Duration
	for open := w.start(); len(samples) == 0 || open(); {
		t0 := time.Now()
		bounce(batch)
		samples = append(samples, time.Since(t0)/batch)
	}
	slices.Sort(samples)
	return samples[len(samples)/2], true
}
