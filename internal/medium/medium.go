//go:build linux

// Package medium is the one way ringbench moves messages, whatever carries
// them and whatever the shape: a shmring ring of any kind, a pipe, a unix
// stream or datagram socket, a POSIX message queue, TCP over loopback, or a
// Go channel; one to one, many to many, or one to many. Every call moves
// exactly one whole message: no medium batches behind the caller's back.
//
// A Sender and a Receiver are one worker's handles. The optional
// interfaces (ZeroCopySender, ZeroCopyReceiver, Lagger, Counted) are what a
// medium offers beyond that, and the loops use them when it has them.
//
// When not to use this: outside measurements. It adds an interface call to
// every message, which a program that knows its transport does not need.
package medium

import (
	"context"
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/shmring/shmring/internal/codec"
)

// A Sender sends whole messages.
type Sender interface {
	// Send sends msg as one message; it blocks while the medium is full.
	Send(msg []byte) error
	// Close ends this sender's stream: once every sender closed and all
	// was received, receivers read io.EOF. Idempotent.
	Close() error
}

// A Receiver receives whole messages.
type Receiver interface {
	// Recv fills buf with exactly one message of len(buf) bytes. It returns
	// io.EOF, and nothing else, when the stream ended cleanly between
	// messages, and a *LapError, leaving buf alone, when a lossy reader was
	// overrun.
	Recv(buf []byte) error
	// Close releases the receiving side.
	Close() error
}

// A ZeroCopySender lends the medium's own memory (a ring slot): Claim
// returns n bytes to write the next message into, Commit sends them.
type ZeroCopySender interface {
	Claim(n int) ([]byte, error)
	Commit(n int) error
}

// A ZeroCopyReceiver lends the next message in place (io.EOF at the end of
// the stream) until Release.
type ZeroCopyReceiver interface {
	Lease() ([]byte, error)
	Release()
}

// A Lagger tells how many messages wait for this receiver, when the medium
// knows.
type Lagger interface {
	Lag() (uint64, bool)
}

// Counted is a handle that reports its own counters after a run (a ring's
// sleeps and wakes).
type Counted interface {
	Counters() []Counter
}

// A Counter is one named figure a handle reports.
type Counter struct {
	Name  string `json:"name"`
	Value uint64 `json:"value"`
}

// Get is the value of the counter called name in cs, 0 if absent.
func Get(cs []Counter, name string) uint64 {
	for _, c := range cs {
		if c.Name == name {
			return c.Value
		}
	}
	return 0
}

// A LapError says a lossy reader was overrun and missed messages.
type LapError struct{ Missed uint64 }

func (e *LapError) Error() string { return fmt.Sprintf("lapped: missed %d messages", e.Missed) }

// ErrUnsupported marks a medium that cannot carry a run as configured (a
// message larger than the kernel lets a queue hold): the run is skipped with
// the reason, not failed.
var ErrUnsupported = errors.New("not supported here")

// checkLen: a message of the wrong length is not the one sent.
func checkLen(kind string, got, want int) error {
	if got != want {
		return fmt.Errorf("%w: %s: got a %d-byte message, want %d bytes", codec.ErrIntegrity, kind, got, want)
	}
	return nil
}

// retry says whether a call that failed with err should be made again:
// after EINTR, or after timeout (its tick passed) while ctx lasts. Neither
// a datagram socket nor a queue tells a blocked caller that its peer died.
func retry(ctx context.Context, op string, err, timeout error) (bool, error) {
	switch err {
	case unix.EINTR:
		return true, nil
	case timeout:
		return ctx.Err() == nil, ctx.Err()
	}
	return false, os.NewSyscallError(op, err)
}

// ender is a Sender whose Close sends the end of the stream, an empty
// message, once.
type ender struct {
	send func([]byte) error
	done bool
}

func (e *ender) Send(msg []byte) error { return e.send(msg) }

func (e *ender) Close() error {
	if e.done {
		return nil
	}
	e.done = true
	return e.send(nil)
}
