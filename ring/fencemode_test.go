package ring

import (
	"context"
	"encoding/binary"
	"runtime"
	"testing"

	"github.com/shmring/shmring/internal/fence"
	"github.com/shmring/shmring/layout"
)

// A side publishes with exchanges while the other side sleeps, so that a
// sleeper needs no membarrier, and goes back to plain release stores (and
// says so in its flags word) after releaseAfter publishes that found the
// other side awake. The messages cross every switch whole and in order.
func TestPublishingStoreFollowsWhetherThePeerSleeps(t *testing.T) {
	if !fence.Register() {
		t.Skip("release stores unavailable here (race detector, no membarrier, or not amd64): every publish is an exchange")
	}
	r := newTestRing(t, Options{Kind: SPSC, SlotSize: 64, Slots: 8})
	p, err := r.Producer()
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.Consumer()
	if err != nil {
		t.Fatal(err)
	}
	c.SetWait(WaitSleep)
	flags := r.side(producerRole).flags
	released := func() bool { return flags.Load()&layout.FlagReleaseStores != 0 }
	if !released() {
		t.Fatalf("a new producer's flags=%#x, want FlagReleaseStores", flags.Load())
	}
	ctx := context.Background()
	seq := uint64(0)
	send := func() {
		t.Helper()
		if err := p.Send(ctx, binary.LittleEndian.AppendUint64(nil, seq)); err != nil {
			t.Fatal(err)
		}
		seq++
	}
	recv := func(want uint64) {
		t.Helper()
		buf := make([]byte, 64)
		n, err := c.Recv(ctx, buf)
		if got := binary.LittleEndian.Uint64(buf); err != nil || n != 8 || got != want {
			t.Errorf("Recv = %d bytes %v, seq %d; want seq %d", n, err, got, want)
		}
	}

	// The consumer parks; the publish that wakes it switches to exchanges.
	asleep := r.side(consumerRole).sleepers
	for round := 0; round < 3; round++ {
		got := make(chan struct{})
		want := seq
		go func() { recv(want); close(got) }()
		for asleep.Load() == 0 {
			runtime.Gosched()
		}
		send()
		<-got
		if released() {
			t.Fatalf("round %d: after waking a sleeper the flags=%#x, want FlagReleaseStores clear", round, flags.Load())
		}
	}
	// A stream that finds the consumer awake: plain stores again, exactly
	// after releaseAfter publishes.
	for i := 0; i < releaseAfter; i++ {
		if released() {
			t.Fatalf("plain stores again after %d calm publishes, want %d", i, releaseAfter)
		}
		want := seq
		send()
		recv(want)
	}
	if !released() {
		t.Fatalf("after %d calm publishes the flags=%#x, want FlagReleaseStores", releaseAfter, flags.Load())
	}
}
