//go:build linux

package main

import (
	"fmt"
	"io"

	"github.com/shmring/shmring/internal/codec"
	"github.com/shmring/shmring/internal/medium"
)

// sender and receiver move codec messages (Put, Verify) over an end,
// through its zero-copy path when it has one: written straight into the
// ring slot and verified in place.

type sender struct {
	s   medium.Sender
	zc  medium.ZeroCopySender // nil: copy through msg
	msg []byte
}

func newSender(e *end, size int) *sender {
	s := &sender{s: e.s, msg: make([]byte, size)}
	if e.zeroCopy {
		s.zc, _ = e.s.(medium.ZeroCopySender)
	}
	return s
}

// send sends message number seq.
func (s *sender) send(seq uint64) error {
	if s.zc == nil {
		codec.Put(s.msg, codec.Header{Seq: seq})
		return s.s.Send(s.msg)
	}
	b, err := s.zc.Claim(len(s.msg))
	if err != nil {
		return err
	}
	codec.Put(b, codec.Header{Seq: seq})
	return s.zc.Commit(len(b))
}

type receiver struct {
	e   *end
	zc  medium.ZeroCopyReceiver // nil: copy into buf
	zs  medium.ZeroCopySender   // the way back of an echo, zero-copy
	buf []byte
}

func newReceiver(e *end, size int) *receiver {
	r := &receiver{e: e, buf: make([]byte, size)}
	if e.zeroCopy {
		r.zc, _ = e.r.(medium.ZeroCopyReceiver)
		r.zs, _ = e.s.(medium.ZeroCopySender)
	}
	return r
}

// lease is the next message: in place, or copied into buf.
func (r *receiver) lease(want uint64) ([]byte, error) {
	var m []byte
	var err error
	if r.zc == nil {
		m, err = r.buf, r.e.r.Recv(r.buf)
	} else {
		m, err = r.zc.Lease()
	}
	if err != nil {
		if err == io.EOF {
			return nil, err
		}
		return nil, fmt.Errorf("receive message %d: %w", want, err)
	}
	if len(m) != len(r.buf) {
		r.release()
		return nil, fmt.Errorf("%w: message %d is %d bytes, want %d", codec.ErrIntegrity, want, len(m), len(r.buf))
	}
	return m, nil
}

func (r *receiver) release() {
	if r.zc != nil {
		r.zc.Release()
	}
}

// recv receives message number want and checks it; with echo it sends it
// back, on the zero-copy path from the incoming slot to the outgoing one
// (one copy, the least an echo over two rings can do). io.EOF (unwrapped)
// at the end of the stream.
func (r *receiver) recv(want uint64, echo bool) error {
	m, err := r.lease(want)
	if err != nil {
		return err
	}
	defer r.release()
	if err := codec.Verify(m, codec.Header{Seq: want}); err != nil || !echo {
		return err
	}
	if r.zs == nil || r.zc == nil {
		err = r.e.s.Send(m)
	} else if out, cerr := r.zs.Claim(len(m)); cerr != nil {
		err = cerr
	} else {
		copy(out, m)
		err = r.zs.Commit(len(out))
	}
	if err != nil {
		return fmt.Errorf("echo message %d: %w", want, err)
	}
	return nil
}
