//go:build linux

package main

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

// mqTransport moves messages through POSIX message queues (mq_overview(7)):
// one queue for throughput, one per direction for the two-way workloads, one
// mq_timedsend(2) and one mq_timedreceive(2) per message. golang.org/x/sys
// has no wrappers, so the system calls are made directly.
//
// A queue is created under a unique name, which is unlinked at once; the
// queue descriptor (a file descriptor on Linux) is what the child inherits,
// as descriptors 3 and 4. The end of the stream is a zero-length message
// (a benchmark message is at least 8 bytes).
//
// The kernel bounds a queue: at most /proc/sys/fs/mqueue/msg_max messages of
// at most /proc/sys/fs/mqueue/msgsize_max bytes (10 and 8192 by default), and
// RLIMIT_MSGQUEUE bytes per user. A size beyond that is skipped, not failed.
type mqTransport struct{}

func init() { register(mqTransport{}) }

func (mqTransport) name() string { return "mq" }

func (mqTransport) describe(cfg config) string {
	return fmt.Sprintf("POSIX message queue, %d messages deep, one mq_timedsend(2)/mq_timedreceive(2) per message", mqDepth(cfg))
}

// mqDepth is the queue depth: the ring's slot count, capped by the
// unprivileged limit msg_max.
func mqDepth(cfg config) int {
	return min(cfg.ringSlots(), procInt("/proc/sys/fs/mqueue/msg_max", 10))
}

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

func (mqTransport) open(ctx context.Context, w workload, cfg config) (*link, error) {
	if max := procInt("/proc/sys/fs/mqueue/msgsize_max", 8192); cfg.size > max {
		return nil, fmt.Errorf("%w: a %d-byte message exceeds /proc/sys/fs/mqueue/msgsize_max (%d)", errUnsupported, cfg.size, max)
	}
	down, err := mqCreate(cfg.size, mqDepth(cfg))
	if err != nil {
		return nil, err
	}
	parent := &mqEnd{ctx: ctx, rfd: -1, wfd: down}
	if w.twoWay() {
		if parent.rfd, err = mqCreate(cfg.size, mqDepth(cfg)); err != nil {
			return nil, errors.Join(err, parent.close())
		}
	}
	// The child gets duplicates: measure closes l.files once it started.
	l := &link{parent: parent}
	for _, fd := range []int{parent.wfd, parent.rfd} {
		if fd < 0 {
			continue
		}
		d, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			closeFiles(l.files)
			return nil, errors.Join(os.NewSyscallError("fcntl F_DUPFD_CLOEXEC", err), parent.close())
		}
		l.files = append(l.files, os.NewFile(uintptr(d), "mq"))
	}
	return l, nil
}

func (mqTransport) attach(_ context.Context, w workload, _ peerConfig) (endpoint, error) {
	if !w.twoWay() {
		return &mqEnd{rfd: 3, wfd: -1}, nil
	}
	return &mqEnd{rfd: 3, wfd: 4}, nil
}

// mqAttr is struct mq_attr.
type mqAttr struct {
	Flags, MaxMsg, MsgSize, CurMsgs int64
	_                               [4]int64
}

// mqCreate makes a queue for size-byte messages, unlinks its name and
// returns its descriptor.
func mqCreate(size, depth int) (int, error) {
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
		return -1, fmt.Errorf("%w: this kernel has no POSIX message queues (mq_open: ENOSYS)", errUnsupported)
	case errno == unix.EINVAL || errno == unix.EMFILE || errno == unix.ENOMEM:
		return -1, fmt.Errorf("%w: mq_open of %d messages of %d bytes: %v (see /proc/sys/fs/mqueue and RLIMIT_MSGQUEUE)", errUnsupported, depth, size, errno)
	case errno != 0:
		return -1, os.NewSyscallError("mq_open", errno)
	}
	if _, _, errno := unix.Syscall(unix.SYS_MQ_UNLINK, uintptr(unsafe.Pointer(p)), 0, 0); errno != 0 {
		return -1, errors.Join(os.NewSyscallError("mq_unlink", errno), closeFD(int(fd)))
	}
	return int(fd), nil
}

// mqTick bounds one blocking call, so that a parent blocked on a queue
// notices a dead child (its ctx is cancelled); a queue, unlike a pipe,
// does not tell.
const mqTick = 100 * time.Millisecond

// mqEnd is one side's queues. Calls carry an absolute timeout, refreshed
// only after it expired, so the steady state reads no clock.
type mqEnd struct {
	ctx      context.Context // nil in the child: its parent's death kills it
	rfd, wfd int
	deadline unix.Timespec
	shut     bool
}

// retry says whether a call that failed with errno should be made again,
// refreshing the deadline when it expired.
func (e *mqEnd) retry(errno unix.Errno) (bool, error) {
	switch errno {
	case unix.EINTR:
		return true, nil
	case unix.ETIMEDOUT:
		if e.ctx != nil && e.ctx.Err() != nil {
			return false, e.ctx.Err()
		}
		e.deadline = unix.NsecToTimespec(time.Now().Add(mqTick).UnixNano())
		return true, nil
	}
	return false, nil
}

func (e *mqEnd) send(msg []byte) error {
	var p unsafe.Pointer
	if len(msg) > 0 {
		p = unsafe.Pointer(&msg[0])
	}
	for {
		_, _, errno := unix.Syscall6(unix.SYS_MQ_TIMEDSEND, uintptr(e.wfd), uintptr(p), uintptr(len(msg)), 0, uintptr(unsafe.Pointer(&e.deadline)), 0)
		if errno == 0 {
			return nil
		}
		if again, err := e.retry(errno); !again {
			if err == nil {
				err = os.NewSyscallError("mq_timedsend", errno)
			}
			return err
		}
	}
}

func (e *mqEnd) recv(buf []byte) error {
	for {
		n, _, errno := unix.Syscall6(unix.SYS_MQ_TIMEDRECEIVE, uintptr(e.rfd), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, uintptr(unsafe.Pointer(&e.deadline)), 0)
		if errno == 0 {
			switch {
			case n == 0:
				return io.EOF
			case int(n) != len(buf):
				return fmt.Errorf("mq: got a %d-byte message, want %d bytes", n, len(buf))
			}
			return nil
		}
		if again, err := e.retry(errno); !again {
			if err == nil {
				err = os.NewSyscallError("mq_timedreceive", errno)
			}
			return err
		}
	}
}

func (e *mqEnd) closeSend() error {
	if e.wfd < 0 || e.shut {
		return nil
	}
	e.shut = true
	return e.send(nil) // the end marker
}

func (e *mqEnd) close() error {
	var errs []error
	for _, fd := range []int{e.rfd, e.wfd} {
		if fd >= 0 {
			errs = append(errs, closeFD(fd))
		}
	}
	e.rfd, e.wfd = -1, -1
	return errors.Join(errs...)
}
