package interop

// Peer death across languages: a producer or consumer killed with SIGKILL is
// reported by its peer of the other language (ErrPeerDead, SHMRING_EPEERDEAD),
// and a new process, of either language, takes the dead one's role over; the
// stream then completes with nothing lost or duplicated.

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/ring"
)

func other(lang string) string {
	if lang == "go" {
		return "c"
	}
	return "go"
}

func TestPeerDeathAcrossLanguages(t *testing.T) {
	const total, before = 1000, 100 // messages in all; handled before the victim dies
	for _, victimRole := range []string{"consumer", "producer"} {
		for _, victim := range []string{"c", "go"} {
			for _, takeover := range []string{"c", "go"} {
				survivor, survivorRole := other(victim), "producer"
				if victimRole == "producer" {
					survivorRole = "consumer"
				}
				name := fmt.Sprintf("%s %s killed, %s %s notices, %s takes over", victim, victimRole, survivor, survivorRole, takeover)
				t.Run(name, func(t *testing.T) {
					proctest.Watchdog(t, hangBound)
					ringName := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 64})
					if victimRole == "consumer" {
						consumerDies(t, ringName, victim, survivor, takeover, total, before)
					} else {
						producerDies(t, ringName, victim, survivor, takeover, total, before)
					}
				})
			}
		}
	}
}

// consumerDies: the victim consumer holds message `before` unreleased when it
// is killed; the producer, blocked on the full ring, reports the death; the
// new consumer starts at the victim's cursor, so it gets message `before`
// again and the rest.
func consumerDies(t *testing.T, name, victim, survivor, takeover string, total, before int) {
	prod := start(t, survivor, "produce", name, "0", strconv.Itoa(total), "close")
	prod.Expect("ready")
	v := start(t, victim, "consume", name, "0", strconv.Itoa(before), "hang")
	v.Expect("ready")
	v.Expect("holding " + strconv.Itoa(before))
	v.Kill()
	if err := v.Wait(); err == nil {
		t.Fatal("the killed consumer exited cleanly")
	}
	expectPrefix(t, prod, "peerdead", nil) // the producer, waiting for space, saw the death
	cons := start(t, takeover, "consume", name, strconv.Itoa(before), strconv.Itoa(total-before), "closed")
	cons.Expect("ready")
	finish(t, prod, "done "+strconv.Itoa(total), cons, total-before)
}

// producerDies: the victim producer has published `before` messages when it
// is killed; the consumer, waiting for more, reports the death; the new
// producer continues at the victim's cursor.
func producerDies(t *testing.T, name, victim, survivor, takeover string, total, before int) {
	cons := start(t, survivor, "consume", name, "0", strconv.Itoa(total), "closed")
	cons.Expect("ready")
	v := start(t, victim, "produce", name, "0", strconv.Itoa(before), "hang")
	v.Expect("ready")
	v.Expect("sent " + strconv.Itoa(before))
	v.Kill()
	if err := v.Wait(); err == nil {
		t.Fatal("the killed producer exited cleanly")
	}
	expectPrefix(t, cons, "peerdead", nil) // the consumer, waiting for data, saw the death
	prod := start(t, takeover, "produce", name, strconv.Itoa(before), strconv.Itoa(total-before), "close")
	prod.Expect("ready")
	finish(t, prod, "done "+strconv.Itoa(total-before), cons, total)
}

// finish reads the producer's last word and the consumer's count (each may
// first repeat "peerdead" while it waited for the newcomer) and reaps both.
func finish(t *testing.T, prod *proctest.Child, done string, cons *proctest.Child, received int) {
	seen := map[string]int{}
	if got := expectPrefix(t, prod, "done", seen); got != done {
		t.Fatalf("producer said %q, want %q", got, done)
	}
	var n, bytes int
	if _, err := fmt.Sscanf(expectPrefix(t, cons, "ok", seen), "ok %d %d", &n, &bytes); err != nil || n != received {
		t.Fatalf("consumer received %d messages (%v), want %d", n, err, received)
	}
	for line := range seen {
		if line != "peerdead" {
			t.Errorf("unexpected line %q", line)
		}
	}
	for _, c := range []*proctest.Child{prod, cons} {
		if err := c.Wait(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPollingNoticesPeerDeathAcrossLanguages: a C or Python peer that only
// polls (timeout 0 in its own loop) hears of its Go peer's death as a
// waiting one does, after everything the dead one published: a consumer or
// broadcast reader after the three messages the producer sent, a producer
// once the consumer that held the ring full is killed. Then, as in Go,
// every later call says so again (three more polls and a call that waits,
// before it sleeps), not "empty" (or "full") until the next probe is due.
func TestPollingNoticesPeerDeathAcrossLanguages(t *testing.T) {
	// A hang guard, not a time limit: a poller that never hears of the
	// death hangs, and hangBound a subtest would keep CI past its budget.
	const pollBound = time.Minute
	const sent, slots = 3, 8
	for _, tc := range []struct {
		lang, role string
		kind       ring.Kind
	}{
		{"c", "consumer", ring.SPSC},
		{"c", "reader", ring.Broadcast},
		{"c", "producer", ring.SPSC},
		{"python", "consumer", ring.SPSC},
		{"python", "reader", ring.Broadcast},
	} {
		t.Run(tc.lang+" "+tc.role, func(t *testing.T) {
			proctest.Watchdog(t, pollBound)
			name := newRing(t, ring.Options{Kind: tc.kind, SlotSize: 64, Slots: slots})
			poller := start(t, tc.lang, "poll", name, tc.role)
			poller.Expect("ready")
			var victim *proctest.Child
			want := "peerdead " + strconv.Itoa(sent)
			if tc.role == "producer" {
				victim = start(t, "go", "consume", name, "0", "0", "hang")
				victim.Expect("ready")
				victim.Expect("holding 0")
				want = "peerdead " + strconv.Itoa(slots)
			} else {
				victim = start(t, "go", "produce", name, "0", strconv.Itoa(sent), "hang")
				victim.Expect("ready")
				victim.Expect("sent " + strconv.Itoa(sent))
			}
			victim.Kill()
			if err := victim.Wait(); err == nil {
				t.Fatal("the killed peer exited cleanly")
			}
			dead := strconv.Itoa(vPeerDead)
			poller.Expect(want + " then " + strings.Repeat(dead+" ", 3) + dead + " slept 0")
			if err := poller.Wait(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestLosslessJoinersNeverSkipSilentlyAcrossLanguages: a C or Python
// lossless reader joins a broadcast ring at Oldest and receives one
// message; the Go producer, under a limit it scanned before the join,
// overwrites messages the reader has not read. The reader must report
// the hole as a lap (LAYOUT.md 14.6 step 5, 14.7): what it delivered,
// with the misses counted, reaches exactly every message sent.
func TestLosslessJoinersNeverSkipSilentlyAcrossLanguages(t *testing.T) {
	for _, lang := range []string{"c", "python"} {
		t.Run(lang, func(t *testing.T) {
			proctest.Watchdog(t, hangBound)
			const size = 64
			name := newRing(t, ring.Options{Kind: ring.Broadcast, SlotSize: size, Slots: 8})
			p := goProducer(t, name)
			m := make([]byte, size)
			sent := uint64(0)
			send := func() error {
				err := p.TrySend(m[:encode(m, sent, size)])
				if err == nil {
					sent++
				}
				return err
			}
			for sent < 100 { // no reader yet: the producer laps the ring freely
				if err := send(); err != nil {
					t.Fatal(err)
				}
			}
			rd := start(t, lang, "joiner", name)
			first := expectPrefix(t, rd, "first", nil)
			for range 100 { // under the limit scanned before the join, then gated
				if err := send(); errors.Is(err, ring.ErrFull) {
					break
				} else if err != nil {
					t.Fatal(err)
				}
			}
			if err := rd.WriteLine("go"); err != nil {
				t.Fatal(err)
			}
			var next, laps uint64
			end := expectPrefix(t, rd, "end", nil)
			if _, err := fmt.Sscanf(end, "end %d laps %d", &next, &laps); err != nil {
				t.Fatalf("the reader said %q: %v", end, err)
			}
			if next != sent || laps == 0 {
				t.Fatalf("the reader (%s) ended with %q: want next %d and at least one lap (the producer overwrote what it had not read)", first, end, sent)
			}
			if err := rd.Wait(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
