package ring

// kill -9 at every step of an MPMC ring's claim, commit, receive and release
// (issue 4, acceptance 3), SIGSTOP (a stopped process is not a dead one),
// and the latency of recovering from a producer's death.
//
// A child process sets stepHook to SIGKILL itself at one step of its Nth
// message. The parent holds the surviving participants, as goroutines with
// their own handles (and a mapping of their own for the other side): they
// keep sending and receiving across the kill, and a ledger proves that
// every committed message arrives exactly once. Each ring is reused for
// all the kills of a step, with room for the survivors and one child only,
// so each new child must take over the entry its dead predecessor left: a
// restarted producer or consumer continues.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
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
	var armed atomic.Bool
	if kill {
		stepHook = func(s step) {
			if s == target && armed.Load() {
				killSelf()
			}
		}
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
	var armed atomic.Bool
	if kill {
		stepHook = func(s step) {
			if s == target && armed.Load() {
				killSelf()
			}
		}
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
func TestMPMCProducerKilledAtEveryStep(t *testing.T) {
	proctest.Watchdog(t, killHangBound())
	for _, s := range producerSteps {
		t.Run(s.String(), func(t *testing.T) { killProducers(t, s, killsPerStep()) })
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

// TestMPMCConsumerKilledAtEveryStep: for each step of a receive and
// release, a consumer process kills itself with SIGKILL at that step of
// its Nth message (N = 1..3, or when it sleeps on an empty ring for
// sleeping-empty), 100 times, on one ring, while a producer in the parent
// keeps sending and a surviving consumer in the parent keeps receiving
// (Receive/Release, Recv and ReceiveBatch in turn). After each kill every
// message sent arrives exactly once — at the dead consumer before it died
// (and released), or at the survivor, intact, in order unless marked
// redelivered — with no hang; a message the dead consumer held (it died
// after stamping its lease and before releasing it) reaches the survivor
// once, with Redelivered() true; one it released, or had not taken, is not
// redelivered. The next consumer process takes the dead one's entry. At
// the end a last consumer process receives and closes, the producer closes
// and the survivor ends with ErrClosed; its Stats.Redelivered counts the
// redeliveries.
func TestMPMCConsumerKilledAtEveryStep(t *testing.T) {
	proctest.Watchdog(t, killHangBound())
	for i, s := range consumerSteps {
		t.Run(s.String(), func(t *testing.T) { killConsumers(t, s, killsPerStep(), i) })
	}
}

func killConsumers(t *testing.T, target step, kills, variant int) {
	start := time.Now()
	r := newTestRing(t, Options{Kind: MPMC, SlotSize: killMsgSize, Slots: killSlots, MaxProducers: 1, MaxConsumers: 2})
	r2, err := Open(r.Name()) // the producer's own mapping
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	sc, err := r.Consumer() // the first entry: each child takes the second
	if err != nil {
		t.Fatal(err)
	}
	sc.SetWait(killWait)
	p, err := r2.Producer()
	if err != nil {
		t.Fatal(err)
	}
	p.SetWait(killWait)
	producer := newPacedProducer(p)

	led := newXPLedger()
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { // no goroutine may outlive the mapping, even when the test fails
		cancel()
		wg.Wait()
	}()
	done := make(chan error, 1)
	// Each call in turn: Redelivered reports on the message the last call
	// returned, so it shows the mark after Recv too, which has released.
	survivorCall := []string{"receive", "receivebatch", "recv"}[variant%3]
	wg.Add(1)
	go func() {
		defer wg.Done()
		done <- killConsumer(ctx, led, newXPGate(), sc, "the surviving consumer ("+survivorCall+")", survivorCall)
	}()

	wantRedelivered := 0
	for i := range kills {
		arm := uint64(1 + i%3) // at least one message first: a redelivered one it may take over comes first
		call := "receive"
		switch target {
		case stepMidRead:
			call = "recv" // the copy is the read
		case stepBeforeReceive, stepAfterReceive, stepSleepingEmpty:
			if i%2 == 1 {
				call = "recv"
			}
		}
		what := fmt.Sprintf("kill %d at %v (%s, message %d)", i, target, call, arm)
		child := proctest.Start(t, "kill-consumer", r.Name(), target.String(), strconv.FormatUint(arm, 10), call)
		child.Expect("ready")
		stop := producer.start(ctx, &wg)
		if err := child.WriteLine("go"); err != nil {
			t.Fatal(err)
		}
		lines := readLines(child)
		waitKilled(t, child, what)
		sent, err := stop()
		if err != nil {
			t.Fatalf("%s: %v\n%s", what, err, xpDump(r))
		}
		got, red, err := parseGotLines(lines)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if target != stepSleepingEmpty && target != stepBeforeRelease && target != stepAfterRelease && uint64(len(got)) != arm {
			t.Fatalf("%s: the child received %d messages before it died, want %d", what, len(got), arm)
		}
		held := -1 // the message the child held when it died, if it printed it
		switch target {
		case stepBeforeRelease:
			if uint64(len(got)) != arm+1 {
				t.Fatalf("%s: the child printed %d messages, want %d (the last one held)", what, len(got), arm+1)
			}
			held = len(got) - 1
			wantRedelivered++
		case stepAfterRelease:
			if uint64(len(got)) != arm+1 {
				t.Fatalf("%s: the child printed %d messages, want %d (the last one released)", what, len(got), arm+1)
			}
		case stepAfterReceive, stepMidRead:
			wantRedelivered++
		}
		for j, seq := range got {
			if j != held {
				led.deliver("the consumer process of "+what, seq, red[j])
			}
		}
		led.await(t, r, map[uint64]uint64{survivorStream: sent}, what)
		if n := led.redeliveries(); n != wantRedelivered {
			t.Fatalf("%s: %d messages redelivered so far, want %d\n%s", what, n, wantRedelivered, xpDump(r))
		}
		if held >= 0 && !led.wasRedelivered(got[held]) {
			t.Fatalf("%s: %s, held by the dead consumer, arrived without the Redelivered mark", what, xpName(got[held]))
		}
	}

	// A last consumer process takes the dead one's entry, receives and
	// closes; the producer closes; the survivor gets ErrClosed.
	heir := proctest.Start(t, "kill-consumer", r.Name(), "none", "4", "receive")
	heir.Expect("ready")
	stop := producer.start(ctx, &wg)
	if err := heir.WriteLine("go"); err != nil {
		t.Fatal(err)
	}
	lines := readLines(heir)
	if err := heir.Wait(); err != nil {
		t.Fatalf("the consumer process after the last kill: %v", err)
	}
	sent, err := stop()
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 5 || lines[4] != "closed" {
		t.Fatalf("the consumer process after the last kill said %q, want 4 got lines and \"closed\"", lines)
	}
	got, red, err := parseGotLines(lines[:4])
	if err != nil {
		t.Fatal(err)
	}
	for j, seq := range got {
		led.deliver("the last consumer process", seq, red[j])
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%v\n%s", err, xpDump(r))
		}
	case <-time.After(xpAwaitBound):
		t.Fatalf("the surviving consumer still waits %v after the producer closed (hang)\n%s", xpAwaitBound, xpDump(r))
	}
	led.await(t, r, map[uint64]uint64{survivorStream: sent}, "after the stream closed")
	if n := led.redeliveries(); n != wantRedelivered {
		t.Errorf("%d messages redelivered, want %d", n, wantRedelivered)
	}
	if st := sc.Stats(); st.Redelivered != uint64(led.redeliveries()) || st.Skipped != 0 {
		t.Errorf("surviving consumer Stats Redelivered=%d Skipped=%d, want %d and 0", st.Redelivered, st.Skipped, led.redeliveries())
	}
	t.Logf("%d kills at %v; %d messages, %d redelivered; %v; %s",
		kills, target, sent, led.redeliveries(), time.Since(start).Round(time.Millisecond), sleepersNote(r))
	checkNoSleepers(t, r)
}

// stopWait is how long a caller waits behind a stopped process: many ticks
// of killWait and of DefaultWait, so that it probes the stopped holder's
// liveness many times. Not a time limit on anything.
const stopWait = 150 * time.Millisecond

// TestMPMCConsumerSeesPeerDeadWhenEveryProducerProcessDied: two producer
// processes send three messages each and are killed holding a claim. The
// consumer receives the six messages, skips the two dead claims and then
// gets ErrPeerDead instead of waiting forever. A new producer process
// reopens the stream: the consumer receives its messages, then ErrClosed
// when it closes.
func TestMPMCConsumerSeesPeerDeadWhenEveryProducerProcessDied(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	r := newTestRing(t, Options{Kind: MPMC, SlotSize: killMsgSize, Slots: killSlots, MaxProducers: 2, MaxConsumers: 1})
	c, err := r.Consumer()
	if err != nil {
		t.Fatal(err)
	}
	c.SetWait(killWait)
	want := map[uint64]bool{}
	var dead []*proctest.Child
	for _, first := range []uint64{0, 100} {
		child := proctest.Start(t, "kill-producer", r.Name(), stepAfterClaim.String(), strconv.FormatUint(first, 10), "3", "send")
		child.Expect("ready")
		dead = append(dead, child)
		for k := first; k < first+3; k++ {
			want[xpSeq(killedStream, k)] = true
		}
	}
	for _, child := range dead {
		if err := child.WriteLine("go"); err != nil {
			t.Fatal(err)
		}
	}
	for _, child := range dead {
		readLines(child)
		waitKilled(t, child, "a producer process killed after its claim")
	}
	ctx := xpBounded(t)
	buf := make([]byte, killMsgSize)
	recvAll := func(n int) {
		t.Helper()
		for range n {
			got, err := c.Recv(ctx, buf)
			if err != nil {
				t.Fatalf("Recv with %d messages still due: %v\n%s", len(want), err, xpDump(r))
			}
			seq, err := xpCheck(buf[:got])
			if err != nil {
				t.Fatal(err)
			}
			if !want[seq] {
				t.Fatalf("received %s, not due (a duplicate, or never committed)", xpName(seq))
			}
			delete(want, seq)
		}
	}
	recvAll(6)
	if _, err := c.Recv(ctx, buf); !errors.Is(err, ErrPeerDead) {
		t.Fatalf("Recv after every producer process died = %v, want ErrPeerDead\n%s", err, xpDump(r))
	}
	if st := c.Stats(); st.Skipped != 2 {
		t.Errorf("consumer Stats.Skipped=%d, want 2 (one claim per dead producer)", st.Skipped)
	}

	heir := proctest.Start(t, "kill-producer", r.Name(), "none", "200", "4", "send")
	heir.Expect("ready")
	if err := heir.WriteLine("go"); err != nil {
		t.Fatal(err)
	}
	for k := uint64(200); k < 204; k++ {
		want[xpSeq(killedStream, k)] = true
	}
	recvAll(4)
	if _, err := c.Recv(ctx, buf); !errors.Is(err, ErrClosed) {
		t.Fatalf("Recv after the new producer closed = %v, want ErrClosed\n%s", err, xpDump(r))
	}
	if err := heir.Wait(); err != nil {
		t.Fatal(err)
	}
}

// TestMPMCProducerSeesPeerDeadWhenEveryConsumerProcessDied: the only
// consumer process dies holding a message, and the producer fills the
// ring behind it: Send then returns ErrPeerDead instead of waiting
// forever. A new consumer process takes the dead one's entry, gets the
// held message first with Redelivered() true, then the rest in order.
func TestMPMCProducerSeesPeerDeadWhenEveryConsumerProcessDied(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	r := newTestRing(t, Options{Kind: MPMC, SlotSize: killMsgSize, Slots: killSlots, MaxProducers: 1, MaxConsumers: 1})
	p, err := r.Producer()
	if err != nil {
		t.Fatal(err)
	}
	p.SetWait(killWait)
	msg := make([]byte, killMsgSize)
	k := uint64(0)
	trySend := func() error {
		encodeMessage(msg, xpSeq(survivorStream, k))
		err := p.TrySend(msg)
		if err == nil {
			k++
		}
		return err
	}
	child := proctest.Start(t, "kill-consumer", r.Name(), stepBeforeRelease.String(), "2", "receive")
	child.Expect("ready")
	for range 3 {
		if err := trySend(); err != nil {
			t.Fatal(err)
		}
	}
	if err := child.WriteLine("go"); err != nil {
		t.Fatal(err)
	}
	lines := readLines(child)
	waitKilled(t, child, "a consumer process killed before its release")
	if want := []string{"got 0 0", "got 1 0", "got 2 0"}; fmt.Sprint(lines) != fmt.Sprint(want) {
		t.Fatalf("the consumer process said %q, want %q", lines, want)
	}
	for {
		err := trySend()
		if errors.Is(err, ErrFull) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if k != 3+killSlots-1 {
		t.Fatalf("the ring took messages up to %d, want up to %d (one slot held by the dead consumer)", k, 3+killSlots-1)
	}
	encodeMessage(msg, xpSeq(survivorStream, k))
	if err := p.Send(xpBounded(t), msg); !errors.Is(err, ErrPeerDead) {
		t.Fatalf("Send on a ring full behind the only, dead, consumer = %v, want ErrPeerDead\n%s", err, xpDump(r))
	}

	heir := proctest.Start(t, "kill-consumer", r.Name(), "none", strconv.FormatUint(k-2, 10), "receive")
	heir.Expect("ready")
	if err := heir.WriteLine("go"); err != nil {
		t.Fatal(err)
	}
	lines = readLines(heir)
	if err := heir.Wait(); err != nil {
		t.Fatalf("the new consumer process: %v", err)
	}
	want := []string{"got 2 1"}
	for j := uint64(3); j < k; j++ {
		want = append(want, fmt.Sprintf("got %d 0", xpSeq(survivorStream, j)))
	}
	want = append(want, "closed")
	if fmt.Sprint(lines) != fmt.Sprint(want) {
		t.Fatalf("the new consumer process said %q, want %q (the dead one's held message first, marked, then the rest)\n%s", lines, want, xpDump(r))
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
}

// childStopProducer takes a producer, claims a slot and writes
// killedStream's message 0 into it, says "claimed", and commits it when it
// reads "commit" (it is stopped and continued in between); then says
// "committed" and closes.
func childStopProducer() int {
	name := childArgs(1)[0]
	r, err := Open(name)
	if err != nil {
		return childFail("Open: %v", err)
	}
	defer r.Close()
	p, err := r.Producer()
	if err != nil {
		return childFail("Producer: %v", err)
	}
	buf, err := p.Claim(context.Background())
	if err != nil {
		return childFail("Claim: %v", err)
	}
	encodeMessage(buf[:killMsgSize], xpSeq(killedStream, 0))
	fmt.Println("claimed")
	if line := readStdinLine(); line != "commit" {
		return childFail("want the line \"commit\" on stdin, got %q", line)
	}
	if err := p.Commit(killMsgSize); err != nil {
		return childFail("Commit after SIGCONT = %v, want it published (a stopped producer is not a dead one)", err)
	}
	fmt.Println("committed")
	if err := p.Close(); err != nil {
		return childFail("Close: %v", err)
	}
	return 0
}

// TestMPMCStoppedProducerIsNotRepaired: a producer process stopped with
// SIGSTOP while it holds a claim keeps its liveness lock, so nothing of its
// is repaired: a consumer waiting behind its claim (with a message
// published after it) gets context.DeadlineExceeded however many times it
// probes, skips nothing and repairs nothing, and TryReceive finds nothing.
// After SIGCONT the producer commits, and the consumer receives its message
// and then the later one, intact and in order.
func TestMPMCStoppedProducerIsNotRepaired(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	for _, w := range []struct {
		name string
		wait WaitStrategy
	}{{"a 1 ms tick", killWait}, {"DefaultWait", DefaultWait}} {
		t.Run("a consumer with "+w.name, func(t *testing.T) {
			r := newTestRing(t, Options{Kind: MPMC, SlotSize: killMsgSize, Slots: killSlots, MaxProducers: 2, MaxConsumers: 1})
			c, err := r.Consumer()
			if err != nil {
				t.Fatal(err)
			}
			c.SetWait(w.wait)
			child := proctest.Start(t, "stop-producer", r.Name())
			child.Expect("claimed")
			stopChild(t, child)

			p, err := r.Producer()
			if err != nil {
				t.Fatal(err)
			}
			msg := make([]byte, killMsgSize)
			encodeMessage(msg, xpSeq(survivorStream, 0))
			if err := p.Send(xpBounded(t), msg); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), stopWait)
			_, err = c.Receive(ctx)
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Receive behind a stopped producer's claim = %v, want context.DeadlineExceeded\n%s", err, xpDump(r))
			}
			if _, err := c.TryReceive(); !errors.Is(err, ErrEmpty) {
				t.Fatalf("TryReceive behind a stopped producer's claim = %v, want ErrEmpty\n%s", err, xpDump(r))
			}
			if st := c.Stats(); st.Skipped != 0 || st.Repaired != 0 {
				t.Fatalf("consumer Stats Skipped=%d Repaired=%d behind a stopped producer, want 0 and 0\n%s", st.Skipped, st.Repaired, xpDump(r))
			}

			if err := child.Signal(syscall.SIGCONT); err != nil {
				t.Fatal(err)
			}
			if err := child.WriteLine("commit"); err != nil {
				t.Fatal(err)
			}
			child.Expect("committed")
			buf := make([]byte, killMsgSize)
			for _, want := range []uint64{xpSeq(killedStream, 0), xpSeq(survivorStream, 0)} {
				n, err := c.Recv(xpBounded(t), buf)
				if err != nil {
					t.Fatalf("Recv of %s after SIGCONT: %v\n%s", xpName(want), err, xpDump(r))
				}
				if err := checkMessage(buf[:n], want, killMsgSize); err != nil {
					t.Fatal(err)
				}
			}
			if err := child.Wait(); err != nil {
				t.Fatal(err)
			}
			p.Close()
			if _, err := c.Recv(xpBounded(t), buf); !errors.Is(err, ErrClosed) {
				t.Fatalf("Recv after both producers closed = %v, want ErrClosed", err)
			}
		})
	}
}

// childStopConsumer takes a consumer, receives one message and says
// "holding SEQ"; it releases it when it reads "release" (it is stopped and
// continued in between), says "released" and closes.
func childStopConsumer() int {
	name := childArgs(1)[0]
	r, err := Open(name)
	if err != nil {
		return childFail("Open: %v", err)
	}
	defer r.Close()
	c, err := r.Consumer()
	if err != nil {
		return childFail("Consumer: %v", err)
	}
	m, err := c.Receive(context.Background())
	if err != nil {
		return childFail("Receive: %v", err)
	}
	seq, err := xpCheck(m)
	if err != nil {
		return childFail("Receive: %v", err)
	}
	fmt.Printf("holding %d\n", seq)
	if line := readStdinLine(); line != "release" {
		return childFail("want the line \"release\" on stdin, got %q", line)
	}
	if seq2, err := xpCheck(m); err != nil || seq2 != seq {
		return childFail("the held message changed while this process was stopped: %d, %v", seq2, err)
	}
	c.Release()
	fmt.Println("released")
	if err := c.Close(); err != nil {
		return childFail("Close: %v", err)
	}
	return 0
}

// TestMPMCStoppedConsumerIsNotRepaired: a consumer process stopped with
// SIGSTOP while it holds a message keeps its liveness lock, so its lease
// is not taken from it: a producer that filled the ring behind it gets
// context.DeadlineExceeded from Send, a surviving consumer that drained the
// rest gets context.DeadlineExceeded from Receive, and nothing is
// redelivered. After SIGCONT the stopped consumer releases its message,
// the producer's next Send goes through, and the survivor receives it: the
// held message was delivered once, to the stopped consumer.
func TestMPMCStoppedConsumerIsNotRepaired(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	r := newTestRing(t, Options{Kind: MPMC, SlotSize: killMsgSize, Slots: killSlots, MaxProducers: 1, MaxConsumers: 2})
	c, err := r.Consumer()
	if err != nil {
		t.Fatal(err)
	}
	c.SetWait(killWait)
	p, err := r.Producer()
	if err != nil {
		t.Fatal(err)
	}
	p.SetWait(killWait)
	msg := make([]byte, killMsgSize)
	send := func(ctx context.Context, k uint64) error {
		encodeMessage(msg, xpSeq(survivorStream, k))
		return p.Send(ctx, msg)
	}
	if err := send(xpBounded(t), 0); err != nil {
		t.Fatal(err)
	}
	child := proctest.Start(t, "stop-consumer", r.Name())
	child.Expect(fmt.Sprintf("holding %d", xpSeq(survivorStream, 0)))
	stopChild(t, child)

	k := uint64(1)
	for ; ; k++ {
		encodeMessage(msg, xpSeq(survivorStream, k))
		err := p.TrySend(msg)
		if errors.Is(err, ErrFull) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if k != killSlots {
		t.Fatalf("the ring took messages up to %d, want up to %d (%d slots, one held)", k, killSlots, killSlots)
	}
	ctx, cancel := context.WithTimeout(context.Background(), stopWait)
	err = send(ctx, k)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Send on a ring full behind a stopped consumer's lease = %v, want context.DeadlineExceeded\n%s", err, xpDump(r))
	}
	buf := make([]byte, killMsgSize)
	for j := uint64(1); j < k; j++ {
		n, err := c.Recv(xpBounded(t), buf)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkMessage(buf[:n], xpSeq(survivorStream, j), killMsgSize); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel = context.WithTimeout(context.Background(), stopWait)
	_, err = c.Receive(ctx)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Receive while a stopped consumer holds the only other message = %v, want context.DeadlineExceeded\n%s", err, xpDump(r))
	}
	if st := c.Stats(); st.Redelivered != 0 || st.Repaired != 0 {
		t.Fatalf("surviving consumer Stats Redelivered=%d Repaired=%d, want 0 and 0\n%s", st.Redelivered, st.Repaired, xpDump(r))
	}

	if err := child.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if err := child.WriteLine("release"); err != nil {
		t.Fatal(err)
	}
	child.Expect("released")
	if err := child.Wait(); err != nil {
		t.Fatal(err)
	}
	if err := send(xpBounded(t), k); err != nil {
		t.Fatalf("Send after the stopped consumer released: %v", err)
	}
	n, err := c.Recv(xpBounded(t), buf)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkMessage(buf[:n], xpSeq(survivorStream, k), killMsgSize); err != nil {
		t.Fatal(err)
	}
	if c.Redelivered() || c.Stats().Redelivered != 0 {
		t.Fatal("a message was redelivered although its consumer was only stopped")
	}
	p.Close()
	if _, err := c.Recv(xpBounded(t), buf); !errors.Is(err, ErrClosed) {
		t.Fatalf("Recv after the producer closed = %v, want ErrClosed", err)
	}
}

// childRecoveryProducer takes a producer and claims a slot; at the step
// after the claim it says "claimed", waits for "die", prints the
// CLOCK_MONOTONIC time and kills itself.
func childRecoveryProducer() int {
	name := childArgs(1)[0]
	stepHook = func(s step) {
		if s == stepAfterClaim {
			fmt.Println("claimed")
			if line := readStdinLine(); line != "die" {
				fmt.Fprintf(os.Stderr, "child: want the line \"die\", got %q\n", line)
			}
			fmt.Printf("dead %d\n", monoNanos())
			killSelf()
		}
	}
	r, err := Open(name)
	if err != nil {
		return childFail("Open: %v", err)
	}
	defer r.Close()
	p, err := r.Producer()
	if err != nil {
		return childFail("Producer: %v", err)
	}
	_, err = p.Claim(context.Background())
	return childFail("Claim returned (%v) without the hook killing the process", err)
}

// BenchmarkMPMCRecoveryAfterProducerDeath measures how long a consumer
// waits after a producer process dies holding a claim (at the step after
// the claim is stamped) until it receives the next message, published by
// another producer behind the dead claim: the recovery bound of the
// default wait strategy (spin + yield + one 10 ms tick) in practice. The
// consumer is asleep on the futex when the producer dies, as a consumer
// behind a stalled claim is; it probes its peers' liveness after each sleep
// that times out. The time runs from the child's reading of
// CLOCK_MONOTONIC just before it kills itself to the parent's reading just
// after Receive returns.
//
// death=after-sleep kills the producer as soon as the consumer has gone to
// sleep, so the consumer sleeps out nearly a whole tick: the bound.
// death=random kills it a uniformly random part of a tick later: what a
// death at an unrelated moment costs.
//
// Each op also starts a process, so ns/op means little; recovery-p50-ns
// and recovery-p99-ns are the figures. Use -benchtime=200x or more for a
// p99 worth quoting.
func BenchmarkMPMCRecoveryAfterProducerDeath(b *testing.B) {
	for _, random := range []bool{false, true} {
		name := "death=after-sleep"
		if random {
			name = "death=random"
		}
		b.Run(name, func(b *testing.B) { benchRecovery(b, random) })
	}
}

func benchRecovery(b *testing.B, random bool) {
	proctest.Watchdog(b, killHangBound())
	r := newTestRing(b, Options{Kind: MPMC, SlotSize: killMsgSize, Slots: 64, MaxProducers: 2, MaxConsumers: 1})
	r2, err := Open(r.Name())
	if err != nil {
		b.Fatal(err)
	}
	defer r2.Close()
	p, err := r2.Producer()
	if err != nil {
		b.Fatal(err)
	}
	c, err := r.Consumer()
	if err != nil {
		b.Fatal(err)
	}
	c.SetWait(DefaultWait)
	hist := hdrhistogram.New(1, int64(10*time.Second), 3)
	sleepers := r.word32(layout.MPMCDataSleepersOffset)
	phase := rand.New(rand.NewPCG(integritySeed(), 7))
	msg := make([]byte, killMsgSize)
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { // the receiving goroutine must not outlive the mapping
		cancel()
		wg.Wait()
	}()
	for k := uint64(0); b.Loop(); k++ {
		child := proctest.Start(b, "recovery-producer", r.Name())
		child.Expect("claimed")
		encodeMessage(msg, xpSeq(survivorStream, k))
		if err := p.Send(ctx, msg); err != nil {
			b.Fatal(err)
		}
		got := make(chan error, 1)
		var recvAt int64
		base := sleepers.Load() // sleepers a killed process may have left announced
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := c.Receive(ctx)
			recvAt = monoNanos()
			if err == nil {
				err = checkMessage(m, xpSeq(survivorStream, k), killMsgSize)
				c.Release()
			}
			got <- err
		}()
		// Let the consumer fall asleep behind the live claim, as it would.
		for i := 0; sleepers.Load() == base && i < 10000; i++ {
			time.Sleep(10 * time.Microsecond)
		}
		if random {
			time.Sleep(time.Duration(phase.Int64N(int64(DefaultTick))))
		}
		if err := child.WriteLine("die"); err != nil {
			b.Fatal(err)
		}
		line, err := child.ReadLine()
		if err != nil {
			b.Fatal(err)
		}
		var deadAt int64
		if _, err := fmt.Sscanf(line, "dead %d", &deadAt); err != nil {
			b.Fatalf("the child said %q: %v", line, err)
		}
		if err := <-got; err != nil {
			b.Fatalf("Receive after the producer died: %v\n%s", err, xpDump(r))
		}
		if err := child.Wait(); !killedBySIGKILL(err) {
			b.Fatalf("the child was not killed: %v", err)
		}
		hist.RecordValue(max(recvAt-deadAt, 1))
	}
	b.StopTimer()
	if st := c.Stats(); st.Skipped != uint64(b.N) {
		b.Errorf("consumer skipped %d slots in %d recoveries, want one each", st.Skipped, b.N)
	}
	b.ReportMetric(float64(hist.ValueAtQuantile(50)), "recovery-p50-ns")
	b.ReportMetric(float64(hist.ValueAtQuantile(99)), "recovery-p99-ns")
	b.ReportMetric(float64(hist.Max()), "recovery-max-ns")
}
