//go:build linux

package main

import (
	"context"
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// tcpTransport moves messages over a TCP connection on the loopback
// interface, with TCP_NODELAY so that every write leaves at once. The parent
// connects to a listener on 127.0.0.1 and hands the accepted socket to the
// child as descriptor 3.
type tcpTransport struct{}

func init() { register(tcpTransport{}) }

func (tcpTransport) name() string { return "tcp" }

func (tcpTransport) describe(config) string {
	return "TCP over 127.0.0.1, TCP_NODELAY, one write(2)/read(2) per message"
}

func (tcpTransport) open(context.Context, workload, config) (*link, error) {
	client, server, err := loopbackPair()
	if err != nil {
		return nil, err
	}
	return &link{
		parent: newFDEnd(client, client, shutdownWrite),
		files:  []*os.File{os.NewFile(uintptr(server), "tcp-child")},
	}, nil
}

func (tcpTransport) attach(context.Context, workload, peerConfig) (endpoint, error) {
	fd, err := childFD(3)
	if err != nil {
		return nil, err
	}
	return newFDEnd(fd, fd, shutdownWrite), nil
}

// loopbackPair returns both ends of a fresh TCP connection over 127.0.0.1,
// blocking, close-on-exec, with Nagle's algorithm off.
func loopbackPair() (client, server int, err error) {
	client, server = -1, -1
	ln, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, -1, os.NewSyscallError("socket", err)
	}
	defer unix.Close(ln)
	fail := func(op string, e error) (int, int, error) {
		var errs []error
		errs = append(errs, os.NewSyscallError(op, e))
		if client >= 0 {
			errs = append(errs, closeFD(client))
		}
		if server >= 0 {
			errs = append(errs, closeFD(server))
		}
		return -1, -1, errors.Join(errs...)
	}
	if e := unix.Bind(ln, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); e != nil {
		return fail("bind", e)
	}
	if e := unix.Listen(ln, 1); e != nil {
		return fail("listen", e)
	}
	addr, e := unix.Getsockname(ln)
	if e != nil {
		return fail("getsockname", e)
	}
	if client, e = unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0); e != nil {
		client = -1
		return fail("socket", e)
	}
	if e := unix.Connect(client, addr); e != nil { // completes against the backlog
		return fail("connect", e)
	}
	if server, _, e = unix.Accept4(ln, unix.SOCK_CLOEXEC); e != nil {
		server = -1
		return fail("accept4", e)
	}
	for _, fd := range []int{client, server} {
		if e := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1); e != nil {
			return fail("setsockopt TCP_NODELAY", e)
		}
	}
	return client, server, nil
}
