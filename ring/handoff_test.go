//go:build linux

package ring

// SendRing and RecvRing over a socketpair: a ring goes through whole, and a
// message that is not one ring handed off is ErrHandoff with every
// descriptor it carried closed.

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// socketType is a unix socket type, named for subtests.
type socketType struct {
	name string
	typ  int
}

// streamAndSeqpacket are the socket types that keep a connection, which a
// handoff goes over.
var streamAndSeqpacket = []socketType{{"stream", unix.SOCK_STREAM}, {"seqpacket", unix.SOCK_SEQPACKET}}

// socketPair is a connected pair of unix sockets of type typ (SOCK_STREAM,
// SOCK_SEQPACKET), closed when the test ends.
func socketPair(t *testing.T, typ int) (a, b *net.UnixConn) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	conn := func(fd int) *net.UnixConn {
		f := os.NewFile(uintptr(fd), "socketpair")
		defer f.Close() // FileConn keeps a dup
		c, err := net.FileConn(f)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c.(*net.UnixConn)
	}
	return conn(fds[0]), conn(fds[1])
}

func TestHandoffSendRingRecvRingPassesTheRing(t *testing.T) {
	for _, typ := range streamAndSeqpacket {
		t.Run(typ.name, func(t *testing.T) {
			r := newMemfdRing(t, Options{Kind: SPSC, SlotSize: 64, Slots: 8})
			a, b := socketPair(t, typ.typ)
			before := descriptorsOf(t, r.Name())
			if err := SendRing(a, r); err != nil {
				t.Fatalf("SendRing: %v", err)
			}
			got, err := RecvRing(b)
			if err != nil {
				t.Fatalf("RecvRing: %v", err)
			}
			if got.Name() != r.Name() || got.Header() != r.Header() {
				t.Errorf("received ring %q with header %+v, want %q with %+v", got.Name(), got.Header(), r.Name(), r.Header())
			}
			p := mustProducer(t, r)
			passOne(t, p, mustConsumer(t, got), 1, 40)
			mustBeSealed(t, "the receiver", got.File(), int64(got.Header().FileSize))
			p.Close() // its role lock is a descriptor of the memfd too
			got.Close()
			if after := descriptorsOf(t, r.Name()); after != before {
				t.Errorf("%d descriptors of the memfd before SendRing, %d once the received ring closed", before, after)
			}
		})
	}
}

// TestHandoffRecvRingRefusesMessagesThatAreNotOneRing: no descriptor, two,
// more than a message has room for, the wrong bytes, a peer that hung up:
// each a typed error, and the receiver holds no descriptor of what came.
func TestHandoffRecvRingRefusesMessagesThatAreNotOneRing(t *testing.T) {
	r := newMemfdRing(t, Options{Kind: SPSC, SlotSize: 64, Slots: 8})
	fd := int(r.File().Fd())
	nine := make([]int, 9)
	for i := range nine {
		nine[i] = fd
	}
	tests := []struct {
		name  string
		bytes []byte
		fds   []int
	}{
		{"the token and no descriptor", handoffToken, nil},
		{"the token and two descriptors", handoffToken, []int{fd, fd}},
		{"the token and nine descriptors", handoffToken, nine},
		{"other bytes and one descriptor", []byte("shmring\x02"), []int{fd}},
		{"a shorter message and one descriptor", []byte("shm"), []int{fd}},
		// Go's WriteMsgUnix sends one zero byte with control data on a
		// connected socket (an empty message with a descriptor is
		// rawSendmsg's case below).
		{"one zero byte and one descriptor", nil, []int{fd}},
	}
	for _, typ := range streamAndSeqpacket {
		for _, tt := range tests {
			t.Run(typ.name+"/"+tt.name, func(t *testing.T) {
				a, b := socketPair(t, typ.typ)
				before := descriptorsOf(t, r.Name())
				var oob []byte
				if tt.fds != nil {
					oob = unix.UnixRights(tt.fds...)
				}
				if _, _, err := a.WriteMsgUnix(tt.bytes, oob, nil); err != nil {
					t.Fatal(err)
				}
				a.Close() // a stream's short message must not wait for more
				got, err := RecvRing(b)
				if err == nil {
					got.Close()
					t.Fatalf("RecvRing of %s succeeded, want ErrHandoff", tt.name)
				}
				if !errors.Is(err, ErrHandoff) {
					t.Errorf("RecvRing of %s = %v, want ErrHandoff", tt.name, err)
				}
				if after := descriptorsOf(t, r.Name()); after != before {
					t.Errorf("%d descriptors of the memfd before, %d after: RecvRing leaked %d", before, after, after-before)
				}
			})
		}
	}
	t.Run("seqpacket/a longer message and one descriptor", func(t *testing.T) {
		a, b := socketPair(t, unix.SOCK_SEQPACKET)
		if _, _, err := a.WriteMsgUnix(append(append([]byte{}, handoffToken...), "xyz"...), unix.UnixRights(fd), nil); err != nil {
			t.Fatal(err)
		}
		got, err := RecvRing(b)
		if err == nil {
			got.Close()
			t.Fatal("RecvRing of a longer message succeeded, want ErrHandoff")
		}
		if !errors.Is(err, ErrHandoff) || !strings.Contains(err.Error(), "longer") {
			t.Errorf("RecvRing of a longer message = %v, want ErrHandoff saying it was longer", err)
		}
	})
	for _, typ := range streamAndSeqpacket {
		t.Run(typ.name+"/a peer that hung up", func(t *testing.T) {
			a, b := socketPair(t, typ.typ)
			a.Close()
			if _, err := RecvRing(b); !errors.Is(err, io.EOF) {
				t.Errorf("RecvRing from a closed peer = %v, want io.EOF", err)
			}
		})
	}
	// A seqpacket or datagram socket carries empty messages: one from a
	// peer still there is a message that is not a ring, not a hang-up (a
	// black-box tester: it read as "connection closed").
	for _, typ := range []socketType{{"seqpacket", unix.SOCK_SEQPACKET}, {"datagram", unix.SOCK_DGRAM}} {
		t.Run(typ.name+"/an empty message from a peer still there", func(t *testing.T) {
			a, b := socketPair(t, typ.typ)
			if _, _, err := a.WriteMsgUnix(nil, nil, nil); err != nil {
				t.Fatal(err)
			}
			_, err := RecvRing(b)
			if !errors.Is(err, ErrHandoff) || errors.Is(err, io.EOF) {
				t.Errorf("RecvRing of an empty message = %v, want ErrHandoff, not io.EOF", err)
			}
		})
	}
	// An empty message that carries a descriptor (sent with sendmsg(2)
	// itself: Go's wrappers add a byte) leaks none, with its sender still
	// there or gone.
	for _, gone := range []bool{false, true} {
		t.Run(fmt.Sprintf("seqpacket/an empty message and one descriptor, sender gone=%v", gone), func(t *testing.T) {
			a, b := socketPair(t, unix.SOCK_SEQPACKET)
			before := descriptorsOf(t, r.Name())
			rawSendmsg(t, a, unix.UnixRights(fd))
			if gone {
				a.Close()
			}
			if _, err := RecvRing(b); !errors.Is(err, ErrHandoff) {
				t.Errorf("RecvRing of an empty message with a descriptor = %v, want ErrHandoff", err)
			}
			if after := descriptorsOf(t, r.Name()); after != before {
				t.Errorf("%d descriptors of the memfd before, %d after: RecvRing leaked %d", before, after, after-before)
			}
		})
	}
	// An empty message, a handoff, then the peer gone: the empty message
	// is no hang-up while the handoff waits behind it (a reviewer).
	t.Run("seqpacket/an empty message, a ring, a hang-up", func(t *testing.T) {
		a, b := socketPair(t, unix.SOCK_SEQPACKET)
		if _, _, err := a.WriteMsgUnix(nil, nil, nil); err != nil {
			t.Fatal(err)
		}
		if err := SendRing(a, r); err != nil {
			t.Fatal(err)
		}
		a.Close()
		if _, err := RecvRing(b); !errors.Is(err, ErrHandoff) || errors.Is(err, io.EOF) {
			t.Errorf("RecvRing of the empty message = %v, want ErrHandoff, not io.EOF", err)
		}
		got, err := RecvRing(b)
		if err != nil {
			t.Fatalf("RecvRing of the ring behind the empty message: %v", err)
		}
		got.Close()
		if _, err := RecvRing(b); !errors.Is(err, io.EOF) {
			t.Errorf("RecvRing after the last message = %v, want io.EOF", err)
		}
	})
	t.Run("a closed ring", func(t *testing.T) {
		a, _ := socketPair(t, unix.SOCK_STREAM)
		closed := newMemfdRing(t, Options{Kind: SPSC, SlotSize: 64, Slots: 8})
		closed.Close()
		if err := SendRing(a, closed); !errors.Is(err, ErrClosed) {
			t.Errorf("SendRing of a closed ring = %v, want ErrClosed", err)
		}
	})
}

// TestHandoffTokenIsTheOneLAYOUTmdGives: a C peer sends and expects the
// bytes LAYOUT.md spells out.
func TestHandoffTokenIsTheOneLAYOUTmdGives(t *testing.T) {
	doc, err := os.ReadFile("../LAYOUT.md")
	if err != nil {
		t.Fatal(err)
	}
	hex := strings.TrimSpace(fmt.Sprintf("% x", handoffToken))
	if !strings.Contains(string(doc), "`"+hex+"`") {
		t.Errorf("LAYOUT.md does not give the handoff token's bytes `%s`", hex)
	}
}

// TestHandoffRecvRingWithBadOptionsLeavesTheRingOnTheConnection: options
// that mean nothing are refused before the ring is taken from the
// connection, so a RecvRing with good ones still gets it.
func TestHandoffRecvRingWithBadOptionsLeavesTheRingOnTheConnection(t *testing.T) {
	r := newMemfdRing(t, Options{Kind: SPSC, SlotSize: 64, Slots: 8})
	a, b := socketPair(t, unix.SOCK_SEQPACKET)
	if err := SendRing(a, r); err != nil {
		t.Fatalf("SendRing: %v", err)
	}
	if got, err := RecvRingWith(b, OpenOptions{MaxFileSize: -1}); !errors.Is(err, ErrInvalid) {
		if err == nil {
			got.Close()
		}
		t.Fatalf("RecvRingWith a negative MaxFileSize = %v, want ErrInvalid", err)
	}
	got, err := RecvRing(b)
	if err != nil {
		t.Fatalf("RecvRing after a refused RecvRingWith: %v, want the ring still on the connection", err)
	}
	got.Close()
}

// rawSendmsg sends a message of no bytes with control data oob on conn by
// sendmsg(2) itself: unix.Sendmsg and WriteMsgUnix add a zero byte to
// such a message on a connected socket.
func rawSendmsg(t *testing.T, conn *net.UnixConn, oob []byte) {
	t.Helper()
	rc, err := conn.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var errno unix.Errno
	if err := rc.Control(func(fd uintptr) {
		msg := unix.Msghdr{Control: &oob[0]}
		msg.SetControllen(len(oob))
		_, _, errno = unix.Syscall(unix.SYS_SENDMSG, fd, uintptr(unsafe.Pointer(&msg)), 0)
	}); err != nil {
		t.Fatal(err)
	}
	if errno != 0 {
		t.Fatalf("sendmsg of no bytes and %d of control data: %v", len(oob), errno)
	}
}
