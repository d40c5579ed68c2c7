package ring

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
)

// Errors, grouped by the operation that returns them. All are usable with
// errors.Is; returned errors wrap them with name=value context.
var (
	// Create.

	// ErrExist: Create found a file of that name already.
	ErrExist = errors.New("ring: already exists")
	// ErrInvalid: options that describe no ring (slot size, slot count,
	// kind, name, a limit the kind has no use for), and the other calls
	// given what they cannot take: a role the ring's kind has not (a
	// Consumer of a broadcast ring, a Reader of an SPSC one), a bad reader
	// Policy or Start, a negative length to Commit or SetLen, a nil
	// connection or file, negative OpenOptions.
	ErrInvalid = errors.New("ring: invalid options")
	// ErrNoSpace: the file system could not supply the ring's pages (a
	// full /dev/shm), or the ring, on tmpfs or in a memfd, is larger than
	// the memory and swap the machine or this process's cgroup (v2) has
	// left: a memfd counts against no file system's size. Reported by
	// Create, never later as SIGBUS or the out-of-memory killer.
	ErrNoSpace = errors.New("ring: no space for ring file")
	// ErrNoHugePages: Options.HugePages, and the kernel's huge page pool
	// has too few free pages (or the kernel has no hugetlbfs).
	// errors.Is(ErrNoHugePages, ErrNoSpace) holds.
	ErrNoHugePages error = alias("ring: no huge pages available", ErrNoSpace)
	// ErrUnsupported: this system cannot hold a ring. Every entry point
	// returns it off Linux (rings need Linux); on Linux, taking a role,
	// OpenFile and RecvRing return it where /proc is not mounted (the
	// message says which). errors.Is(ErrUnsupported, errors.ErrUnsupported)
	// holds.
	ErrUnsupported = fmt.Errorf("ring: this system cannot hold a ring: %w", errors.ErrUnsupported)

	// Open.

	// ErrNotExist: no ring file of that name.
	ErrNotExist = errors.New("ring: does not exist")
	// ErrNotReady: the file exists but its creator has not finished it
	// within the open timeout (it may have died half-way).
	ErrNotReady = errors.New("ring: not ready")
	// ErrVersion: a ring file of another layout version.
	ErrVersion = errors.New("ring: unsupported layout version")
	// ErrCorrupt: bytes read from the file or the shared mapping that no
	// correct peer writes: a foreign file, a bad checksum, a wrong size,
	// or a hostile or buggy process scribbling on the mapping.
	ErrCorrupt = errors.New("ring: corrupt")
	// ErrTruncated: the ring's file was shrunk under a live ring (a peer
	// called ftruncate), so part of the mapping is gone or zeroed. The call
	// that met it returns it, and a producer's next Send, Claim, Commit or
	// batch too (what it would publish reaches no one: checked once per call, so
	// a cut in the middle of one may still pass), and the process lives
	// on; the ring is dead for every process, and a fresh Open of the file
	// (even one grown back to its size) says why it refuses it. A cut of
	// at most the file's last 120 bytes (the unused part of its end unit,
	// LAYOUT.md section 2) takes nothing the ring uses: live handles do
	// not notice it; Open refuses the file. Taking a role (Producer,
	// Consumer, Reader) or a Reset on a ring whose file was shrunk returns
	// it too, and holds nothing. errors.Is(ErrTruncated, ErrCorrupt) holds.
	ErrTruncated error = alias("ring: file truncated under the ring", ErrCorrupt)
	// ErrFileTooBig: the file (its real size or the size its header states)
	// is larger than OpenOptions.MaxFileSize, or than this process can
	// map (a ring of 2 GiB or more on a 32-bit system). Nothing was mapped.
	ErrFileTooBig = errors.New("ring: file too big to open")
	// ErrUntrusted: what sits at the name (or behind the descriptor) is
	// not a file Open trusts. Each of the five refusals below is also
	// ErrUntrusted.
	ErrUntrusted = errors.New("ring: untrusted file")
	// ErrSymlink: the name is a symbolic link; Open follows none.
	ErrSymlink error = alias("ring: name is a symbolic link", ErrUntrusted)
	// ErrNotRegular: the name is a directory, FIFO, socket or device.
	ErrNotRegular error = alias("ring: not a regular file", ErrUntrusted)
	// ErrForeignOwner: the file belongs to a user that is neither this
	// process's effective uid nor in OpenOptions.TrustUIDs.
	ErrForeignOwner error = alias("ring: file owned by an untrusted user", ErrUntrusted)
	// ErrInsecureMode: others may write the file and
	// OpenOptions.AllowWorldWrite is false: it is world-writable, or
	// group-writable and its group is not in OpenOptions.TrustGIDs.
	ErrInsecureMode error = alias("ring: file writable by untrusted users", ErrUntrusted)
	// ErrUnsealed: OpenFile was given a memfd that is not sealed against
	// shrinking (F_SEAL_SHRINK), which any holder of a descriptor could
	// then cut from under the mapping. Create seals its memfds.
	ErrUnsealed error = alias("ring: memfd not sealed against shrinking", ErrUntrusted)

	// Passing rings.

	// ErrHandoff: RecvRing got a message that SendRing did not send (other
	// bytes, an empty message, no descriptor, or more than one), or one
	// whose descriptor this process could not take in or keep (at its
	// descriptor limit). Every descriptor it carried was closed.
	ErrHandoff = errors.New("ring: message is not one ring handed off")

	// Handles.

	// ErrNoHandle: a method of a nil or zero-value Ring, Producer,
	// Consumer or Reader (one that no Create, Open or role call returned),
	// or SendRing given such a Ring: nothing was read or written. A method that returns no error returns
	// its zero value instead (Abort and SetWait do nothing). errors.Is(ErrNoHandle,
	// os.ErrInvalid) holds, as for a nil *os.File.
	ErrNoHandle error = alias("ring: no handle", os.ErrInvalid)

	// Roles.

	// ErrBusy: the role is held by a live process.
	ErrBusy = errors.New("ring: role held by a live process")

	// Sending and receiving.

	// ErrFull: TrySend / TryClaim found no free slot.
	ErrFull = errors.New("ring: full")
	// ErrEmpty: TryRecv / TryReceive found no message.
	ErrEmpty = errors.New("ring: empty")
	// ErrTooLarge: a message longer than the ring's slot size.
	ErrTooLarge = errors.New("ring: message larger than the ring's largest (its slot, or MaxMessage)")
	// ErrClosed: the producer closed the stream and every message before
	// the close has been received. errors.Is(ErrClosed, io.EOF) holds.
	// Using a handle after its own Close also returns it. On an MPMC or
	// MPSC ring it is final for a consumer only once no other consumer
	// holds messages of the stream: one that closes holding some leaves
	// them to the next call of any consumer (Consumer.Close), which gets
	// them, marked Redelivered, before ErrClosed again.
	ErrClosed = alias("ring: closed", io.EOF, os.ErrClosed)
	// ErrPeerDead: the other side's role holder died (its liveness lock is
	// gone) while this side waits on it; on an MPMC or MPSC ring, every
	// holder of the other side did (while one lives, or once the last one
	// closed cleanly, the calls go on as usual: a producer waits, a
	// consumer gets ErrClosed at the end of the stream). A blocking call
	// probes the peer once a Tick of its wait. A Try call that finds the
	// ring empty or full probes it too, at most once a Tick: on the second
	// such failure at a position, and every 16th after it there (the clock
	// is read only then), so a caller polling in its own loop learns of the
	// death within a Tick, or 16 polls if it polls more slowly than that.
	// A blocking call that its context ends counts as such a failure, so a
	// caller that waits in slices shorter than a Tick (short deadlines, or
	// a context already done) learns of it the same way. What the dead peer
	// published before it died is received first. The surviving handle
	// stays usable: once a call said ErrPeerDead, every later call that
	// finds the ring empty (full) probes again at once and says it too (a
	// blocking call before it waits or looks at its context), until a new
	// process takes the dead one's role; then the calls go on from where
	// the stream stands, losing nothing published.
	ErrPeerDead = errors.New("ring: peer process died")
	// ErrRevoked: a claim or lease this handle held was repaired by a peer
	// that found the handle's liveness lock gone (MPMC). The commit or
	// release that reports it wrote nothing into the ring, except a
	// release of a batch whose first messages it had freed before the
	// peer took the rest: that is a *PartialReleaseError.
	ErrRevoked = errors.New("ring: claim revoked by a peer")
	// ErrStale: a Batch, Messages or ReaderBatch used after the commit,
	// abort, release or close that ended it. Nothing was read or written.
	ErrStale = errors.New("ring: batch view used after it ended")
	// ErrLapped: a lossy broadcast reader fell a whole ring behind and the
	// producer overwrote messages it had not read. The error is a
	// *LapError carrying how many; the next call goes on after the gap.
	ErrLapped = errors.New("ring: reader lapped")
)

// LapError is the error a lossy broadcast reader gets when the producer
// overran it (and a lossless one joining at Oldest, while it reads what
// was published before it joined: see Oldest): Missed messages are gone,
// and the reader has moved past them. It resumes a quarter of a ring (on
// a record ring: at the oldest record) after the oldest position the ring
// holds, the producer's cursor less one ring (after an Abort, whose claim
// overwrote it, that position's message is gone already), not at it: the
// producer writes over the oldest next, and a
// reader that fell behind once needs headroom not to be lapped again at
// once. Missed counts every message it skipped, those still in the ring
// included. A lossless reader overrun past what the producer waits for
// can only be the work of a corrupt mapping: its error is ErrCorrupt,
// carrying the *LapError (so the count stays exact); test for ErrCorrupt
// before *LapError.
type LapError struct {
	Missed uint64 // messages published that this reader will never see
}

// Error says how many messages the reader missed.
func (e *LapError) Error() string {
	return "ring: reader lapped: missed " + strconv.FormatUint(e.Missed, 10) + " messages"
}

// Is makes errors.Is(err, ErrLapped) hold.
func (e *LapError) Is(target error) bool { return target == ErrLapped }

// PartialReleaseError is the error of an MPMC or MPSC Release of a batch
// cut part-way: the first Consumed of the Leased messages were freed, so
// they are the caller's and come to no one else; the others come again to
// another consumer, marked Redelivered. Two things cut a Release so: the
// Ring's Close on another goroutine (errors.Is(err, ErrClosed)), and a
// peer that presumed this consumer dead and took the rest of its lease
// back (errors.Is(err, ErrRevoked)). Read the counts with errors.As. A
// caller that took any ErrClosed or ErrRevoked for "nothing consumed"
// would count the first ones twice.
type PartialReleaseError struct {
	Consumed int   // messages of the batch freed: the caller's
	Leased   int   // messages the batch held
	err      error // the ErrClosed or ErrRevoked, with its context
}

// Error says how many of the batch were consumed.
func (e *PartialReleaseError) Error() string {
	return e.Unwrap().Error() + ": the first " + strconv.Itoa(e.Consumed) + " of the " + strconv.Itoa(e.Leased) +
		" leased messages were consumed, the rest come again"
}

// Unwrap is what cut the Release: ErrClosed (with its context), or
// ErrRevoked. One a caller built without it is ErrClosed.
func (e *PartialReleaseError) Unwrap() error {
	if e.err == nil {
		return ErrClosed
	}
	return e.err
}

// aliasError is a sentinel that errors.Is also matches to its aliases:
// every reason Open refuses a file is ErrUntrusted, ErrTruncated is
// ErrCorrupt, ErrClosed is io.EOF (end of stream) and os.ErrClosed.
type aliasError struct {
	msg     string
	aliases []error
}

func alias(msg string, aliases ...error) *aliasError { return &aliasError{msg, aliases} }

func (e *aliasError) Error() string { return e.msg }

func (e *aliasError) Is(target error) bool { return slices.Contains(e.aliases, target) }
