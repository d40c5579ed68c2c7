//go:build linux

package medium

import (
	"errors"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// FDSender and FDReceiver are ends over blocking pipes and stream sockets:
// one write(2) and one read(2) per message (more only when the kernel
// splits a large one), raw system calls rather than os.File and the
// netpoller, so a message costs what it costs a C program.
type FDSender struct {
	fd   int
	shut func(fd int) error // ends the stream: close(2), or shutdown(2) of a socket that also reads
	done bool
}

// NewPipeSender writes the pipe end fd; Close closes it.
func NewPipeSender(fd int) *FDSender { return &FDSender{fd: fd, shut: CloseFD} }

// NewSocketSender writes socket fd; Close shuts its sending direction
// (shutdown(2)), leaving the descriptor to its receiving side or owner.
func NewSocketSender(fd int) *FDSender { return &FDSender{fd: fd, shut: shutdownWrite} }

func (s *FDSender) Send(msg []byte) error {
	for len(msg) > 0 { // a pipe write up to PIPE_BUF is whole; larger ones may be split
		n, err := unix.Write(s.fd, msg)
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

func (s *FDSender) Close() error {
	if s.done {
		return nil
	}
	s.done = true
	return s.shut(s.fd)
}

// FDReceiver reads messages from fd; Close closes fd.
type FDReceiver struct{ fd int }

func NewFDReceiver(fd int) *FDReceiver { return &FDReceiver{fd: fd} }

func (r *FDReceiver) Recv(buf []byte) error {
	got := 0
	for got < len(buf) { // asks for one message, never more
		n, err := unix.Read(r.fd, buf[got:])
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

// Lag is the bytes queued in a socket, in messages of size bytes (SIOCINQ,
// unix(7)).
func (r *FDReceiver) lag(size int) (uint64, bool) {
	n, err := unix.IoctlGetInt(r.fd, unix.SIOCINQ)
	if err != nil || n < 0 {
		return 0, false
	}
	return uint64(n / size), true
}

func (r *FDReceiver) Close() error { return closeFD(&r.fd) }

// SocketReceiver is an FDReceiver of a stream socket that knows its
// messages' size, so that it can tell its lag.
type SocketReceiver struct {
	*FDReceiver
	Size int
}

func (r SocketReceiver) Lag() (uint64, bool) { return r.lag(r.Size) }

// CloseFD closes fd, as an *os.SyscallError.
func CloseFD(fd int) error { return os.NewSyscallError("close", unix.Close(fd)) }

// closeFD closes *fd once, then sets it to -1.
func closeFD(fd *int) error {
	if *fd < 0 {
		return nil
	}
	err := CloseFD(*fd)
	*fd = -1
	return err
}

func shutdownWrite(fd int) error {
	return os.NewSyscallError("shutdown", unix.Shutdown(fd, unix.SHUT_WR))
}

// Inherited returns descriptor fd (3, 4, … in a child) in blocking mode.
func Inherited(fd int) (int, error) {
	if err := unix.SetNonblock(fd, false); err != nil {
		return -1, os.NewSyscallError("fcntl", err)
	}
	return fd, nil
}

// Pipe returns a blocking pipe whose descriptors are not inherited unless
// passed on purpose: [0] reads, [1] writes.
func Pipe() ([2]int, error) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return p, os.NewSyscallError("pipe2", err)
	}
	return p, nil
}

// SocketPair returns a connected pair of unix sockets of typ
// (unix.SOCK_STREAM or unix.SOCK_DGRAM), close-on-exec.
func SocketPair(typ int) ([2]int, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fds, os.NewSyscallError("socketpair", err)
	}
	return fds, nil
}

// LoopbackPair returns both ends of a fresh TCP connection over 127.0.0.1,
// blocking, close-on-exec, with Nagle's algorithm off so that every write
// leaves at once.
func LoopbackPair() (fds [2]int, err error) {
	fds = [2]int{-1, -1}
	ln, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fds, os.NewSyscallError("socket", err)
	}
	defer unix.Close(ln)
	defer func() {
		if err != nil {
			for _, fd := range fds {
				if fd >= 0 {
					err = errors.Join(err, CloseFD(fd))
				}
			}
			fds = [2]int{-1, -1}
		}
	}()
	if err := unix.Bind(ln, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return fds, os.NewSyscallError("bind", err)
	}
	if err := unix.Listen(ln, 1); err != nil {
		return fds, os.NewSyscallError("listen", err)
	}
	addr, err := unix.Getsockname(ln)
	if err != nil {
		return fds, os.NewSyscallError("getsockname", err)
	}
	if fds[0], err = unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0); err != nil {
		fds[0] = -1
		return fds, os.NewSyscallError("socket", err)
	}
	if err := unix.Connect(fds[0], addr); err != nil { // completes against the backlog
		return fds, os.NewSyscallError("connect", err)
	}
	if fds[1], _, err = unix.Accept4(ln, unix.SOCK_CLOEXEC); err != nil {
		fds[1] = -1
		return fds, os.NewSyscallError("accept4", err)
	}
	for _, fd := range fds {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1); err != nil {
			return fds, os.NewSyscallError("setsockopt TCP_NODELAY", err)
		}
	}
	return fds, nil
}
