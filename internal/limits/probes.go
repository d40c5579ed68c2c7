//go:build linux

package limits

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/shmring/shmring/futex"
	"github.com/shmring/shmring/internal/fence"
)

// spscRate is the minimal SPSC ring between two goroutines: 8-byte values
// in a 1024-slot array, each side's index published with one plain
// (release) store per message where the CPU allows it (internal/fence), the
// other side's index cached and reloaded only when the ring looks full or
// empty. It is what the shmring SPSC engine does, without a header, a slot
// length, a wait strategy or a mapping: its ceiling.
func spscRate(d time.Duration) (float64, error) {
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
	for deadline := time.Now().Add(d); len(rates) == 0 || time.Now().Before(deadline); {
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
				fence.Store64(&tail.v, pos+1, release)
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
			fence.Store64(&head.v, pos+1, release)
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
func memcpyRate(d time.Duration) (float64, error) {
	const size, reps = 1 << 20, 64
	src, dst := make([]byte, size), make([]byte, size)
	for i := range src {
		src[i] = byte(i)
	}
	var rates []float64
	for deadline := time.Now().Add(d); len(rates) == 0 || time.Now().Before(deadline); {
		t0 := time.Now()
		for range reps {
			copy(dst, src)
		}
		rates = append(rates, float64(size*reps)/time.Since(t0).Seconds())
	}
	if dst[size-1] != src[size-1] {
		return 0, errors.New("copy did not copy")
	}
	return median(rates), nil
}

// roundTrips times round trips until d has passed (at least 64) and
// returns the median in ns. The responder runs on its own locked thread.
func roundTrips(d time.Duration, ping func() error, respond func() error, stop func()) (float64, error) {
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
	for deadline := time.Now().Add(d); err == nil && (len(rtts) < 64 || time.Now().Before(deadline)); {
		t0 := time.Now()
		err = ping()
		rtts = append(rtts, float64(time.Since(t0).Nanoseconds()))
	}
	stop()
	return median(rtts), errors.Join(err, <-errc)
}

// futexRTT is a ping-pong over one word between two threads that both
// sleep in futex(2) every turn: the cost of a wake-up, twice.
func futexRTT(d time.Duration) (float64, error) {
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
	return roundTrips(d, ping, respond, func() { _ = turn(^uint32(0)) })
}

// pipeRTT is a 64-byte message sent down one pipe and echoed up another
// between two threads, with raw read(2) and write(2).
func pipeRTT(d time.Duration) (float64, error) {
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
	return roundTrips(d, ping, respond, func() { unix.Close(down[1]) })
}
