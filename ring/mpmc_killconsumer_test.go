//go:build linux

package ring

// Consumers killed at every step of receive and release (issue 4, acceptance 3).

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/shmring/shmring/internal/proctest"
)

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
//
// Without the fault hooks (-tags shmring_faults) only before-release runs:
// a child reaches it by not calling Release.
func TestMPMCConsumerKilledAtEveryStep(t *testing.T) {
	proctest.Watchdog(t, killHangBound())
	for i, s := range consumerSteps {
		t.Run(s.String(), func(t *testing.T) {
			if s != stepBeforeRelease {
				requireStepHook(t)
			}
			killConsumers(t, s, killsPerStep(), i)
		})
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
