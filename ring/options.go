package ring

import (
	"os"
	"time"

	"github.com/shmring/shmring/internal/wait"
	"github.com/shmring/shmring/layout"
)

// Kind selects a ring's algorithm; it is fixed at creation.
type Kind = layout.Kind

// Ring kinds.
const (
	SPSC      = layout.KindSPSC      // one producer process, one consumer process
	MPMC      = layout.KindMPMC      // many producers, many consumers; each message reaches one consumer
	MPSC      = layout.KindMPSC      // many producers, one consumer (MPMC with MaxConsumers 1)
	Broadcast = layout.KindBroadcast // one producer, many readers; each message reaches every reader
)

// Options describe a ring to Create.
type Options struct {
	Kind     Kind // SPSC, MPMC, MPSC or Broadcast: fixed at creation
	SlotSize int  // largest message, in bytes (1 .. 1 GiB)
	Slots    int  // number of slots, a power of two (MPMC and MPSC: at most 2^30)

	// Records makes a record ring (SPSC or Broadcast) instead of a slot
	// ring: a ring of Capacity bytes carrying messages of any length from
	// 0 to MaxMessage, each taking a 16-byte header plus its length rounded
	// up to 16 bytes (LAYOUT.md section 17). SlotSize and Slots are then
	// left zero.
	Records bool
	// Capacity is a record ring's data area in bytes: a power of two,
	// 64 B .. 1 TiB.
	Capacity int
	// MaxMessage is a record ring's longest message: at most Capacity/2
	// (the longest the ring can always fit, wherever its producer stands;
	// also at most 1 GiB); zero means that bound.
	MaxMessage int

	// MaxProducers and MaxConsumers bound how many producer and consumer
	// handles an MPMC or MPSC ring holds at once, across all processes
	// (zero: 16 each; MPSC has one consumer). Together at most 1024.
	MaxProducers int
	MaxConsumers int
	// MaxReaders bounds a Broadcast ring's readers (zero: 16; at most 1024).
	MaxReaders int

	// Telemetry turns on in-ring latency measurement (telemetry.go); the
	// zero value leaves it off. Slot rings only: a record ring's positions
	// count bytes, and stamps are kept per position, so Create refuses
	// Telemetry with Records (ErrInvalid). A record ring's counters are in
	// its file all the same.
	Telemetry Telemetry

	// Mode is the file's read and write permission bits, the owner's
	// both (any other bit, execute, setuid or a file type, is ErrInvalid,
	// and so is a mode whose owner may not read and write: the creator
	// could not take a role); zero means 0600.
	// Open refuses a group-writable file unless the opener trusts its
	// group, and a world-writable one unless the opener allows it (see
	// OpenOptions): to share a ring between users, give it Mode 0660 and
	// a Group.
	Mode os.FileMode
	// Group is the file's group id, set before Mode is, so the file is
	// never writable by another group; zero keeps the creator's effective
	// group (group 0 can be had only that way). The creator must belong to
	// it, unless privileged.
	Group int

	// Memfd makes the ring in an anonymous memory file (memfd_create(2))
	// instead of a file at a name: nothing appears in /dev/shm and its
	// size does not count against /dev/shm's (memfd.go). Create's name is
	// then only a label, 1 to 249 bytes without NUL ("shmring" when
	// empty), that Name reports and /proc/<pid>/fd shows. The file is
	// sealed against shrinking and growing; other processes map it from
	// its descriptor (Ring.File, SendRing, RecvRing, OpenFile). Mode and
	// Group apply to it too: a process takes a role by reopening the
	// descriptor through /proc/self/fd, so a receiver of another user
	// needs them to let it.
	Memfd bool
	// HugePages backs the ring with huge pages from the kernel's
	// reserved pool (vm.nr_hugepages): with Memfd, a memfd made with
	// MFD_HUGETLB; otherwise the name must be a path on hugetlbfs
	// (ErrInvalid on another file system, ErrNotExist in a directory that
	// does not exist). The file is rounded up to whole huge pages.
	// ErrNoHugePages if the pool has too few free. Without it, a large
	// tmpfs or memfd ring is still advised transparent huge pages
	// (MADV_HUGEPAGE), which the kernel honours where the policy is
	// advise, within_size or always: for a memfd,
	// /sys/kernel/mm/transparent_hugepage/shmem_enabled; for a named
	// ring, its tmpfs mount's huge= option (internal/shm's thp_linux.go).
	HugePages bool

	// FullFence makes this process's handles of the ring publish with
	// full-fence stores, as OpenOptions.FullFence does for an opener. It
	// is not written into the file.
	FullFence bool
	// Unguarded is OpenOptions.Unguarded for the creator's process.
	Unguarded bool
}

// OpenOptions tune Open. Their zero value trusts only files that this
// process's effective user owns and that no one else may write.
type OpenOptions struct {
	// Timeout bounds the wait for a creator to finish the file; zero
	// means DefaultOpenTimeout, a negative one is ErrInvalid.
	Timeout time.Duration

	// TrustUIDs are users besides the effective uid whose ring files Open
	// accepts (ErrForeignOwner otherwise). Whoever owns the file can
	// change its mode and size, so trust only a user you would let write
	// your messages.
	TrustUIDs []int
	// TrustGIDs are groups whose members may write the file: a
	// group-writable file is accepted only when its group is one of these
	// or AllowWorldWrite is set (ErrInsecureMode otherwise).
	TrustGIDs []int
	// AllowWorldWrite accepts a file that every user may write, and so
	// any group-writable one, whatever its group. Any local process can
	// then forge messages or truncate the ring; it exists for sandboxes,
	// not for production.
	AllowWorldWrite bool

	// MaxFileSize caps the ring file's size, checked against the real
	// size and the header's FileSize before anything is mapped (ErrFileTooBig
	// above it); zero means DefaultMaxFileSize, a negative one is ErrInvalid.
	MaxFileSize int64

	// Unguarded runs the per-message calls (Send, TrySend, Claim,
	// TryClaim, ClaimN, TryClaimN, Commit, Receive, TryReceive, Recv,
	// TryRecv, Release, and At of a received batch)
	// without the fault guard, saving what BENCHMARKS.md says the guard
	// costs per call. The price: a peer that shrinks the file kills this
	// process with SIGBUS instead of getting it ErrTruncated, and Close
	// leaves the file mapped until the Ring is garbage, so that a call
	// racing it writes into the file rather than faulting, and what such a
	// call returns does not say what it did (Ring.Close's promise for cut
	// calls needs the guard): a Release may return nil for a message the
	// next consumer gets again. For rings whose every process you control.
	// Batch, role and Close calls stay guarded.
	Unguarded bool

	// FullFence makes the handles taken from this Ring publish their
	// cursors with full-fence stores (one locked instruction each) instead
	// of plain release stores. Their peers then never need
	// membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED) to wake them safely, and
	// this process never registers for it: with release stores, any
	// process on the machine that sleeps on such a ring interrupts every
	// CPU running a thread of a registered process, which a spinning
	// handle on an isolated core should not have to take. Without
	// FullFence the process registers when it first takes a role.
	FullFence bool
}

// DefaultMaxFileSize is the largest ring Open maps unless told otherwise:
// 64 GiB, a million 64 KiB slots. Open pre-faults every page it maps, so a
// planted sparse file with a huge header would otherwise charge that much
// memory to the opener. The cap is a fixed number, not a share of this
// machine's memory, so that whether a ring opens does not depend on where;
// an opener of a bigger ring raises it.
const DefaultMaxFileSize = 64 << 30

func (o OpenOptions) maxFileSize() int64 {
	if o.MaxFileSize <= 0 {
		return DefaultMaxFileSize
	}
	return o.MaxFileSize
}

// DefaultOpenTimeout is how long Open waits for a file whose creator has not
// yet published it as ready.
const DefaultOpenTimeout = 2 * time.Second

// WaitStrategy says how a blocking call waits for space (producer), data
// (consumer, reader) or the slowest lossless reader (a gated broadcast
// producer): spin, then yield, then sleep on a futex. Every kind and
// direction waits the same way (package internal/wait).
//
// Peer death and cancellation of a context without a deadline are noticed
// at the latest one Tick after they happen (plus the spin and yield phases);
// a context deadline is honoured exactly, as a futex timeout. Calls that
// their contexts end before a Tick of waiting count towards the Try
// calls' probes instead (ErrPeerDead says how). Every value
// is taken: a negative Spin or Yield is zero, a Tick of zero or below is
// DefaultTick, and a long Tick makes a sleeper as slow to notice a dead
// peer or a cancelled context.
type WaitStrategy struct {
	Spin  int           // polls of the condition before yielding
	Yield int           // yields, each followed by a poll, before sleeping (sched_yield(2) or runtime.Gosched: internal/wait's yield.go says which)
	Sleep bool          // sleep on the futex after that; false keeps polling (isolated cores)
	Tick  time.Duration // longest single sleep or poll period between checks of the peer; zero means DefaultTick

	// Adaptive spins on past Spin polls for twice as long as this
	// handle's waits have lately lasted, up to 30 µs (internal/wait's
	// adaptive.go), so a peer that answers within that costs no futex
	// round trip (some 11 µs). Longer waits (an idle or slow peer) neither spin on nor
	// yield (but one in eight spins the 30 µs, to notice a peer that has
	// become quick again), and a spin that loses its core to another task (an
	// oversubscribed machine) stops: the next waits do not spin on.
	// DefaultWait is adaptive; a strategy without it waits exactly as
	// its numbers say.
	Adaptive bool
}

// DefaultTick, 10 ms, bounds one sleep: within it a sleeper notices a dead
// peer or a cancelled context.
const DefaultTick = wait.DefaultTick

// Wait strategies.
var (
	// DefaultWait spins (1024 polls, about a microsecond, then on
	// adaptively), yields a little, then sleeps. Where a wake-up across
	// CPUs is dear (some VMs), a stream whose waits mix spinning and
	// sleeping can cost more than either alone: a 64 KiB ping-pong took
	// 97 µs there against 38–40 with WaitSpin or WaitSleep (BENCHMARKS.md
	// 11.6). There a spin that runs out just before the answer, then
	// sleeps, pays a wake-up across vCPUs, where sleeping at once lets the
	// kernel run both ends on one vCPU, as it does a pipe's (11.7). For
	// request/response, measure the three (ringbench run --workloads
	// pingpong --wait default,spin,sleep).
	DefaultWait = WaitStrategy{Spin: 1 << 10, Yield: 16, Sleep: true, Adaptive: true}
	// WaitSpin never sleeps: lowest latency, one busy core per waiting
	// side. For isolated cores.
	WaitSpin = WaitStrategy{Spin: 1 << 14, Yield: 0, Sleep: false}
	// WaitSleep sleeps at once when there is nothing to do: lowest CPU use,
	// a futex round trip of latency.
	WaitSleep = WaitStrategy{Sleep: true}
)

// config is w as the wait loop takes it: the same fields, so the
// conversion costs nothing and a field added to one but not the other
// stops the build.
func (w *WaitStrategy) config() *wait.Config { return (*wait.Config)(w) }
