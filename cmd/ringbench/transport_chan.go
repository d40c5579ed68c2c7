//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// chanTransport is the in-process reference: a buffered Go channel between
// two goroutines of this process, one per direction for ping-pong.
//
// The channel carries []byte that point into a slab of capacity+2 buffers the
// sender reuses in turn: the sender copies the message in, the receiver copies
// it out, as with the ring's Send and Recv. capacity+2 buffers are enough: the
// sender is at most capacity messages ahead of the one the receiver is
// copying, and the Go memory model orders that copy before the channel send
// that reuses its buffer ("the kth receive on a channel with capacity C is
// synchronized before the completion of the k+Cth send").
type chanTransport struct{}

func init() { register(chanTransport{}) }

func (chanTransport) name() string { return "chan" }

func (chanTransport) describe(cfg config) string {
	return fmt.Sprintf("buffered Go channel (capacity %d) of reused buffers, copy in, copy out; two goroutines in one process", cfg.chanSlots())
}

func (chanTransport) open(_ context.Context, w workload, cfg config) (*link, error) {
	down := make(chan []byte, cfg.chanSlots())
	parent := &chanEnd{out: down, slab: newSlab(cfg.chanSlots()+2, cfg.size)}
	peer := &chanEnd{in: down}
	if w.twoWay() {
		up := make(chan []byte, cfg.chanSlots())
		parent.in = up
		peer.out, peer.slab = up, newSlab(cfg.chanSlots()+2, cfg.size)
	}
	return &link{parent: parent, local: peer}, nil
}

func (chanTransport) attach(context.Context, workload, peerConfig) (endpoint, error) {
	return nil, errors.New("chan transport runs in one process; it has no child")
}

// chanEnd is one goroutine's end: it sends on out and receives from in.
type chanEnd struct {
	out    chan []byte
	in     chan []byte
	slab   [][]byte
	next   int
	closed bool
}

func newSlab(n, size int) [][]byte {
	backing := make([]byte, n*size)
	slab := make([][]byte, n)
	for i := range slab {
		slab[i] = backing[i*size : (i+1)*size : (i+1)*size]
	}
	return slab
}

func (e *chanEnd) send(msg []byte) error {
	b := e.slab[e.next]
	if e.next++; e.next == len(e.slab) {
		e.next = 0
	}
	copy(b, msg)
	e.out <- b
	return nil
}

func (e *chanEnd) recv(buf []byte) error {
	b, ok := <-e.in
	if !ok {
		return io.EOF
	}
	if len(b) != len(buf) {
		return fmt.Errorf("chan: got a %d-byte message, want %d bytes", len(b), len(buf))
	}
	copy(buf, b)
	return nil
}

func (e *chanEnd) closeSend() error {
	if e.out != nil && !e.closed {
		e.closed = true
		close(e.out)
	}
	return nil
}

func (e *chanEnd) close() error { return e.closeSend() }
