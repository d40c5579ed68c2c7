//go:build linux

package medium

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/shmring/shmring/ring"
)

// Rings are the shmring rings of one measurement in one process: those it
// created and those it opened by name, each opened once and shared by the
// process's handles. Blocking calls of the handles return when ctx is done.
type Rings struct {
	ctx   context.Context
	wait  ring.WaitStrategy
	mu    sync.Mutex
	rings map[string]*ring.Ring
	made  []string // names this process created, for Remove
}

// NewRings returns an empty set whose handles wait with w.
func NewRings(ctx context.Context, w ring.WaitStrategy) *Rings {
	return &Rings{ctx: ctx, wait: w, rings: map[string]*ring.Ring{}}
}

// Create makes a ring named after tag (ringbench-<pid>-<pidns>-<random>-<tag>, see
// createNamed) and returns its name. A memfd ring's name is only its
// label: a child opens it from its descriptor (File) as FDName says.
func (rs *Rings) Create(tag string, o ring.Options) (string, error) {
	var r *ring.Ring
	name, err := createNamed(tag, func(name string) (err error) {
		r, err = ring.Create(name, o)
		return err
	}, func(err error) bool { return errors.Is(err, ring.ErrExist) })
	if errors.Is(err, ring.ErrNoHugePages) {
		return "", fmt.Errorf("%w: create ring %s: %w", ErrUnsupported, name, err)
	}
	if err != nil {
		return "", fmt.Errorf("create ring %s: %w", name, err)
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.rings[name] = r
	if !o.Memfd { // a memfd has no name to remove
		rs.made = append(rs.made, name)
	}
	return name, nil
}

// File is a new descriptor of ring name, which this process created, for
// a child's ExtraFiles; the caller closes it.
func (rs *Rings) File(name string) (*os.File, error) {
	rs.mu.Lock()
	r, ok := rs.rings[name]
	rs.mu.Unlock()
	var f *os.File
	if ok {
		f = r.File() // the ring's own: not ours to close
	}
	if f == nil {
		return nil, fmt.Errorf("ring %s: no descriptor", name)
	}
	sc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	d := -1
	if cerr := sc.Control(func(fd uintptr) { d, err = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0) }); cerr != nil {
		return nil, cerr
	}
	if err != nil {
		return nil, os.NewSyscallError("fcntl F_DUPFD_CLOEXEC", err)
	}
	return os.NewFile(uintptr(d), name), nil
}

// FDName is the name under which a child opens the ring it inherited as
// descriptor fd (ring.OpenFile).
func FDName(fd int) string { return fmt.Sprintf("fd:%d", fd) }

func (rs *Rings) open(name string) (*ring.Ring, error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if r, ok := rs.rings[name]; ok {
		return r, nil
	}
	if name == "" {
		return nil, errors.New("ring name missing")
	}
	open := func() (*ring.Ring, error) { return ring.Open(name) }
	if fd, ok := strings.CutPrefix(name, "fd:"); ok { // an inherited descriptor: see FDName
		n, err := strconv.Atoi(fd)
		if err != nil || n < 3 {
			return nil, fmt.Errorf("ring %q: not an inherited descriptor", name)
		}
		open = func() (*ring.Ring, error) {
			f := os.NewFile(uintptr(n), name)
			defer f.Close() // the ring keeps a duplicate
			return ring.OpenFile(f)
		}
	}
	r, err := open()
	if err != nil {
		return nil, err
	}
	rs.rings[name] = r
	return r, nil
}

// Sender is a new Producer of ring name.
func (rs *Rings) Sender(name string) (Sender, error) {
	r, err := rs.open(name)
	if err != nil {
		return nil, err
	}
	p, err := r.Producer()
	if err != nil {
		return nil, fmt.Errorf("ring=%s: producer: %w", name, err)
	}
	p.SetWait(rs.wait)
	return &RingSender{ctx: rs.ctx, p: p}, nil
}

// Receiver is a new Consumer of ring name.
func (rs *Rings) Receiver(name string) (Receiver, error) {
	r, err := rs.open(name)
	if err != nil {
		return nil, err
	}
	c, err := r.Consumer()
	if err != nil {
		return nil, fmt.Errorf("ring=%s: consumer: %w", name, err)
	}
	c.SetWait(rs.wait)
	return &RingReceiver{ctx: rs.ctx, c: c}, nil
}

// Reader joins broadcast ring name as a lossless or lossy reader, at the
// oldest message the ring retains.
func (rs *Rings) Reader(name string, lossy bool) (Receiver, error) {
	r, err := rs.open(name)
	if err != nil {
		return nil, err
	}
	o := ring.ReaderOptions{Policy: ring.Lossless, Start: ring.Oldest}
	if lossy {
		o.Policy = ring.Lossy
	}
	rd, err := r.Reader(o)
	if err != nil {
		return nil, fmt.Errorf("ring=%s: reader (lossy=%v): %w", name, lossy, err)
	}
	return &RingReader{ctx: rs.ctx, rd: rd}, nil
}

// RemoveNames removes the names of the rings this process created: once
// every peer has attached, the mappings live on without them, and a parent
// killed later leaves nothing in /dev/shm. Safe to call again.
func (rs *Rings) RemoveNames() error {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	var errs []error
	for _, n := range rs.made {
		if err := ring.Remove(n); err != nil && !errors.Is(err, ring.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	rs.made = nil
	return errors.Join(errs...)
}

// Close closes every ring (and its handles) and removes the names left.
func (rs *Rings) Close() error {
	errs := []error{rs.RemoveNames()}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	for _, r := range rs.rings {
		errs = append(errs, r.Close())
	}
	rs.rings = map[string]*ring.Ring{}
	return errors.Join(errs...)
}

// RingSender sends with the copying Send, or ClaimN and Commit: on a slot
// ring the slot's first n bytes, on a record ring exactly n contiguous
// bytes.
type RingSender struct {
	ctx context.Context
	p   *ring.Producer
}

func (s *RingSender) Send(msg []byte) error { return s.p.Send(s.ctx, msg) }
func (s *RingSender) Close() error          { return s.p.Close() }

func (s *RingSender) Claim(n int) ([]byte, error) {
	return s.p.ClaimN(s.ctx, n)
}

func (s *RingSender) Commit(n int) error { return s.p.Commit(n) }

func (s *RingSender) Counters() []Counter {
	st := s.p.Stats()
	return []Counter{{"producer.full", st.Full}, {"producer.sleeps", st.Sleeps}, {"producer.wakes", st.Wakes}}
}

// RingReceiver receives with the copying Recv, or Receive and Release.
type RingReceiver struct {
	ctx context.Context
	c   *ring.Consumer
}

func (r *RingReceiver) Recv(buf []byte) error {
	n, err := r.c.Recv(r.ctx, buf)
	if err != nil {
		return eof(err)
	}
	return checkLen("ring", n, len(buf))
}

// eof is err, or io.EOF for a ring closed by its producers.
func eof(err error) error {
	if errors.Is(err, ring.ErrClosed) {
		return io.EOF
	}
	return err
}

func (r *RingReceiver) Close() error { return r.c.Close() }

func (r *RingReceiver) Lease() ([]byte, error) {
	m, err := r.c.Receive(r.ctx)
	return m, eof(err)
}

func (r *RingReceiver) Release() { r.c.Release() }

func (r *RingReceiver) Counters() []Counter {
	st := r.c.Stats()
	return []Counter{{"consumer.empty", st.Empty}, {"consumer.sleeps", st.Sleeps}, {"consumer.wakes", st.Wakes}}
}

// RingReader reads a broadcast ring with the copying Recv, which never
// returns a torn message: a lossy reader that was overrun gets a LapError.
type RingReader struct {
	ctx context.Context
	rd  *ring.Reader
}

func (r *RingReader) Recv(buf []byte) error {
	n, err := r.rd.Recv(r.ctx, buf)
	var lap *ring.LapError
	if errors.As(err, &lap) {
		return &LapError{Missed: lap.Missed}
	}
	if err != nil {
		return eof(err)
	}
	return checkLen("broadcast ring", n, len(buf))
}

func (r *RingReader) Lag() (uint64, bool) { return r.rd.Lag(), true }
func (r *RingReader) Close() error        { return r.rd.Close() }
