//go:build linux

package fuzz

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/shmring/shmring/ring"
)

// sentinels are the errors a ring operation may report, whatever bytes
// another process wrote: ring's documented sentinels, and a context's.
var sentinels = []error{
	ring.ErrCorrupt, ring.ErrEmpty, ring.ErrFull, ring.ErrClosed, ring.ErrTooLarge,
	ring.ErrVersion, ring.ErrNotReady, ring.ErrBusy, ring.ErrPeerDead,
	ring.ErrNotExist, ring.ErrExist, ring.ErrInvalid, ring.ErrNoSpace,
	context.DeadlineExceeded, context.Canceled, io.ErrShortBuffer,
}

// checkErr fails t unless err is nil or matches one of allowed (errors.Is);
// allowed defaults to every sentinel.
func checkErr(t *testing.T, op string, err error, allowed ...error) {
	t.Helper()
	if err == nil {
		return
	}
	if len(allowed) == 0 {
		allowed = sentinels
	}
	for _, s := range allowed {
		if errors.Is(err, s) {
			return
		}
	}
	t.Fatalf("%s: error %q (%T) is none of %v", op, err, err, allowed)
}

// u64 and cat build seed inputs.
func u64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// mapAgain maps r's file a second time, as a hostile process would, then
// removes its name: the ring lives on in its mappings, and a fuzz worker
// stopped mid-input (as the fuzzer does when its time is up) leaves nothing
// in /dev/shm.
func mapAgain(r *ring.Ring) ([]byte, error) {
	f, err := os.OpenFile(r.Path(), os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	mem, err := unix.Mmap(int(f.Fd()), 0, int(r.Header().FileSize), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, err
	}
	ring.Remove(r.Name())
	return mem, nil
}

var nameSeq atomic.Uint64

// uniqueName is a ring name under /dev/shm that no other input, worker or
// run uses. The prefix is the one CI's leftover check looks for.
func uniqueName(target string) string {
	return fmt.Sprintf("shmring-test-fuzz-%s-%d-%d", target, os.Getpid(), nameSeq.Add(1))
}

// fastWait makes a blocking call sleep at once, in short ticks, so that a
// short deadline still lets it probe the peer's liveness (which the engine
// does after a sleep that timed out).
var fastWait = ring.WaitStrategy{Spin: 8, Yield: 1, Sleep: true, Tick: 50 * time.Microsecond}

// deadline is a context that ends soon.
func deadline(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

// touch reads every byte of m, so that a slice reaching outside the mapping
// faults here rather than going unnoticed.
func touch(m []byte) (sum byte) {
	for _, c := range m {
		sum += c
	}
	return sum
}

// input decodes a fuzz input; past its end every byte is zero.
type input struct{ b []byte }

func (in *input) more() bool { return len(in.b) > 0 }

func (in *input) byte() byte {
	if len(in.b) == 0 {
		return 0
	}
	c := in.b[0]
	in.b = in.b[1:]
	return c
}

func (in *input) uint16() uint16 { return uint16(in.byte()) | uint16(in.byte())<<8 }

func (in *input) uint64() uint64 {
	var v uint64
	for i := range 8 {
		v |= uint64(in.byte()) << (8 * i)
	}
	return v
}

func (in *input) bytes(n int) []byte {
	n = min(n, len(in.b))
	b := in.b[:n]
	in.b = in.b[n:]
	return b
}

func skipWithoutShm(f *testing.F) {
	if st, err := os.Stat("/dev/shm"); err != nil || !st.IsDir() {
		f.Skip("no /dev/shm: ring names need it")
	}
}
