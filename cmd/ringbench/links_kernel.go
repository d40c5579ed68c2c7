//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/shmring/shmring/internal/medium"
	"golang.org/x/sys/unix"
)

// The run command's transports through the kernel: pipes, stream and
// datagram sockets, TCP over loopback and POSIX message queues.

// fdTransport moves messages through pipe(2)s (one per direction), a
// connected pair of unix stream sockets, or a TCP connection over
// 127.0.0.1 with TCP_NODELAY: one write(2) and one read(2) per message.
// The child reads descriptor 3 and, for a pipe's way back, writes 4.
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
		pair, err := medium.SocketPair(unix.SOCK_STREAM)
		if t.kind == "tcp" {
			pair, err = medium.LoopbackPair()
		}
		if err != nil {
			return nil, err
		}
		fd := pair[0]
		return &link{
			parent: &end{s: medium.NewSocketSender(fd), r: medium.NewFDReceiver(fd)},
			files:  []*os.File{os.NewFile(uintptr(pair[1]), t.kind+"-child")},
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

// unixgramTransport moves messages through a connected pair of unix
// datagram sockets, one datagram per message; the child's is descriptor 3.
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
