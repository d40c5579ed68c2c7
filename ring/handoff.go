package ring

import (
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/shmring/shmring/internal/shm"
)

// handoffToken is the bytes of the message SendRing sends, beside the
// descriptor: the library's name and a version, so that RecvRing can tell
// a ring handed off from anything else on the socket. A C peer sends and
// expects these 8 bytes and one SCM_RIGHTS descriptor.
var handoffToken = []byte("shmring\x01")

// SendRing sends a descriptor of r's file over conn (SCM_RIGHTS, unix(7))
// in one message, for RecvRing at the other end. r stays open and usable
// here; the receiver maps the same file, a memfd ring or a named one. The
// descriptor in flight keeps the file alive until it is received, or until
// the socket is closed unread. A closed r is ErrClosed; a nil or
// zero-value r is ErrInvalid and ErrNoHandle, a nil conn ErrInvalid.
func SendRing(conn *net.UnixConn, r *Ring) error {
	if r.missing() {
		return fmt.Errorf("%w: SendRing needs a ring: %w", ErrInvalid, errNoRing)
	}
	if conn == nil {
		return fmt.Errorf("%w: SendRing needs a connection", ErrInvalid)
	}
	r.mu.Lock()
	f, ok := r.seg.(*shm.File)
	if r.closed || !ok {
		r.mu.Unlock()
		if !ok {
			return fmt.Errorf("%w: ring=%s has no file to send", ErrInvalid, r.name)
		}
		return fmt.Errorf("%w: ring=%s", ErrClosed, r.name)
	}
	// A descriptor of our own, so that the send (which may block on a
	// full socket) holds no lock and races no Close.
	d, err := f.Dup()
	r.mu.Unlock()
	if err != nil {
		return fmt.Errorf("ring: send ring=%s: %w", r.name, err)
	}
	defer d.Close()
	if err := shm.SendFD(conn, handoffToken, d); err != nil {
		return fmt.Errorf("ring: send ring=%s: %w", r.name, err)
	}
	return nil
}

// RecvRing receives a ring that SendRing sent over conn and maps it with the
// default OpenOptions; see RecvRingWith.
func RecvRing(conn *net.UnixConn) (*Ring, error) { return RecvRingWith(conn, OpenOptions{}) }

// RecvRingWith receives one message from conn and maps the ring whose
// descriptor it carries as OpenFileWith does, validating it the same way.
// A message that SendRing did not send (other bytes, an empty message, no
// descriptor, more than one) is ErrHandoff, and every descriptor it carried
// is closed: a peer cannot leak descriptors into this process. So is a
// handoff whose descriptor the kernel dropped because this process is at
// its descriptor limit (RLIMIT_NOFILE), or that came in one short of it,
// with no room for the duplicate the Ring keeps; the message is gone, and
// the error says so. A connection closed before a message arrived is an error that
// errors.Is(err, io.EOF). A
// stream socket keeps no message boundaries: there, bytes a peer sent
// after a handoff's are left on the connection for the next read.
func RecvRingWith(conn *net.UnixConn, o OpenOptions) (*Ring, error) {
	if !shm.Supported {
		return nil, ErrUnsupported
	}
	if conn == nil {
		return nil, fmt.Errorf("%w: RecvRing needs a connection", ErrInvalid)
	}
	if err := o.check(); err != nil {
		return nil, err
	}
	f, err := shm.RecvFD(conn, handoffToken)
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("ring: receive a ring: connection closed: %w", err)
	} else if err != nil {
		return nil, fileErr("(received)", err, ErrFileTooBig)
	}
	defer f.Close() // OpenFileWith keeps a duplicate
	r, err := OpenFileWith(f, o)
	if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
		// The descriptor came in, but this process could not take the
		// duplicate the Ring keeps: the handoff is as lost as one the
		// kernel dropped at the limit, and says so the same way.
		return nil, fmt.Errorf("%w: %w: is this process out of descriptors (RLIMIT_NOFILE), or the system (fs.file-max)?", ErrHandoff, err)
	}
	return r, err
}
