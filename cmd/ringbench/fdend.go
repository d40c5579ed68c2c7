//go:build linux

package main

import (
	"errors"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// fdEnd is an end over blocking file descriptors (pipes and sockets): one
// write(2) per message, one read(2) per message. The descriptors are used
// with raw system calls, not through os.File and the Go netpoller, so a
// message costs what it costs a C program: the call and, when the other side
// has to run, a kernel wake-up.
type fdEnd struct {
	rfd, wfd int // -1 when this end does not read or write
	// shut ends the sending direction: close(2) for a pipe, shutdown(2) for
	// a socket whose descriptor also reads.
	shut     func(fd int) error
	shutDone bool
}

func newFDEnd(rfd, wfd int, shut func(fd int) error) *fdEnd {
	return &fdEnd{rfd: rfd, wfd: wfd, shut: shut}
}

func (e *fdEnd) send(msg []byte) error {
	for len(msg) > 0 { // a pipe write up to PIPE_BUF is whole; larger ones may be split
		n, err := unix.Write(e.wfd, msg)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return os.NewSyscallError("write", err)
		}
		msg = msg[n:]
	}
	return nil
}

func (e *fdEnd) recv(buf []byte) error {
	got := 0
	for got < len(buf) { // asks for one message, never more
		n, err := unix.Read(e.rfd, buf[got:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return os.NewSyscallError("read", err)
		}
		if n == 0 {
			if got == 0 {
				return io.EOF
			}
			return io.ErrUnexpectedEOF
		}
		got += n
	}
	return nil
}

func (e *fdEnd) closeSend() error {
	if e.wfd < 0 || e.shutDone {
		return nil
	}
	e.shutDone = true
	fd := e.wfd
	if fd != e.rfd {
		e.wfd = -1
	}
	return e.shut(fd)
}

func (e *fdEnd) close() error {
	var errs []error
	if e.wfd >= 0 && e.wfd != e.rfd {
		errs = append(errs, closeFD(e.wfd))
	}
	if e.rfd >= 0 {
		errs = append(errs, closeFD(e.rfd))
	}
	e.rfd, e.wfd = -1, -1
	return errors.Join(errs...)
}

func closeFD(fd int) error {
	return os.NewSyscallError("close", unix.Close(fd))
}

func shutdownWrite(fd int) error {
	return os.NewSyscallError("shutdown", unix.Shutdown(fd, unix.SHUT_WR))
}

// childFD returns inherited descriptor fd (3, 4, …) in blocking mode.
func childFD(fd int) (int, error) {
	if err := unix.SetNonblock(fd, false); err != nil {
		return -1, os.NewSyscallError("fcntl", err)
	}
	return fd, nil
}
