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
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The kernel's message queues: POSIX message queues and unix datagram
// sockets. Neither tells a blocked caller that its peer died, so every
// call times out after a tick and checks ctx; the end of the stream is a
// zero-length message.

// MQ is one side's POSIX message queues (mq_overview(7)): one
// mq_timedsend(2) and one mq_timedreceive(2) per message, made directly
// (golang.org/x/sys has no wrappers). A queue's name is unlinked at once;
// its descriptor is what a child inherits. The kernel bounds a queue
// (/proc/sys/fs/mqueue/msg_max messages of msgsize_max bytes, 10 and 8192
// by default, and RLIMIT_MSGQUEUE); beyond that is ErrUnsupported. Calls
// carry an absolute deadline, refreshed only after a call failed, so the
// steady state reads no clock.
type MQ struct {
	ctx      context.Context // a child's is context.Background: its parent's death kills it
	rfd, wfd int             // -1 when this side does not receive or send
	deadline unix.Timespec
}

// NewMQ wraps queue descriptors rfd and wfd (-1: none).
func NewMQ(ctx context.Context, rfd, wfd int) *MQ { return &MQ{ctx: ctx, rfd: rfd, wfd: wfd} }

// MQDepth is the deepest queue an unprivileged user gets, at most want.
func MQDepth(want int) int { return min(want, procInt("/proc/sys/fs/mqueue/msg_max", 10)) }

func procInt(path string, fallback int) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return fallback
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return fallback
	}
	return n
}

// mqAttr is struct mq_attr.
type mqAttr struct {
	Flags, MaxMsg, MsgSize, CurMsgs int64
	_                               [4]int64
}

// CreateMQ makes a queue of depth size-byte messages (named as createNamed
// says), unlinks its name and returns its descriptor.
func CreateMQ(size, depth int) (int, error) {
	if max := procInt("/proc/sys/fs/mqueue/msgsize_max", 8192); size > max {
		return -1, fmt.Errorf("%w: a %d-byte message exceeds /proc/sys/fs/mqueue/msgsize_max (%d)", ErrUnsupported, size, max)
	}
	fd := -1
	var p *byte // the name created
	_, err := createNamed("mq", func(name string) error {
		var err error
		if p, err = unix.BytePtrFromString(name); err != nil {
			return err
		}
		attr := mqAttr{MaxMsg: int64(depth), MsgSize: int64(size)}
		r, _, errno := unix.Syscall6(unix.SYS_MQ_OPEN, uintptr(unsafe.Pointer(p)),
			uintptr(unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC), 0o600, uintptr(unsafe.Pointer(&attr)), 0, 0)
		if errno != 0 {
			return errno
		}
		fd = int(r)
		return nil
	}, func(err error) bool { return errors.Is(err, unix.EEXIST) })
	var errno unix.Errno // the kernel's answer, if err is one
	errors.As(err, &errno)
	switch {
	case err == nil:
	case errno == unix.ENOSYS:
		return -1, fmt.Errorf("%w: this kernel has no POSIX message queues (mq_open: ENOSYS)", ErrUnsupported)
	case errno == unix.EINVAL || errno == unix.EMFILE || errno == unix.ENOMEM:
		return -1, fmt.Errorf("%w: mq_open of %d messages of %d bytes: %v (see /proc/sys/fs/mqueue and RLIMIT_MSGQUEUE)", ErrUnsupported, depth, size, errno)
	default:
		return -1, os.NewSyscallError("mq_open", err)
	}
	if _, _, errno := unix.Syscall(unix.SYS_MQ_UNLINK, uintptr(unsafe.Pointer(p)), 0, 0); errno != 0 {
		return -1, errors.Join(os.NewSyscallError("mq_unlink", errno), CloseFD(fd))
	}
	return fd, nil
}

// mqTick bounds one blocking call.
const mqTick = 100 * time.Millisecond

func (q *MQ) Send(msg []byte) error {
	var p unsafe.Pointer
	if len(msg) > 0 {
		p = unsafe.Pointer(&msg[0])
	}
	for {
		_, _, errno := unix.Syscall6(unix.SYS_MQ_TIMEDSEND, uintptr(q.wfd), uintptr(p), uintptr(len(msg)), 0, uintptr(unsafe.Pointer(&q.deadline)), 0)
		if errno == 0 {
			return nil
		}
		if again, err := q.retry("mq_timedsend", errno); !again {
			return err
		}
	}
}

func (q *MQ) Recv(buf []byte) error {
	for {
		n, _, errno := unix.Syscall6(unix.SYS_MQ_TIMEDRECEIVE, uintptr(q.rfd), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, uintptr(unsafe.Pointer(&q.deadline)), 0)
		if errno == 0 {
			if n == 0 {
				return io.EOF
			}
			return checkLen("mq", int(n), len(buf))
		}
		if again, err := q.retry("mq_timedreceive", errno); !again {
			return err
		}
	}
}

// Close closes the queue descriptors.
func (q *MQ) Close() error { return errors.Join(closeFD(&q.rfd), closeFD(&q.wfd)) }

// Sender is q as a Sender: its Close ends the stream.
func (q *MQ) Sender() Sender { return &ender{send: q.Send} }

// retry is the package's retry, the deadline refreshed for the next call.
func (q *MQ) retry(op string, errno unix.Errno) (bool, error) {
	q.deadline = unix.NsecToTimespec(time.Now().Add(mqTick).UnixNano())
	return retry(q.ctx, op, errno, unix.ETIMEDOUT)
}

// Dgram is one side's unix datagram socket: one send(2) and one recv(2)
// per message. A datagram must fit the sender's socket buffer whole:
// SetupDgram raises it (up to net.core.wmem_max), and a message that still
// does not fit is ErrUnsupported, not split.
type Dgram struct {
	ctx context.Context // its end lets a blocked call return
	fd  int
}

// NewDgram wraps socket fd; a blocked call returns once ctx is done.
func NewDgram(ctx context.Context, fd int) *Dgram { return &Dgram{ctx: ctx, fd: fd} }

// dgramTick bounds one blocking call (SO_RCVTIMEO, SO_SNDTIMEO).
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

// Sender is d as a Sender: its Close ends the stream, not the socket.
func (d *Dgram) Sender() Sender { return &ender{send: d.Send} }

// retry says whether a call that failed with err should be made again:
// after EINTR, or after timeout (its tick passed) while ctx lasts.
func retry(ctx context.Context, op string, err, timeout error) (bool, error) {
	switch err {
	case unix.EINTR:
		return true, nil
	case timeout:
		return ctx.Err() == nil, ctx.Err()
	}
	return false, os.NewSyscallError(op, err)
}

// ender is a Sender whose Close sends the end of the stream, an empty
// message, once.
type ender struct {
	send func([]byte) error
	done bool
}

func (e *ender) Send(msg []byte) error { return e.send(msg) }

func (e *ender) Close() error {
	if e.done {
		return nil
	}
	e.done = true
	return e.send(nil)
}
