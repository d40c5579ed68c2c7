package ring

// Integrity of record rings across two real processes: the streams of
// integrity_test.go, with lengths from 0 to MaxMessage, most of them short.

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/shmring/shmring/internal/proctest"
)

// recLength draws a record length in [0, max]: most are short (as market
// data is), some up to a KiB, a few up to max (as frames are), so that a
// stream of small messages wraps the ring often and now and then a large
// one waits for it to drain.
func recLength(r *rand.Rand, max int) int {
	switch x := r.IntN(1000); {
	case x == 0:
		return r.IntN(max + 1)
	case x < 50:
		return r.IntN(min(1024, max) + 1)
	default:
		return r.IntN(min(64, max) + 1)
	}
}

// encodeAny is encodeMessage for a message of any length. One shorter than
// the codec's header has no room for its sequence number and checksum: it
// carries the first bytes of its sequence number's body instead, which
// with its predicted length still catch a lost, misplaced or torn one.
func encodeAny(m []byte, seq uint64) {
	if len(m) >= msgHeaderSize {
		encodeMessage(m, seq)
		return
	}
	fillBody(m, seq)
}

// checkAny is checkMessage for messages encodeAny made.
func checkAny(m []byte, seq uint64, wantLen int) error {
	if wantLen >= msgHeaderSize {
		return checkMessage(m, seq, wantLen)
	}
	if len(m) != wantLen {
		return fmt.Errorf("message %d: length=%d, want %d", seq, len(m), wantLen)
	}
	var want [msgHeaderSize]byte
	fillBody(want[:wantLen], seq)
	if string(m) != string(want[:wantLen]) {
		return fmt.Errorf("message %d: bytes %x, want %x (lost, reordered or torn)", seq, m, want[:wantLen])
	}
	return nil
}

// recordIntegrityTotal is how many messages the record integrity tests
// move in all, SPSC and Broadcast together (tenfold with SHMRING_LONG=1).
const recordIntegrityTotal = 10_000_000

// TestRecordIntegrityAcrossTwoProcesses streams records of lengths from 0
// to MaxMessage, most of them short, from a child process to the parent
// through every pair of write and read calls (ClaimN among them), and
// checks each message's length, sequence number, checksum and bytes: no
// message lost, duplicated, reordered or torn across the ring's many wraps
// and wrapped records, aborted claims and dropped batch tails publish
// nothing, and the stream ends with ErrClosed after exactly the messages
// sent. Its share of recordIntegrityTotal is 6/10.
func TestRecordIntegrityAcrossTwoProcesses(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	cases := []struct {
		name     string
		producer string
		consumer string
		share    int // of recordIntegrityTotal, in hundredths
		capacity int
		max      int // MaxMessage; 0: the bound, Capacity/2
	}{
		{"ClaimN and Commit to Receive and Release", "claimn", "receive", 10, 64 << 10, 8 << 10},
		{"Claim and Commit to ReceiveBatch", "claim", "receivebatch", 5, 64 << 10, 8 << 10},
		{"ClaimBatch and CommitBatch to Recv", "claimbatch", "recv", 5, 64 << 10, 8 << 10},
		{"Send to Recv", "send", "recv", 10, 64 << 10, 8 << 10},
		{"SendBatch to ReceiveBatch", "sendbatch", "receivebatch", 10, 64 << 10, 8 << 10},
		{"TrySend to TryRecv", "trysend", "tryrecv", 5, 64 << 10, 8 << 10},
		{"TryClaim to TryReceive", "tryclaim", "tryreceive", 5, 64 << 10, 8 << 10},
		{"every call mixed, messages up to half the ring", "mixed", "mixed", 10, 16 << 10, 0},
	}
	seed := integritySeed()
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := uint64(recordIntegrityTotal / 100 * tc.share)
			if longRun() {
				n *= 10
			}
			if raceEnabled {
				n /= 100
			}
			seed := seed + 100 + uint64(i)
			r := newTestRing(t, Options{Kind: SPSC, Records: true, Capacity: tc.capacity, MaxMessage: tc.max})
			streamFromChild(t, r, tc.producer, tc.consumer, n, seed)
		})
	}
}
