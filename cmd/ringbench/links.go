//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/shmring/shmring/internal/medium"
	"github.com/shmring/shmring/layout"
	"github.com/shmring/shmring/ring"
)

// The transports of the run command, each a way to make a link of
// internal/medium handles: the ring variants, the Go channel, pipes, stream
// and datagram sockets, TCP over loopback and POSIX message queues.

// registry is every transport by name.
var registry = func() map[string]transport {
	ts := []transport{unixgramTransport{}, mqTransport{}, chanTransport{}, fdTransport{"pipe"}, fdTransport{"unix"}, fdTransport{"tcp"}}
	for _, zc := range []bool{false, true} {
		for _, w := range waitNames {
			ts = append(ts, ringTransport{zeroCopy: zc, wait: w})
		}
		ts = append(ts, ringTransport{records: true, zeroCopy: zc, wait: "default"})
	}
	m := map[string]transport{}
	for _, t := range ts {
		m[t.name()] = t
	}
	return m
}()

// ringTransport moves messages through shmring SPSC rings, one per
// direction, that the parent creates and the child opens by name (or, with
// --memfd, from the descriptors it inherits). "shmring" uses Send and Recv,
// "shmring-zc" ClaimN/Commit and Receive/Release (stamped into the ring
// and verified in place); "-spin" or "-sleep" selects ring.WaitSpin or
// ring.WaitSleep. "shmring-rec" and "shmring-rec-zc" are the same over
// record rings (Options.Records) of config.recordCapacity bytes, whose
// MaxMessage is the run's largest message.
type ringTransport struct {
	records  bool
	zeroCopy bool
	wait     string // "default", "spin" or "sleep"
}

// waitNames are the --wait values, the first one the default.
var waitNames = []string{"default", "spin", "sleep"}

// ringName is the transport name of a ring variant.
func ringName(zeroCopy bool, wait string) string {
	n := "shmring"
	if zeroCopy {
		n += "-zc"
	}
	if wait != "default" {
		n += "-" + wait
	}
	return n
}

func (t ringTransport) name() string {
	if t.records {
		return strings.Replace(ringName(t.zeroCopy, t.wait), "shmring", "shmring-rec", 1)
	}
	return ringName(t.zeroCopy, t.wait)
}

func (t ringTransport) describe(cfg config) string {
	path := "Send/Recv (copy in, copy out)"
	if t.zeroCopy {
		path = "ClaimN/Commit and Receive/Release (written and verified in the ring, no copy)"
	}
	where := "in /dev/shm"
	switch {
	case cfg.hugePages:
		where = "in a memfd of huge pages"
	case cfg.memfd:
		where = "in a memfd"
	}
	geometry := fmt.Sprintf("%d slots of %d B", cfg.ringSlots(), cfg.size)
	if t.records {
		geometry = fmt.Sprintf("record ring of %s, MaxMessage %d B", memSize(int64(cfg.recordCapacity())), cfg.size)
	}
	return fmt.Sprintf("SPSC ring %s, %s, %s, %s wait, one message per call", where, geometry, path, t.wait)
}

// options are the ring options of one direction of a link.
func (t ringTransport) options(cfg config) ring.Options {
	o := ring.Options{Kind: ring.SPSC, SlotSize: cfg.size, Slots: cfg.ringSlots()}
	if t.records {
		o = ring.Options{Kind: ring.SPSC, Records: true, Capacity: cfg.recordCapacity(), MaxMessage: cfg.size}
	}
	o.Memfd, o.HugePages = cfg.memfd || cfg.hugePages, cfg.hugePages
	return o
}

// hugePage is the huge page size a --hugepages ring's file is rounded to.
const hugePage = 2 << 20

// memory is the size of one of the transport's rings: the file layout
// lays out for it.
func (t ringTransport) memory(cfg config) int64 {
	p := layout.Params{Kind: layout.KindSPSC, SlotSize: uint32(cfg.size), SlotCount: uint64(cfg.ringSlots())}
	if t.records {
		p = layout.Params{Kind: layout.KindSPSC, Records: true, SlotSize: uint32(cfg.size), SlotCount: uint64(cfg.recordCapacity())}
	}
	h, err := layout.NewHeaderFor(p)
	if err != nil {
		return 0
	}
	if cfg.hugePages {
		return int64(h.FileSize+hugePage-1) &^ (hugePage - 1)
	}
	return int64(h.FileSize)
}

func waitStrategy(name string) ring.WaitStrategy {
	switch name {
	case "spin":
		return ring.WaitSpin
	case "sleep":
		return ring.WaitSleep
	}
	return ring.DefaultWait
}

func (t ringTransport) open(ctx context.Context, w workload, cfg config) (*link, error) {
	rs := medium.NewRings(ctx, waitStrategy(t.wait))
	e := &end{zeroCopy: t.zeroCopy, closers: []func() error{rs.Close}}
	l := &link{parent: e, unlink: rs.RemoveNames}
	o := t.options(cfg)
	// add creates one direction's ring; a memfd ring reaches the child as
	// its next descriptor.
	add := func(tag string) (string, error) {
		name, err := rs.Create(tag, o)
		if err != nil || !o.Memfd {
			l.rings = append(l.rings, name)
			return name, err
		}
		f, err := rs.File(name)
		if err != nil {
			return "", err
		}
		l.rings = append(l.rings, medium.FDName(3+len(l.files)))
		l.files = append(l.files, f)
		return name, nil
	}
	down, err := add("down")
	if err == nil {
		e.s, err = rs.Sender(down)
	}
	if err == nil && w.twoWay() {
		var up string
		if up, err = add("up"); err == nil {
			e.r, err = rs.Receiver(up)
		}
	}
	if err != nil {
		closeFiles(l.files)
		return nil, errors.Join(err, e.close())
	}
	return l, nil
}

func (t ringTransport) attach(w workload, pc peerConfig) (*end, error) {
	rs := medium.NewRings(context.Background(), waitStrategy(t.wait))
	e := &end{zeroCopy: t.zeroCopy, closers: []func() error{rs.Close}}
	var err error
	if len(pc.Rings) < 1 || w.twoWay() && len(pc.Rings) < 2 {
		err = fmt.Errorf("ring names missing from the config: %q", pc.Rings)
	} else if e.r, err = rs.Receiver(pc.Rings[0]); err == nil && w.twoWay() {
		e.s, err = rs.Sender(pc.Rings[1])
	}
	if err != nil {
		return nil, errors.Join(err, e.close())
	}
	return e, nil
}

// chanTransport is the in-process reference: Go channels between goroutines.
type chanTransport struct{}

func (chanTransport) name() string { return "chan" }

func (chanTransport) describe(cfg config) string {
	return fmt.Sprintf("buffered Go channel (capacity %d) of reused buffers, copy in, copy out; two goroutines in one process", cfg.chanSlots())
}

func (chanTransport) open(_ context.Context, w workload, cfg config) (*link, error) {
	down := medium.NewChan(cfg.size, cfg.chanSlots(), 1, 1)
	l := &link{parent: &end{s: down.Sender()}, local: &end{r: down.Receiver()}}
	if w.twoWay() {
		up := medium.NewChan(cfg.size, cfg.chanSlots(), 1, 1)
		l.parent.r, l.local.s = up.Receiver(), up.Sender()
	}
	return l, nil
}

func (chanTransport) attach(workload, peerConfig) (*end, error) {
	return nil, errors.New("chan transport runs in one process; it has no child")
}

// fdTransport moves messages through pipe(2)s (one per direction), a unix
// stream socket pair, or TCP over 127.0.0.1 with TCP_NODELAY. The child
// reads descriptor 3 and, for a pipe's way back, writes 4.
type fdTransport struct{ kind string }

func (t fdTransport) name() string { return t.kind }

func (t fdTransport) describe(config) string {
	return map[string]string{
		"pipe": "pipe(2), one write(2) and one read(2) per message",
		"unix": "AF_UNIX SOCK_STREAM socketpair, one write(2)/read(2) per message",
		"tcp":  "TCP over 127.0.0.1, TCP_NODELAY, one write(2)/read(2) per message",
	}[t.kind]
}

func (t fdTransport) open(_ context.Context, w workload, _ config) (*link, error) {
	if t.kind != "pipe" {
		pair := medium.LoopbackPair // tcp; not both: each makes a pair
		if t.kind == "unix" {
			pair = func() ([2]int, error) { return medium.SocketPair(unix.SOCK_STREAM) }
		}
		fds, err := pair()
		if err != nil {
			return nil, err
		}
		return &link{
			parent: &end{s: medium.NewSocketSender(fds[0]), r: medium.NewFDReceiver(fds[0])},
			files:  []*os.File{os.NewFile(uintptr(fds[1]), t.kind+"-child")},
		}, nil
	}
	down, err := medium.Pipe() // parent → child
	if err != nil {
		return nil, err
	}
	l := &link{
		parent: &end{s: medium.NewPipeSender(down[1])},
		files:  []*os.File{os.NewFile(uintptr(down[0]), "pipe-down-r")},
	}
	if w.twoWay() {
		up, err := medium.Pipe() // child → parent
		if err != nil {
			closeFiles(l.files)
			return nil, errors.Join(err, l.parent.close())
		}
		l.parent.r = medium.NewFDReceiver(up[0])
		l.files = append(l.files, os.NewFile(uintptr(up[1]), "pipe-up-w"))
	}
	return l, nil
}

func (t fdTransport) attach(w workload, _ peerConfig) (*end, error) {
	fd, err := medium.Inherited(3)
	if err != nil {
		return nil, err
	}
	e := &end{r: medium.NewFDReceiver(fd)}
	switch {
	case t.kind != "pipe":
		e.s = medium.NewSocketSender(fd)
	case w.twoWay():
		wfd, err := medium.Inherited(4)
		if err != nil {
			return nil, errors.Join(err, e.close())
		}
		e.s = medium.NewPipeSender(wfd)
	}
	return e, nil
}

// unixgramTransport sends datagrams over a unix socket pair; the child's is 3.
type unixgramTransport struct{}

func (unixgramTransport) name() string { return "unixgram" }

func (unixgramTransport) describe(config) string {
	return "AF_UNIX SOCK_DGRAM socketpair, one datagram per message, one send(2)/recv(2) each"
}

func (unixgramTransport) open(ctx context.Context, _ workload, cfg config) (*link, error) {
	fds, err := medium.SocketPair(unix.SOCK_DGRAM)
	if err != nil {
		return nil, err
	}
	for _, fd := range fds {
		if err := medium.SetupDgram(fd, cfg.size); err != nil {
			return nil, errors.Join(err, medium.CloseFD(fds[0]), medium.CloseFD(fds[1]))
		}
	}
	d := medium.NewDgram(ctx, fds[0])
	return &link{
		parent: &end{s: d.Sender(), r: d},
		files:  []*os.File{os.NewFile(uintptr(fds[1]), "unixgram-child")},
	}, nil
}

func (unixgramTransport) attach(workload, peerConfig) (*end, error) {
	fd, err := medium.Inherited(3)
	if err != nil {
		return nil, err
	}
	d := medium.NewDgram(context.Background(), fd)
	return &end{s: d.Sender(), r: d}, nil
}

// mqTransport moves messages through POSIX message queues, one per
// direction, as deep as the ring (capped by msg_max); the child inherits
// duplicates of their descriptors as 3 and 4.
type mqTransport struct{}

func (mqTransport) name() string { return "mq" }

func (mqTransport) describe(cfg config) string {
	return fmt.Sprintf("POSIX message queue, %d messages deep, one mq_timedsend(2)/mq_timedreceive(2) per message", medium.MQDepth(cfg.ringSlots()))
}

func (mqTransport) open(ctx context.Context, w workload, cfg config) (*link, error) {
	if cfg.minSize > 0 {
		return nil, fmt.Errorf("%w: mq_receive(3) wants a buffer of the queue's whole message size, so a mixed run's exact-length receive cannot use it", medium.ErrUnsupported)
	}
	depth := medium.MQDepth(cfg.ringSlots())
	down, err := medium.CreateMQ(cfg.size, depth)
	if err != nil {
		return nil, err
	}
	up := -1
	if w.twoWay() {
		if up, err = medium.CreateMQ(cfg.size, depth); err != nil {
			return nil, errors.Join(err, medium.CloseFD(down))
		}
	}
	q := medium.NewMQ(ctx, up, down)
	l := &link{parent: &end{s: q.Sender(), r: q}}
	for _, fd := range []int{down, up} { // the child gets duplicates: measure closes l.files
		if fd < 0 {
			continue
		}
		d, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			closeFiles(l.files)
			return nil, errors.Join(os.NewSyscallError("fcntl F_DUPFD_CLOEXEC", err), q.Close())
		}
		l.files = append(l.files, os.NewFile(uintptr(d), "mq"))
	}
	return l, nil
}

func (mqTransport) attach(w workload, _ peerConfig) (*end, error) {
	if !w.twoWay() {
		return &end{r: medium.NewMQ(context.Background(), 3, -1)}, nil
	}
	q := medium.NewMQ(context.Background(), 3, 4)
	return &end{s: q.Sender(), r: q}, nil
}
