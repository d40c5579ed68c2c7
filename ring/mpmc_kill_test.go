//go:build linux

package ring

// kill -9 at every step of an MPMC ring's claim, commit, receive and release
// (issue 4, acceptance 3), SIGSTOP (a stopped process is not a dead one),
// and the latency of recovering from a producer's death.
//
// A child process sets the step hook to SIGKILL itself at one step of its
// Nth message (the hooks exist only in builds with -tags shmring_faults:
// without it these tests skip). The parent holds the surviving
// participants, as goroutines with their own handles (and a mapping of
// their own for the other side): they keep sending and receiving across
// the kill, and a ledger proves that every committed message arrives
// exactly once. Each ring is reused for all the kills of a step, with room
// for the survivors and one child only, so each new child must take over
// the entry its dead predecessor left: a restarted producer or consumer
// continues.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/layout"
)

func init() {
	proctest.Register("kill-producer", childKillProducer)
	proctest.Register("kill-consumer", childKillConsumer)
	proctest.Register("stop-producer", childStopProducer)
	proctest.Register("stop-consumer", childStopConsumer)
	proctest.Register("recovery-producer", childRecoveryProducer)
}

// Every message of these tests fills its slot: mid-payload then leaves a
// slot half new and half old bytes, which a torn delivery would show.
const (
	killMsgSize = 64
	killSlots   = 8
)

// Streams of the kill tests.
const (
	survivorStream = 0 // the parent's producer, alive throughout
	killedStream   = 1 // the children that die, each restarting where the last stopped
)

// killsPerStep is how many times a child dies at each step: 100 by
// default (acceptance 3), 1000 with SHMRING_LONG=1, 10 under the race
// detector (whose children start slowly and which sees nothing through a
// shared mapping anyway).
func killsPerStep() int {
	switch {
	case raceEnabled:
		return 10
	case longRun():
		return 1000
	}
	return 100
}

// killWait is the survivors' wait strategy: the default one with a 1 ms
// tick, so that the many recoveries these tests cause (each one spin +
// yield + a tick) cost little time.
var killWait = WaitStrategy{Spin: 1 << 10, Yield: 16, Sleep: true, Tick: time.Millisecond}

// killHangBound guards a kill test as a whole (a hang guard, far beyond the
// ~15 s one takes on two cores); xpAwaitBound guards each recovery.
func killHangBound() time.Duration {
	if longRun() {
		return 40 * time.Minute
	}
	return 4 * time.Minute
}

// childKillProducer: args name, step, first, arm, call. It takes a
// producer, says "ready", waits for "go", then sends killedStream's
// messages first, first+1, … with Send or Claim/Commit (call), printing
// "sent K" after each. From its arm-th message on it kills itself at the
// step. With step "none" it sends arm messages, closes and says "closed".
func childKillProducer() int {
	a := childArgs(5)
	name, stepName, first, arm, call := a[0], a[1], mustUint(a[2]), mustUint(a[3]), a[4]
	target, kill := stepNamed(stepName)
	emulate := kill && !stepHooks // without the hooks only after-claim, by Claim
	if emulate && target != stepAfterClaim {
		return childFail("step %v needs -tags shmring_faults", target)
	}
	var armed atomic.Bool
	if kill && !emulate {
		setStepHook(func(s step) {
			if s == target && armed.Load() {
				killSelf()
			}
		})
	}
	r, err := Open(name)
	if err != nil {
		return childFail("Open: %v", err)
	}
	defer r.Close()
	p, err := r.Producer()
	if err != nil {
		return childFail("Producer (a restarted producer must take over the dead one's entry): %v", err)
	}
	fmt.Println("ready")
	if line := readStdinLine(); line != "go" {
		return childFail("want the line \"go\" on stdin, got %q", line)
	}
	// Bounded, so that a message that never comes fails the child (and
	// the test, with the reason) instead of waiting for the watchdog.
	ctx, cancel := context.WithTimeout(context.Background(), xpAwaitBound)
	defer cancel()
	msg := make([]byte, killMsgSize)
	const limit = 1 << 16 // sleeping-full: far more than a ring of killSlots holds
	for i := uint64(0); i < limit; i++ {
		if !kill && i == arm {
			if err := p.Close(); err != nil {
				return childFail("Close: %v", err)
			}
			fmt.Println("closed")
			return 0
		}
		if i == arm {
			armed.Store(true)
			if emulate {
				if _, err := p.Claim(ctx); err != nil {
					return childFail("Claim of message %d: %v", first+i, err)
				}
				killSelf()
			}
		}
		k := first + i
		switch call {
		case "send":
			encodeMessage(msg, xpSeq(killedStream, k))
			err = p.Send(ctx, msg)
		case "claim":
			var buf []byte
			if buf, err = p.Claim(ctx); err == nil {
				encodeMessage(buf[:killMsgSize], xpSeq(killedStream, k))
				err = p.Commit(killMsgSize)
			}
		default:
			return childFail("unknown call %q", call)
		}
		if err != nil {
			return childFail("%s of message %d: %v", call, k, err)
		}
		fmt.Printf("sent %d\n", k)
		if i == arm && target != stepSleepingFull {
			return childFail("%s of message %d passed step %v without the hook killing it (does the engine call atStep(%v) there?)", call, k, target, target)
		}
	}
	return childFail("sent %d messages and never slept on a full ring", limit)
}

// childKillConsumer: args name, step, arm, call. It takes a consumer, says
// "ready", waits for "go", then receives with Receive/Release or Recv
// (call), checking each message and printing "got SEQ R" (R: 1 if
// Redelivered) — between Receive and Release, or after Recv. From its
// arm-th message on it kills itself at the step. With step "none" it
// receives arm messages, closes and says "closed".
func childKillConsumer() int {
	a := childArgs(4)
	name, stepName, arm, call := a[0], a[1], mustUint(a[2]), a[3]
	target, kill := stepNamed(stepName)
	emulate := kill && !stepHooks // without the hooks only before-release, by not calling it
	if emulate && (target != stepBeforeRelease || call != "receive") {
		return childFail("step %v of %s needs -tags shmring_faults", target, call)
	}
	var armed atomic.Bool
	if kill && !emulate {
		setStepHook(func(s step) {
			if s == target && armed.Load() {
				killSelf()
			}
		})
	}
	r, err := Open(name)
	if err != nil {
		return childFail("Open: %v", err)
	}
	defer r.Close()
	c, err := r.Consumer()
	if err != nil {
		return childFail("Consumer (a restarted consumer must take over the dead one's entry): %v", err)
	}
	fmt.Println("ready")
	if line := readStdinLine(); line != "go" {
		return childFail("want the line \"go\" on stdin, got %q", line)
	}
	// Bounded, so that a message that never comes fails the child (and
	// the test, with the reason) instead of waiting for the watchdog.
	ctx, cancel := context.WithTimeout(context.Background(), xpAwaitBound)
	defer cancel()
	buf := make([]byte, killMsgSize)
	const limit = 1 << 16
	for i := uint64(0); i < limit; i++ {
		if !kill && i == arm {
			if err := c.Close(); err != nil {
				return childFail("Close: %v", err)
			}
			fmt.Println("closed")
			return 0
		}
		if i == arm {
			armed.Store(true)
		}
		switch call {
		case "receive":
			m, err := c.Receive(ctx)
			if err != nil {
				return childFail("Receive %d: %v", i, err)
			}
			seq, err := xpCheck(m)
			if err != nil {
				return childFail("Receive %d: %v", i, err)
			}
			fmt.Printf("got %d %d\n", seq, b2i(c.Redelivered()))
			if i == arm && emulate {
				killSelf()
			}
			c.Release()
		case "recv":
			n, err := c.Recv(ctx, buf)
			if err != nil {
				return childFail("Recv %d: %v", i, err)
			}
			seq, err := xpCheck(buf[:n])
			if err != nil {
				return childFail("Recv %d: %v", i, err)
			}
			fmt.Printf("got %d %d\n", seq, b2i(c.Redelivered()))
		default:
			return childFail("unknown call %q", call)
		}
		if i == arm && target != stepSleepingEmpty {
			return childFail("%s of message %d passed step %v without the hook killing it (does the engine call atStep(%v) there?)", call, i, target, target)
		}
	}
	return childFail("received %d messages and never slept on an empty ring", limit)
}

// killConsumer is a surviving consumer goroutine: it receives until the
// stream ends, checks every message (intact; in its producer's order unless
// redelivered) and enters it in the ledger. call picks Receive/Release,
// Recv or ReceiveBatch.
func killConsumer(ctx context.Context, led *xpLedger, gate *xpGate, c *Consumer, who, call string) error {
	next := map[uint64]uint64{}
	buf := make([]byte, killMsgSize)
	accept := func(m []byte, redelivered bool) error {
		seq, err := xpCheck(m)
		if err != nil {
			return err
		}
		s, k := xpSplit(seq)
		if !redelivered {
			if k < next[s] {
				return fmt.Errorf("%s after message %d of its stream (per-producer order broken)", xpName(seq), next[s]-1)
			}
			next[s] = k + 1
		}
		led.deliver(who, seq, redelivered)
		return nil
	}
	for {
		gate.pass()
		var err error
		switch call {
		case "receive":
			var m []byte
			if m, err = c.Receive(ctx); err == nil {
				err = accept(m, c.Redelivered())
				c.Release()
			}
		case "recv":
			var n int
			if n, err = c.Recv(ctx, buf); err == nil {
				err = accept(buf[:n], c.Redelivered())
			}
		case "receivebatch":
			var ms Messages
			if ms, err = c.ReceiveBatch(ctx, 4); err == nil {
				for i := 0; i < ms.Len() && err == nil; i++ {
					var m []byte
					if m, err = ms.At(i); err == nil {
						err = accept(m, c.Redelivered())
					}
				}
				c.Release()
			}
		}
		if errors.Is(err, ErrClosed) {
			return nil
		}
		if err != nil {
			err = fmt.Errorf("%s: %w", who, err)
			led.fail(err)
			return err
		}
	}
}

// pacedProducer is the surviving producer: between start and stop it sends
// its stream's next messages, one Send, Claim/Commit, SendBatch or
// ClaimBatch (always committed whole: these tests count skipped slots) at a
// time with a short sleep between, so that it sends while a child lives
// and dies without flooding the ring with more than the test needs.
type pacedProducer struct {
	p    *Producer
	next uint64 // the stream's next message; owned by the running goroutine
	msgs [][]byte
}

func newPacedProducer(p *Producer) *pacedProducer {
	pp := &pacedProducer{p: p, msgs: make([][]byte, 4)}
	for i := range pp.msgs {
		pp.msgs[i] = make([]byte, killMsgSize)
	}
	return pp
}

// start runs the producer until the returned stop is called; stop returns
// the stream's next message number (everything below it is committed) or
// the error that ended it.
func (pp *pacedProducer) start(ctx context.Context, wg *sync.WaitGroup) (stop func() (uint64, error)) {
	quit := make(chan struct{})
	done := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-quit:
				done <- nil
				return
			default:
			}
			if err := pp.sendSome(ctx, i); err != nil {
				done <- fmt.Errorf("surviving producer at message %d: %w", pp.next, err)
				return
			}
			time.Sleep(20 * time.Microsecond)
		}
	}()
	return func() (uint64, error) {
		close(quit)
		select {
		case err := <-done:
			return pp.next, err
		case <-time.After(xpAwaitBound):
			// Still blocked (the test's context ends it when the test
			// fails): a producer hangs behind something never repaired.
			return 0, fmt.Errorf("the surviving producer still waits for space after %v (hang)", xpAwaitBound)
		}
	}
}

func (pp *pacedProducer) sendSome(ctx context.Context, i int) error {
	p := pp.p
	switch i % 4 {
	case 0:
		encodeMessage(pp.msgs[0], xpSeq(survivorStream, pp.next))
		if err := p.Send(ctx, pp.msgs[0]); err != nil {
			return err
		}
		pp.next++
	case 1:
		buf, err := p.Claim(ctx)
		if err != nil {
			return err
		}
		encodeMessage(buf[:killMsgSize], xpSeq(survivorStream, pp.next))
		if err := p.Commit(killMsgSize); err != nil {
			return err
		}
		pp.next++
	case 2:
		for j, m := range pp.msgs {
			encodeMessage(m, xpSeq(survivorStream, pp.next+uint64(j)))
		}
		sent, err := p.SendBatch(ctx, pp.msgs)
		if err != nil {
			return err
		}
		pp.next += uint64(sent) // the unsent ones are numbered again next time
	case 3:
		b, err := p.ClaimBatch(ctx, 3)
		if err != nil {
			return err
		}
		for j := range b.Len() {
			encodeMessage(b.Slot(j)[:killMsgSize], xpSeq(survivorStream, pp.next+uint64(j)))
			if err := b.SetLen(j, killMsgSize); err != nil {
				return err
			}
		}
		p.CommitBatch(b.Len())
		pp.next += uint64(b.Len())
	}
	return nil
}

// producerSteps and consumerSteps are the steps each side can die at.
var (
	producerSteps = []step{stepBeforeClaim, stepAfterClaim, stepMidPayload, stepBeforePublish, stepAfterPublish, stepSleepingFull}
	consumerSteps = []step{stepBeforeReceive, stepAfterReceive, stepMidRead, stepBeforeRelease, stepAfterRelease, stepSleepingEmpty}
)

// TestMPMCProducerKilledAtEveryStep: for each step of a claim and commit, a
// producer process kills itself with SIGKILL at that step of its Nth
// message (N = 0..3, or when the ring is full for sleeping-full), 100
// times, on one ring, while a surviving producer in the parent keeps
// sending (Send, Claim/Commit, SendBatch, ClaimBatch) and two consumers in
// the parent keep receiving (Receive/Release, Recv). After each kill:
//
//   - every message the surviving producer committed arrives exactly once,
//     intact, and in order at each consumer — no consumer hangs (a generous
//     deadline turns a hang into a failure with the ring's state);
//   - every message the dead producer committed arrives exactly once;
//   - the one it was in the middle of arrives complete if it died after
//     publishing it, and otherwise never (its slot, if claimed, is
//     skipped): the next producer process sends that message number
//     again, so a torn or unpublished delivery shows as a bad checksum or a
//     duplicate;
//   - the next producer process takes the entry the dead one held (the
//     ring has room for the survivor and one more), i.e. a restarted
//     producer continues.
//
// At the end a last producer process sends and closes, the survivor closes,
// both consumers get ErrClosed after the last message, and the consumers
// together skipped exactly one slot per kill after the claim and before
// the publish, and redelivered nothing.
//
// Without the fault hooks (-tags shmring_faults) only after-claim runs: a
// child reaches it through Claim.
func TestMPMCProducerKilledAtEveryStep(t *testing.T) {
	proctest.Watchdog(t, killHangBound())
	for _, s := range producerSteps {
		t.Run(s.String(), func(t *testing.T) {
			if s != stepAfterClaim {
				requireStepHook(t)
			}
			killProducers(t, s, killsPerStep())
		})
	}
}

func killProducers(t *testing.T, target step, kills int) {
	start := time.Now()
	r := newTestRing(t, Options{Kind: MPMC, SlotSize: killMsgSize, Slots: killSlots, MaxProducers: 2, MaxConsumers: 2})
	r2, err := Open(r.Name()) // the survivor's own mapping, as another process would have
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	sp, err := r2.Producer() // the first entry: each child takes the second
	if err != nil {
		t.Fatal(err)
	}
	sp.SetWait(killWait)
	survivor := newPacedProducer(sp)

	led := newXPLedger()
	gate := newXPGate()
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { // no goroutine may outlive the mapping, even when the test fails
		cancel()
		gate.resume()
		wg.Wait()
	}()
	consumers := make([]*Consumer, 2)
	done := make(chan error, len(consumers))
	for i, call := range []string{"receive", "recv"} {
		c, err := r.Consumer()
		if err != nil {
			t.Fatal(err)
		}
		c.SetWait(killWait)
		consumers[i] = c
		wg.Add(1)
		go func() {
			defer wg.Done()
			done <- killConsumer(ctx, led, gate, c, fmt.Sprintf("consumer %d (%s)", i, call), call)
		}()
	}

	next := uint64(0) // the killed stream's next message number
	wantSkipped := 0
	for i := range kills {
		arm := uint64(i % 4)
		call := "send"
		if i%2 == 1 && target != stepMidPayload { // mid-payload is inside Send's copy
			call = "claim"
		}
		if target == stepSleepingFull {
			arm = 0
		}
		what := fmt.Sprintf("kill %d at %v (%s, message %d)", i, target, call, next+arm)
		child := proctest.Start(t, "kill-producer", r.Name(), target.String(), strconv.FormatUint(next, 10),
			strconv.FormatUint(arm, 10), call)
		child.Expect("ready")
		if target == stepSleepingFull {
			gate.pause() // the ring fills up, and the child sleeps on it
		}
		stop := survivor.start(ctx, &wg)
		if err := child.WriteLine("go"); err != nil {
			t.Fatal(err)
		}
		lines := readLines(child)
		waitKilled(t, child, what)
		gate.resume()
		survivorNext, err := stop()
		if err != nil {
			t.Fatalf("%s: %v\n%s", what, err, xpDump(r))
		}
		for j, line := range lines {
			if want := fmt.Sprintf("sent %d", next+uint64(j)); line != want {
				t.Fatalf("%s: the child said %q, want %q", what, line, want)
			}
		}
		if target != stepSleepingFull && uint64(len(lines)) != arm {
			t.Fatalf("%s: the child committed %d messages before it died, want %d", what, len(lines), arm)
		}
		next += uint64(len(lines))
		switch target {
		case stepAfterPublish: // published: it must arrive, and the next child goes on after it
			next++
		case stepAfterClaim, stepMidPayload, stepBeforePublish: // claimed, never published: skipped
			wantSkipped++
		}
		led.await(t, r, map[uint64]uint64{survivorStream: survivorNext, killedStream: next}, what)
	}

	// A last producer process takes the dead one's entry, sends and closes;
	// then the survivor closes: the stream ends.
	heir := proctest.Start(t, "kill-producer", r.Name(), "none", strconv.FormatUint(next, 10), "8", "send")
	heir.Expect("ready")
	if err := heir.WriteLine("go"); err != nil {
		t.Fatal(err)
	}
	lines := readLines(heir)
	if err := heir.Wait(); err != nil {
		t.Fatalf("the producer process after the last kill: %v", err)
	}
	if len(lines) != 9 || lines[8] != "closed" {
		t.Fatalf("the producer process after the last kill said %q, want 8 sent lines and \"closed\"", lines)
	}
	next += 8
	if err := sp.Close(); err != nil {
		t.Fatal(err)
	}
	for range consumers {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("%v\n%s", err, xpDump(r))
			}
		case <-time.After(xpAwaitBound):
			t.Fatalf("a consumer still waits %v after every producer closed (hang)\n%s", xpAwaitBound, xpDump(r))
		}
	}
	led.await(t, r, map[uint64]uint64{survivorStream: survivor.next, killedStream: next}, "after the stream closed")
	var skipped, redelivered uint64
	for _, c := range consumers {
		skipped += c.Stats().Skipped
		redelivered += c.Stats().Redelivered
	}
	if skipped != uint64(wantSkipped) {
		t.Errorf("consumers skipped %d slots, want %d (one per producer killed holding a claim)", skipped, wantSkipped)
	}
	if redelivered != 0 || led.redeliveries() != 0 {
		t.Errorf("consumers redelivered %d messages (ledger: %d), want 0: no consumer died", redelivered, led.redeliveries())
	}
	t.Logf("%d kills at %v; survivor sent %d, dead and restarted producers %d; skipped %d; %v; %s",
		kills, target, survivor.next, next, skipped, time.Since(start).Round(time.Millisecond), sleepersNote(r))
	checkNoSleepers(t, r)
}

// sleepersNote reports the ring's sleeper counts.
func sleepersNote(r *Ring) string {
	return fmt.Sprintf("sleepers announced: data=%d space=%d",
		layout.SleepersCount(r.word32(layout.MPMCDataSleepersOffset).Load()),
		layout.SleepersCount(r.word32(layout.MPMCSpaceSleepersOffset).Load()))
}

// checkNoSleepers fails the test unless both sleeper counts are back to
// zero once every participant is gone or idle: a process killed while
// announced as a sleeper leaves a count that the next waker must clear
// (layout.SleepersCount), or every later message would cost a FUTEX_WAKE
// system call.
func checkNoSleepers(t *testing.T, r *Ring) {
	t.Helper()
	data, space := r.word32(layout.MPMCDataSleepersOffset).Load(), r.word32(layout.MPMCSpaceSleepersOffset).Load()
	if layout.SleepersCount(data) != 0 || layout.SleepersCount(space) != 0 {
		t.Errorf("sleepers left announced after every participant stopped waiting: data=%d space=%d, want 0 and 0",
			layout.SleepersCount(data), layout.SleepersCount(space))
	}
}
