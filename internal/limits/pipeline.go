//go:build linux

package limits

import (
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"
)

// MemcpyPipeline is the rate, in bytes per second, at which two goroutines
// pass frames of size bytes through dsts shared buffers with nothing else
// in the way: one copies its source frame into buffer i%dsts and hands it
// over with one atomic store; the other copies it out into a frame of its
// own and hands the buffer back. Each frame is copied in and out, the two
// copies running at once and the second reading what the first wrote: the
// work of a ring's Send and Recv of large frames, less the ring. It is the
// most a transport that copies frames in and out can deliver here, whatever
// its design; a side that waits yields between looks (runtime.Gosched), so
// that where the two CPUs are hyperthreads of one core its spinning does
// not slow the copy it waits for. The median of runs of 64 MiB (at least
// dsts frames) for about d.
func MemcpyPipeline(size, dsts int, d time.Duration) (float64, error) {
	if runtime.GOMAXPROCS(0) < 2 {
		return 0, errors.New("needs GOMAXPROCS >= 2")
	}
	if size < 8 || dsts < 1 || size*(dsts+2) > 1<<30 {
		return 0, fmt.Errorf("pipeline of %d-byte frames through %d buffers", size, dsts)
	}
	src, dst, bufs := make([]byte, size), make([]byte, size), make([]byte, size*dsts)
	for i := range src {
		src[i] = byte(i)
	}
	copy(dst, src)
	for i := range dsts { // faults the buffers' pages in, untimed
		copy(bufs[i*size:], src)
	}
	frames := uint64(max(dsts, 64<<20/size))
	var in, out atomic.Uint64 // frames handed over, frames copied out
	var rates []float64
	var bad atomic.Bool
	for deadline := time.Now().Add(d); len(rates) == 0 || time.Now().Before(deadline); {
		first := in.Load()
		done := make(chan struct{})
		t0 := time.Now()
		go func() { // the copier out
			defer close(done)
			for f := first; f < first+frames; f++ {
				for in.Load() <= f {
					runtime.Gosched()
				}
				b := bufs[int(f%uint64(dsts))*size:][:size]
				copy(dst, b)
				if dst[size-1] != byte(f) {
					bad.Store(true)
				}
				out.Store(f + 1)
			}
		}()
		for f := first; f < first+frames; f++ {
			for out.Load()+uint64(dsts) <= f {
				runtime.Gosched()
			}
			src[size-1] = byte(f) // so the copier out can tell frames apart
			copy(bufs[int(f%uint64(dsts))*size:][:size], src)
			in.Store(f + 1)
		}
		<-done
		rates = append(rates, float64(frames)*float64(size)/time.Since(t0).Seconds())
	}
	if bad.Load() {
		return 0, errors.New("a frame was copied out before it was copied in: the probe is broken")
	}
	return median(rates), nil
}
