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
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// MQ is one side's POSIX message queues (mq_overview(7)): one
// mq_timedsend(2) and one mq_timedreceive(2) per message. golang.org/x/sys
// has no wrappers, so the system calls are made directly. A queue is created
// under a unique name that is unlinked at once; its descriptor (a file
// descriptor on Linux) is what a child inherits. The end of the stream is a
// zero-length message.
//
// The kernel bounds a queue: at most /proc/sys/fs/mqueue/msg_max messages
// of at most msgsize_max bytes (10 and 8192 by default), and
// RLIMIT_MSGQUEUE bytes per user; beyond that is ErrUnsupported.
//
// Calls carry an absolute timeout, refreshed only after a call failed, so the
// steady state reads no clock; on expiry a parent's MQ checks its ctx, since
// a queue, unlike a pipe, does not tell that the peer died.
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

var mqSeq atomic.Uint64

// mqAttr is struct mq_attr.
type mqAttr struct {
	Flags, MaxMsg, MsgSize, CurMsgs int64
	_                               [4]int64
}

// CreateMQ makes a queue of depth size-byte messages, unlinks its name and
// returns its descriptor.
func CreateMQ(size, depth int) (int, error) {
	if max := procInt("/proc/sys/fs/mqueue/msgsize_max", 8192); size > max {
		return -1, fmt.Errorf("%w: a %d-byte message exceeds /proc/sys/fs/mqueue/msgsize_max (%d)", ErrUnsupported, size, max)
	}
	name := fmt.Sprintf("ringbench-%d-%d", os.Getpid(), mqSeq.Add(1))
	p, err := unix.BytePtrFromString(name)
	if err != nil {
		return -1, err
	}
	attr := mqAttr{MaxMsg: int64(depth), MsgSize: int64(size)}
	fd, _, errno := unix.Syscall6(unix.SYS_MQ_OPEN, uintptr(unsafe.Pointer(p)),
		uintptr(unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC), 0o600, uintptr(unsafe.Pointer(&attr)), 0, 0)
	switch {
	case errno == unix.ENOSYS:
		return -1, fmt.Errorf("%w: this kernel has no POSIX message queues (mq_open: ENOSYS)", ErrUnsupported)
	case errno == unix.EINVAL || errno == unix.EMFILE || errno == unix.ENOMEM:
		return -1, fmt.Errorf("%w: mq_open of %d messages of %d bytes: %v (see /proc/sys/fs/mqueue and RLIMIT_MSGQUEUE)", ErrUnsupported, depth, size, errno)
	case errno != 0:
		return -1, os.NewSyscallError("mq_open", errno)
	}
	if _, _, errno := unix.Syscall(unix.SYS_MQ_UNLINK, uintptr(unsafe.Pointer(p)), 0, 0); errno != 0 {
		return -1, errors.Join(os.NewSyscallError("mq_unlink", errno), CloseFD(int(fd)))
	}
	return int(fd), nil
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
