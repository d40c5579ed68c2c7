package shm

// Passing a descriptor over a unix socket (SCM_RIGHTS, unix(7)): one
// message, a fixed token as its bytes and exactly one descriptor as its
// control data. What arrives is read as untrusted input: a message with
// other bytes, no descriptor or more than one is refused, and every
// descriptor it carried is closed, so a peer cannot leak descriptors into
// the receiver.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// maxPassed is how many descriptors a received message has room for: a
// message with more is cut short by the kernel (MSG_CTRUNC), which closes
// those that did not fit; the rest are closed here.
const maxPassed = 8

// SendFD sends token with f's descriptor over conn, in one message.
func SendFD(conn *net.UnixConn, token []byte, f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var n, oobn int
	oob := []byte(nil)
	cerr := rc.Control(func(fd uintptr) {
		oob = unix.UnixRights(int(fd))
		n, oobn, err = conn.WriteMsgUnix(token, oob, nil)
	})
	switch {
	case cerr != nil:
		return cerr
	case err != nil:
		return err
	case n != len(token) || oobn != len(oob):
		return fmt.Errorf("sent %d of %d bytes and %d of %d of control data: %w", n, len(token), oobn, len(oob), io.ErrShortWrite)
	}
	return nil
}

// RecvFD receives one message from conn that SendFD sent with token, and
// returns its descriptor, close-on-exec (net sets MSG_CMSG_CLOEXEC). A
// message that is not exactly token and one descriptor is ErrHandoff; a
// connection closed before any byte is io.EOF.
func RecvFD(conn *net.UnixConn, token []byte) (*os.File, error) {
	buf := make([]byte, len(token))
	oob := make([]byte, unix.CmsgSpace(4*maxPassed))
	n, oobn, flags, _, err := conn.ReadMsgUnix(buf, oob)
	fds, perr := rights(oob[:oobn])
	// net reports a read of no bytes on a stream or seqpacket socket as
	// io.EOF, also a seqpacket socket's empty message, which may even
	// carry descriptors.
	if err == nil || (errors.Is(err, io.EOF) && n == 0) {
		if n == 0 && oobn == 0 && flags&unix.MSG_CTRUNC == 0 && hungUp(conn) {
			err = io.EOF
		} else {
			err = handoffErr(buf[:n], token, flags, fds, perr)
		}
	}
	if err != nil {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, err
	}
	// Named as /proc shows it ("/memfd:LABEL (deleted)", a path): what an
	// error about the file names.
	name := "received ring"
	if link, err := os.Readlink(procFD(uintptr(fds[0]))); err == nil {
		name = link
	}
	return os.NewFile(uintptr(fds[0]), name), nil
}

// hungUp says whether a read of nothing from conn meant that its peer had
// gone. On a stream socket it always does; a seqpacket or datagram socket
// also carries empty messages, and there the peer has gone only where poll
// says the connection hung up and nothing is queued behind the empty
// message (a peer may send one, then a handoff, then close).
func hungUp(conn *net.UnixConn) bool {
	rc, err := conn.SyscallConn()
	if err != nil {
		return true
	}
	gone := true
	rc.Control(func(fd uintptr) {
		typ, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TYPE)
		if err != nil || typ == unix.SOCK_STREAM {
			return
		}
		p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLRDHUP}}
		n, err := unix.Poll(p, 0)
		gone = err == nil && n > 0 && p[0].Revents&(unix.POLLRDHUP|unix.POLLHUP) != 0
		if queued, err := unix.IoctlGetInt(int(fd), unix.SIOCINQ); gone && err == nil && queued > 0 {
			gone = false
		}
	})
	return gone
}

func handoffErr(got, token []byte, flags int, fds []int, perr error) error {
	switch {
	case perr != nil:
		return fmt.Errorf("%w: control data: %w", ErrHandoff, perr)
	case flags&unix.MSG_CTRUNC != 0 && len(fds) == 0:
		// The kernel sets MSG_CTRUNC and drops a descriptor it cannot
		// install in this process (scm_detach_fds): most often the
		// descriptor limit reached. A sender's extra descriptors would
		// have left the first maxPassed here.
		return fmt.Errorf("%w: its descriptor was dropped on the way in (control data cut short, none received): is this process out of descriptors (RLIMIT_NOFILE)?", ErrHandoff)
	case flags&unix.MSG_CTRUNC != 0:
		return fmt.Errorf("%w: more than %d descriptors, or control data cut short", ErrHandoff, maxPassed)
	case len(got) == 0 && len(fds) == 0:
		return fmt.Errorf("%w: an empty message", ErrHandoff)
	case flags&unix.MSG_TRUNC != 0:
		return fmt.Errorf("%w: a message longer than the %d bytes of a handoff", ErrHandoff, len(token))
	case !bytes.Equal(got, token):
		return fmt.Errorf("%w: bytes %q, want %q", ErrHandoff, got, token)
	case len(fds) != 1:
		return fmt.Errorf("%w: %d descriptors, want 1", ErrHandoff, len(fds))
	}
	return nil
}

// rights gathers the descriptors of every SCM_RIGHTS message in oob.
func rights(oob []byte) ([]int, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, err
	}
	var fds []int
	var errs []error
	for i := range msgs {
		if msgs[i].Header.Level != unix.SOL_SOCKET || msgs[i].Header.Type != unix.SCM_RIGHTS {
			continue
		}
		got, err := unix.ParseUnixRights(&msgs[i])
		fds = append(fds, got...)
		errs = append(errs, err)
	}
	return fds, errors.Join(errs...)
}
