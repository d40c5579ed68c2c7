//go:build linux

package ring

// Helpers of the MPMC cross-process tests (mpmc_xproc_test.go and
// mpmc_kill_test.go): producer identities inside sequence numbers, a ledger
// that proves exactly-once delivery across every consumer, a dump of the
// ring's control words for failure messages, and the clock and signal
// helpers a child that kills itself needs.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/layout"
	"golang.org/x/sys/unix"
)

// A message of these tests is the stream codec of process_test.go (sequence
// number, length, CRC-32C, a body derived from the sequence number) with
// the producer's identity in the sequence number's top bits:
//
//	seq = stream<<48 | k
//
// where stream names the producer (or the line of restarted producers that
// continue one stream) and k counts that stream's messages from 0. A
// consumer so learns, from the message alone, who sent it and where it
// stands in that producer's order, and the checksum covers both.
const xpStreamShift = 48

func xpSeq(stream, k uint64) uint64 { return stream<<xpStreamShift | k }

func xpSplit(seq uint64) (stream, k uint64) {
	return seq >> xpStreamShift, seq & (1<<xpStreamShift - 1)
}

// xpCheck checks m as an intact message of its own length and returns its
// sequence number. Torn bytes, a wrong length field or a bad checksum are
// errors.
func xpCheck(m []byte) (uint64, error) {
	if len(m) < msgHeaderSize {
		return 0, fmt.Errorf("message of %d bytes, shorter than the %d-byte header (torn or empty)", len(m), msgHeaderSize)
	}
	seq := binary.LittleEndian.Uint64(m)
	return seq, checkMessage(m, seq, len(m))
}

func xpName(seq uint64) string {
	s, k := xpSplit(seq)
	return fmt.Sprintf("stream %d message %d", s, k)
}

// xpLedger is the oracle of exactly-once delivery in one process: every
// delivery of every consumer is entered, a second delivery of a message is
// an error at once, and a waiter learns when what it expects has all
// arrived. Deliveries marked redelivered are kept apart as well, so a test
// can say which message a dead consumer's lease must have handed on.
type xpLedger struct {
	mu          sync.Mutex
	got         map[uint64]string // seq -> who delivered it
	redelivered map[uint64]string // seq -> who got it with Redelivered() true
	errs        []error
	changed     chan struct{} // a token after each delivery, for await
}

func newXPLedger() *xpLedger {
	return &xpLedger{got: map[uint64]string{}, redelivered: map[uint64]string{}, changed: make(chan struct{}, 1)}
}

// deliver enters one final delivery of seq by who.
func (l *xpLedger) deliver(who string, seq uint64, redelivered bool) {
	l.mu.Lock()
	if prev, dup := l.got[seq]; dup {
		l.errs = append(l.errs, fmt.Errorf("%s delivered twice: first to %s, again to %s (redelivered=%v)", xpName(seq), prev, who, redelivered))
	} else {
		l.got[seq] = who
	}
	if redelivered {
		l.redelivered[seq] = who
	}
	l.mu.Unlock()
	select {
	case l.changed <- struct{}{}:
	default:
	}
}

// fail records an error found by a consumer goroutine.
func (l *xpLedger) fail(err error) {
	l.mu.Lock()
	l.errs = append(l.errs, err)
	l.mu.Unlock()
	select {
	case l.changed <- struct{}{}:
	default:
	}
}

func (l *xpLedger) err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return errors.Join(l.errs...)
}

func (l *xpLedger) redeliveries() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.redelivered)
}

func (l *xpLedger) wasRedelivered(seq uint64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.redelivered[seq]
	return ok
}

// missing lists, for each stream, the messages below want[stream] that have
// not arrived, and counts the deliveries of those streams at or past it
// (messages no one should have published). At most a few of each.
func (l *xpLedger) missing(want map[uint64]uint64) (missing []uint64, extra []uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for s, n := range want {
		for k := uint64(0); k < n && len(missing) < 8; k++ {
			if _, ok := l.got[xpSeq(s, k)]; !ok {
				missing = append(missing, xpSeq(s, k))
			}
		}
	}
	for seq := range l.got {
		s, k := xpSplit(seq)
		if n, ok := want[s]; (!ok || k >= n) && len(extra) < 8 {
			extra = append(extra, seq)
		}
	}
	sort.Slice(missing, func(i, j int) bool { return missing[i] < missing[j] })
	sort.Slice(extra, func(i, j int) bool { return extra[i] < extra[j] })
	return missing, extra
}

// xpAwaitBound is how long a test waits for messages that must arrive. It
// is no time limit on the engine (whose recovery bound is spin + yield + a
// tick, milliseconds): it only turns a hang into a loud failure with the
// ring's state, long before the watchdog.
const xpAwaitBound = 30 * time.Second

// await waits until every message below want[stream] of every stream has
// arrived and nothing else of those streams has, or fails t with what is
// missing and the ring's state. Errors found by consumers fail t too.
func (l *xpLedger) await(t testing.TB, r *Ring, want map[uint64]uint64, what string) {
	t.Helper()
	deadline := time.NewTimer(xpAwaitBound)
	defer deadline.Stop()
	for {
		if err := l.err(); err != nil {
			t.Fatalf("%s: %v\n%s", what, err, xpDump(r))
		}
		missing, extra := l.missing(want)
		if len(extra) > 0 {
			t.Fatalf("%s: delivered and never committed (or beyond what was sent): %s\n%s", what, xpNames(extra), xpDump(r))
		}
		if len(missing) == 0 {
			return
		}
		select {
		case <-l.changed:
		case <-deadline.C:
			t.Fatalf("%s: after %v still missing %s (a consumer hangs, or a committed message is lost)\n%s",
				what, xpAwaitBound, xpNames(missing), xpDump(r))
		}
	}
}

// xpBounded is the context of a parent's blocking call that must return:
// a hang becomes context.DeadlineExceeded after xpAwaitBound and fails the
// test that made it, with its cleanups run (ring files removed), instead of
// running into the watchdog, whose last resort exits the process.
func xpBounded(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), xpAwaitBound)
	t.Cleanup(cancel)
	return ctx
}

func xpNames(seqs []uint64) string {
	s := make([]string, len(seqs))
	for i, q := range seqs {
		s[i] = xpName(q)
	}
	return strings.Join(s, ", ")
}

// xpDump describes an MPMC ring's shared state: hints, counts, sleepers,
// every participant entry and every slot's control word. For failure
// messages: it reads the words once each, without locks, so it is a
// snapshot only roughly.
func xpDump(r *Ring) string {
	if r == nil || r.mem == nil || (r.hdr.Kind != MPMC && r.hdr.Kind != MPSC) {
		return "(no MPMC mapping to dump)"
	}
	var b strings.Builder
	w32 := func(off uint64) uint32 { return r.word32(int(off)).Load() }
	w64 := func(off uint64) uint64 { return r.word64(int(off)).Load() }
	fmt.Fprintf(&b, "ring %s: Tail=%d Head=%d Producers=%d Consumers=%d Stream=%d DataSleepers=%d SpaceSleepers=%d\n",
		r.name, w64(layout.MPMCTailOffset), w64(layout.MPMCHeadOffset), w32(layout.MPMCProducersOffset),
		w32(layout.MPMCConsumersOffset), w32(layout.MPMCStreamOffset), w32(layout.MPMCDataSleepersOffset),
		w32(layout.MPMCSpaceSleepersOffset))
	entries := r.hdr.MaxProducers + r.hdr.MaxConsumers
	for i := range entries {
		off := layout.MPMCEntryOffset(i)
		side := "producer"
		if i >= r.hdr.MaxProducers {
			side = "consumer"
		}
		held, err := r.heldAt(int64(off + layout.EntryLockByte))
		fmt.Fprintf(&b, "  entry %d (%s): state=%d incarnation=%d pid=%d messages=%d repaired=%d lock held=%v (%v)\n",
			i, side, w32(off+layout.EntryStateOffset), w32(off+layout.EntryIncarnationOffset),
			w32(off+layout.EntryPIDOffset), w64(off+layout.EntryMessagesOffset), w64(off+layout.EntryRepairedOffset), held, err)
	}
	states := [...]string{"free", "claimed", "full", "reading", "skipped"}
	for i := range r.hdr.SlotCount {
		w := w64(r.hdr.SlotOffset(i) + layout.MPMCSlotCtrlOffset)
		st := fmt.Sprintf("state?%d", layout.CtrlState(w))
		if s := layout.CtrlState(w); int(s) < len(states) {
			st = states[s]
		}
		o := layout.CtrlOwner(w)
		fmt.Fprintf(&b, "  slot %d: seq=%d %s owner=%d/%d length=%d\n", i, layout.CtrlSeq(w), st,
			layout.OwnerIndex(o), layout.OwnerIncarnation(o), w32(r.hdr.SlotOffset(i)+layout.MPMCSlotLengthOffset))
	}
	return b.String()
}

// monoNanos reads CLOCK_MONOTONIC, which every process on the machine
// shares (Go's own monotonic readings are relative to each process's
// start, so they cannot be compared across processes).
func monoNanos() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		panic(err)
	}
	return ts.Nano()
}

// killSelf ends this (child) process with SIGKILL, as an outside kill -9
// would: no deferred call, no exit handler, no flush runs.
func killSelf() {
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	hangForever() // the signal is delivered before kill returns to user space; this is only a guard
}

// killedBySIGKILL reports whether a child's Wait error says SIGKILL ended it.
func killedBySIGKILL(err error) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

// stepNamed is the step whose String is name; ok false for "none" and
// unknown names.
func stepNamed(name string) (step, bool) {
	for s := range numSteps {
		if s.String() == name {
			return s, true
		}
	}
	return numSteps, false
}

// processStopped reports whether pid is in the stopped state (T), as
// /proc/pid/stat tells.
func processStopped(pid int) (bool, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false, err
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 || i+2 >= len(b) {
		return false, fmt.Errorf("/proc/%d/stat: %q", pid, b)
	}
	return b[i+2] == 'T' || b[i+2] == 't', nil
}

// xpGate lets consumer goroutines be paused between messages.
type xpGate struct {
	mu     sync.Mutex
	cond   sync.Cond
	paused bool
}

func newXPGate() *xpGate {
	g := &xpGate{}
	g.cond.L = &g.mu
	return g
}

func (g *xpGate) pause() { g.mu.Lock(); g.paused = true; g.mu.Unlock() }

func (g *xpGate) resume() {
	g.mu.Lock()
	g.paused = false
	g.mu.Unlock()
	g.cond.Broadcast()
}

// pass blocks while the gate is paused.
func (g *xpGate) pass() {
	g.mu.Lock()
	for g.paused {
		g.cond.Wait()
	}
	g.mu.Unlock()
}

// readStdinLine reads one line from the child's stdin.
func readStdinLine() string {
	var b [1]byte
	var line []byte
	for {
		n, err := syscall.Read(0, b[:])
		if n <= 0 || err != nil || b[0] == '\n' {
			return string(line)
		}
		line = append(line, b[0])
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// readLines reads a child's stdout lines until it exits.
func readLines(c *proctest.Child) []string {
	var lines []string
	for {
		line, err := c.ReadLine()
		if err != nil {
			return lines
		}
		lines = append(lines, line)
	}
}

// waitKilled waits for a child that must have killed itself with SIGKILL.
func waitKilled(t *testing.T, c *proctest.Child, what string) {
	t.Helper()
	err := c.Wait()
	if err == nil {
		t.Fatalf("%s: the child exited normally, want it killed by SIGKILL", what)
	}
	if !killedBySIGKILL(err) {
		t.Fatalf("%s: want the child killed by SIGKILL: %v", what, err)
	}
}

// parseGotLines parses a consumer child's "got SEQ R" lines.
func parseGotLines(lines []string) (seqs []uint64, redelivered []bool, err error) {
	for _, line := range lines {
		var seq uint64
		var r int
		if _, err := fmt.Sscanf(line, "got %d %d", &seq, &r); err != nil {
			return nil, nil, fmt.Errorf("the child said %q: %v", line, err)
		}
		seqs = append(seqs, seq)
		redelivered = append(redelivered, r == 1)
	}
	return seqs, redelivered, nil
}

// stopChild sends SIGSTOP to c and waits until the kernel shows it stopped.
func stopChild(t *testing.T, c *proctest.Child) {
	t.Helper()
	if err := c.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	for {
		stopped, err := processStopped(c.Pid())
		if err != nil {
			t.Fatal(err)
		}
		if stopped {
			return
		}
		time.Sleep(100 * time.Microsecond)
	}
}
