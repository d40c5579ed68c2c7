//go:build linux

package main

import (
	"context"
	"os"

	"golang.org/x/sys/unix"
)

// unixTransport moves messages through a connected pair of unix stream
// sockets (socketpair(2)); one pair carries both directions. The child gets
// its socket as descriptor 3.
type unixTransport struct{}

func init() { register(unixTransport{}) }

func (unixTransport) name() string { return "unix" }

func (unixTransport) describe(config) string {
	return "AF_UNIX SOCK_STREAM socketpair, one write(2)/read(2) per message"
}

func (unixTransport) open(context.Context, workload, config) (*link, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socketpair", err)
	}
	return &link{
		parent: newFDEnd(fds[0], fds[0], shutdownWrite),
		files:  []*os.File{os.NewFile(uintptr(fds[1]), "unix-child")},
	}, nil
}

func (unixTransport) attach(context.Context, workload, peerConfig) (endpoint, error) {
	fd, err := childFD(3)
	if err != nil {
		return nil, err
	}
	return newFDEnd(fd, fd, shutdownWrite), nil
}
