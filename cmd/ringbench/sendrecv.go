//go:build linux

package main

import (
	"fmt"
	"io"
)

// sender and receiver move stamped messages over an endpoint, through its
// zero-copy path when it has one: the sender then stamps the message straight
// into the transport's buffer (a ring slot) and the receiver verifies it in
// place, so no copy happens that the transport does not make itself.

type sender struct {
	ep  endpoint
	zc  zeroCopier // nil: copy through msg
	msg []byte
}

func newSender(ep endpoint, size int) *sender {
	s := &sender{ep: ep, msg: make([]byte, size)}
	s.zc, _ = ep.(zeroCopier)
	return s
}

// send sends message number seq.
func (s *sender) send(seq uint64) error {
	if s.zc == nil {
		stamp(s.msg, seq)
		return s.ep.send(s.msg)
	}
	b, err := s.zc.claim(len(s.msg))
	if err != nil {
		return err
	}
	stamp(b, seq)
	return s.zc.commit(len(b))
}

type receiver struct {
	ep  endpoint
	zc  zeroCopier // nil: copy into buf
	buf []byte
}

func newReceiver(ep endpoint, size int) *receiver {
	r := &receiver{ep: ep, buf: make([]byte, size)}
	r.zc, _ = ep.(zeroCopier)
	return r
}

// recv receives the next message and checks that it is message number
// want; io.EOF (unwrapped) at the end of the stream.
func (r *receiver) recv(want uint64) error {
	if r.zc == nil {
		if err := r.ep.recv(r.buf); err != nil {
			return wrapRecv(err, want)
		}
		return verify(r.buf, want)
	}
	m, err := r.zc.lease()
	if err != nil {
		return wrapRecv(err, want)
	}
	err = r.checkLen(m, want)
	if err == nil {
		err = verify(m, want)
	}
	r.zc.release()
	return err
}

// echo receives message number want, checks it and sends it back. On the
// zero-copy path the message goes from the incoming slot to the outgoing
// one with one copy, the least an echo over two rings can do.
func (r *receiver) echo(want uint64) error {
	if r.zc == nil {
		if err := r.ep.recv(r.buf); err != nil {
			return wrapRecv(err, want)
		}
		if err := verify(r.buf, want); err != nil {
			return err
		}
		if err := r.ep.send(r.buf); err != nil {
			return fmt.Errorf("echo message %d: %w", want, err)
		}
		return nil
	}
	m, err := r.zc.lease()
	if err != nil {
		return wrapRecv(err, want)
	}
	if err := r.checkLen(m, want); err != nil {
		r.zc.release()
		return err
	}
	if err := verify(m, want); err != nil {
		r.zc.release()
		return err
	}
	out, err := r.zc.claim(len(m))
	if err != nil {
		r.zc.release()
		return fmt.Errorf("echo message %d: %w", want, err)
	}
	copy(out, m)
	r.zc.release()
	return r.zc.commit(len(out))
}

func (r *receiver) checkLen(m []byte, seq uint64) error {
	if len(m) != len(r.buf) {
		return fmt.Errorf("%w: message %d is %d bytes, want %d", errIntegrity, seq, len(m), len(r.buf))
	}
	return nil
}

// wrapRecv names the message a receive failed on, leaving io.EOF as it is.
func wrapRecv(err error, seq uint64) error {
	if err == io.EOF {
		return err
	}
	return fmt.Errorf("receive message %d: %w", seq, err)
}
