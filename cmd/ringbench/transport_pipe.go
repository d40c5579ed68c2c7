//go:build linux

package main

import (
	"context"
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// pipeTransport moves messages through pipe(2)s: one for throughput, one per
// direction for ping-pong. The child reads descriptor 3 and, for ping-pong,
// writes descriptor 4.
type pipeTransport struct{}

func init() { register(pipeTransport{}) }

func (pipeTransport) name() string { return "pipe" }

func (pipeTransport) describe(config) string {
	return "pipe(2), one write(2) and one read(2) per message"
}

func (pipeTransport) open(_ context.Context, w workload, _ config) (*link, error) {
	down, err := newPipe() // parent → child
	if err != nil {
		return nil, err
	}
	if !w.twoWay() {
		return &link{
			parent: newFDEnd(-1, down[1], closeFD),
			files:  []*os.File{os.NewFile(uintptr(down[0]), "pipe-down-r")},
		}, nil
	}
	up, err := newPipe() // child → parent
	if err != nil {
		return nil, errors.Join(err, closeFD(down[0]), closeFD(down[1]))
	}
	return &link{
		parent: newFDEnd(up[0], down[1], closeFD),
		files: []*os.File{
			os.NewFile(uintptr(down[0]), "pipe-down-r"),
			os.NewFile(uintptr(up[1]), "pipe-up-w"),
		},
	}, nil
}

func (pipeTransport) attach(_ context.Context, w workload, _ peerConfig) (endpoint, error) {
	r, err := childFD(3)
	if err != nil {
		return nil, err
	}
	if !w.twoWay() {
		return newFDEnd(r, -1, closeFD), nil
	}
	wfd, err := childFD(4)
	if err != nil {
		return nil, err
	}
	return newFDEnd(r, wfd, closeFD), nil
}

// newPipe returns a blocking pipe whose descriptors are not inherited unless
// passed on purpose: [0] reads, [1] writes.
func newPipe() ([2]int, error) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return p, os.NewSyscallError("pipe2", err)
	}
	return p, nil
}
