//go:build linux

package medium

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Dgram is one side's unix datagram socket (socketpair(2), SOCK_DGRAM):
// one datagram per message, one send(2) and one recv(2) each. The end of
// the stream is a zero-length datagram (a message is at least 8 bytes),
// since a datagram socket has no end-of-file. A datagram must fit the
// sender's socket buffer whole: SetupDgram raises it for large messages (up
// to net.core.wmem_max), and a message that still does not fit is
// ErrUnsupported, not split.
type Dgram struct {
	ctx context.Context // its end lets a blocked call return
	fd  int
}

// NewDgram wraps socket fd; a blocked call returns once ctx is done (a
// child passes context.Background: its parent's death kills it).
func NewDgram(ctx context.Context, fd int) *Dgram { return &Dgram{ctx: ctx, fd: fd} }

// dgramTick bounds one blocking call (SO_RCVTIMEO, SO_SNDTIMEO): a datagram
// socket does not tell a blocked caller that its peer died, so the caller
// checks its ctx this often.
const dgramTick = 100 * time.Millisecond

// SetupDgram sets the timeouts and makes room for one size-byte datagram.
func SetupDgram(fd, size int) error {
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
		return fmt.Errorf("%w: a %d-byte datagram does not fit the largest socket send buffer (%d bytes; raise net.core.wmem_max)", ErrUnsupported, size, buf)
	}
	return nil
}

func (d *Dgram) Send(msg []byte) error {
	for {
		err := unix.Send(d.fd, msg, 0)
		if err == nil {
			return nil
		}
		if again, err := retry(d.ctx, "send", err, unix.EAGAIN); !again {
			return err
		}
	}
}

func (d *Dgram) Recv(buf []byte) error {
	for {
		// MSG_TRUNC: n is the datagram's real length, so a longer one
		// cannot pass for a message of the right size.
		n, _, err := unix.Recvfrom(d.fd, buf, unix.MSG_TRUNC)
		if err == nil {
			if n == 0 {
				return io.EOF
			}
			return checkLen("unixgram", n, len(buf))
		}
		if again, err := retry(d.ctx, "recv", err, unix.EAGAIN); !again {
			return err
		}
	}
}

// Close closes the socket.
func (d *Dgram) Close() error { return closeFD(&d.fd) }

// Sender is d as a Sender: its Close ends the stream, leaving the socket
// open for d's receiving side.
func (d *Dgram) Sender() Sender { return &ender{send: d.Send} }
