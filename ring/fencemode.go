package ring

// Which store publishes an SPSC cursor.
//
// A plain release store (a MOV on amd64) costs nothing, but it lacks the
// StoreLoad order of the wake-up handshake, so a sleeper facing it must
// force that order on the publisher with membarrier (fence.Barrier): a
// system call that interrupts every CPU running a registered process. On a
// virtual machine each such interrupt exits to the host, and a sleeping
// round trip measured ~27 µs with it against ~5.5 µs with full-fence
// stores on the same machine in the same minute (BENCHMARKS.md section 10).
// An exchange (XCHG) carries the order itself, at tens of cycles a store.
//
// So each side chooses by what the other side does: while the other side
// sleeps, this side publishes with exchanges and says so by clearing
// FlagReleaseStores, and the sleeper skips the barrier; after releaseAfter
// publishes in a row that found nobody asleep, it goes back to plain stores
// and sets the flag, and a stream that never sleeps never pays for a fence.
//
// The switch is itself an exchange of the flags word, which orders it
// against the sleeper's "announce, then load flags" (LAYOUT.md section 9,
// rule 5):
//   - to exchanges: every plain store before the switch is visible before
//     it, and a sleeper that sees the flag cleared re-checks after the
//     stores that follow, which are exchanges;
//   - to plain stores: a sleeper that still saw the flag cleared announced
//     itself before the switch, so this side's first look for sleepers,
//     after the switch, finds it.

import "github.com/shmring/shmring/layout"

// releaseAfter is how many publishes in a row must find the other side
// awake before this side goes back to plain release stores: long enough
// that a peer sleeping now and then (a paced stream, a ping-pong with
// the default wait) keeps the cheap sleep, short enough that a stream
// which stopped sleeping soon stops paying the exchange.
const releaseAfter = 4096

// peerSlept: a publish found the other side asleep (and woke it).
func (e *endpoint) peerSlept() {
	e.calm = 0
	if e.release {
		e.setRelease(false)
	}
}

// peerAwake: a publish with an exchange found the other side awake.
func (e *endpoint) peerAwake() {
	if e.calm++; e.calm >= releaseAfter {
		e.setRelease(true)
	}
}

// setRelease switches this side's publishing store, and its flags word
// with it, by an exchange (a full fence).
func (e *endpoint) setRelease(on bool) {
	flags := uint32(0)
	if on {
		flags = layout.FlagReleaseStores
	}
	e.own.flags.Swap(flags)
	e.release, e.calm = on, 0
}
