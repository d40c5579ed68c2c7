//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// unixgramTransport moves messages through a connected pair of unix
// datagram sockets (socketpair(2), SOCK_DGRAM): one datagram per message,
// one send(2) and one recv(2) each; the child gets its socket as descriptor
// 3. The end of the stream is a zero-length datagram (a benchmark message is
// at least 8 bytes), since a datagram socket has no end-of-file.
//
// A datagram must fit the sender's socket buffer whole: for large messages
// the buffer is raised (up to net.core.wmem_max); a message that still does
// not fit is skipped, not split.
type unixgramTransport struct{}

func init() { register(unixgramTransport{}) }

func (unixgramTransport) name() string { return "unixgram" }

func (unixgramTransport) describe(config) string {
	return "AF_UNIX SOCK_DGRAM socketpair, one datagram per message, one send(2)/recv(2) each"
}

// dgramTick bounds one blocking call (SO_RCVTIMEO, SO_SNDTIMEO): a datagram
// socket does not tell a blocked caller that its peer died, so the parent
// checks its ctx this often.
const dgramTick = 100 * time.Millisecond

func (unixgramTransport) open(ctx context.Context, _ workload, cfg config) (*link, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socketpair", err)
	}
	for _, fd := range fds {
		if err := setupDgram(fd, cfg.size); err != nil {
			return nil, errors.Join(err, closeFD(fds[0]), closeFD(fds[1]))
		}
	}
	return &link{
		parent: &dgramEnd{ctx: ctx, fd: fds[0]},
		files:  []*os.File{os.NewFile(uintptr(fds[1]), "unixgram-child")},
	}, nil
}

// setupDgram sets the timeouts and makes room for one size-byte datagram.
func setupDgram(fd, size int) error {
	tv := unix.NsecToTimeval(dgramTick.Nanoseconds())
	for _, opt := range []int{unix.SO_RCVTIMEO, unix.SO_SNDTIMEO} {
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, opt, &tv); err != nil {
			return os.NewSyscallError("setsockopt", err)
		}
	}
	const overhead = 32 // the kernel refuses a datagram longer than sndbuf-32
	buf, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF)
	if err != nil {
		return os.NewSyscallError("getsockopt SO_SNDBUF", err)
	}
	if size+overhead <= buf {
		return nil
	}
	// The kernel doubles what is asked, capped at 2*wmem_max.
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, size+overhead); err != nil {
		return os.NewSyscallError("setsockopt SO_SNDBUF", err)
	}
	if buf, err = unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF); err != nil {
		return os.NewSyscallError("getsockopt SO_SNDBUF", err)
	}
	if size+overhead > buf {
		return fmt.Errorf("%w: a %d-byte datagram does not fit the largest socket send buffer (%d bytes; raise net.core.wmem_max)", errUnsupported, size, buf)
	}
	return nil
}

func (unixgramTransport) attach(context.Context, workload, peerConfig) (endpoint, error) {
	fd, err := childFD(3)
	if err != nil {
		return nil, err
	}
	return &dgramEnd{fd: fd}, nil
}

// dgramEnd is one side's datagram socket.
type dgramEnd struct {
	ctx  context.Context // nil in the child: its parent's death kills it
	fd   int
	shut bool
}

// again says whether a call that failed with err should be made again.
func (e *dgramEnd) again(err error) (bool, error) {
	switch err {
	case unix.EINTR:
		return true, nil
	case unix.EAGAIN: // the tick passed
		if e.ctx != nil && e.ctx.Err() != nil {
			return false, e.ctx.Err()
		}
		return true, nil
	}
	return false, nil
}

func (e *dgramEnd) send(msg []byte) error {
	for {
		err := unix.Send(e.fd, msg, 0)
		if err == nil {
			return nil
		}
		if again, cerr := e.again(err); !again {
			if cerr != nil {
				return cerr
			}
			return os.NewSyscallError("send", err)
		}
	}
}

func (e *dgramEnd) recv(buf []byte) error {
	for {
		// MSG_TRUNC: n is the datagram's real length, so a longer one
		// cannot pass for a message of the right size.
		n, _, err := unix.Recvfrom(e.fd, buf, unix.MSG_TRUNC)
		if err == nil {
			switch {
			case n == 0:
				return io.EOF
			case n != len(buf):
				return fmt.Errorf("unixgram: got a %d-byte datagram, want %d bytes", n, len(buf))
			}
			return nil
		}
		if again, cerr := e.again(err); !again {
			if cerr != nil {
				return cerr
			}
			return os.NewSyscallError("recv", err)
		}
	}
}

func (e *dgramEnd) closeSend() error {
	if e.shut {
		return nil
	}
	e.shut = true
	return e.send(nil)
}

func (e *dgramEnd) close() error {
	if e.fd < 0 {
		return nil
	}
	err := closeFD(e.fd)
	e.fd = -1
	return err
}
