//go:build linux

package ring

// Broadcast record rings across real processes: a fan-out of records of
// lengths from 0 to MaxMessage to lossless and lossy reader processes.

import (
	"context"
	"strconv"
	"testing"

	"github.com/shmring/shmring/internal/proctest"
)

// recMsgLen is the length of message seq of a broadcast record stream, a
// function of seq alone (a lossy reader that skips messages still knows
// each one's length), skewed as recLength is.
func recMsgLen(seq uint64, max int) int {
	h := bodyWord(seq, -1)
	switch x := h % 1000; {
	case x == 0:
		return int(h >> 32 % uint64(max+1))
	case x < 50:
		return int(h >> 32 % uint64(min(1024, max)+1))
	default:
		return int(h >> 32 % uint64(min(64, max)+1))
	}
}

// recBcastSender sends messages first..first+n-1 of a record stream,
// rotating through Send, SendBatch and ClaimN with Commit every 1024
// messages.
func recBcastSend(ctx context.Context, p *Producer, first, n uint64) error {
	max := p.r.MaxMessage()
	batch := make([][]byte, 32)
	for i := range batch {
		batch[i] = make([]byte, max)
	}
	for seq := first; seq < first+n; {
		switch k := min(n+first-seq, 1024); seq / 1024 % 3 {
		case 0:
			for end := seq + k; seq < end; seq++ {
				m := batch[0][:recMsgLen(seq, max)]
				encodeAny(m, seq)
				if err := p.Send(ctx, m); err != nil {
					return err
				}
			}
		case 1:
			for end := seq + k; seq < end; {
				msgs := batch[:min(uint64(len(batch)), end-seq)]
				for i := range msgs {
					msgs[i] = msgs[i][:recMsgLen(seq+uint64(i), max)]
					encodeAny(msgs[i], seq+uint64(i))
				}
				for len(msgs) > 0 {
					sent, err := p.SendBatch(ctx, msgs)
					if err != nil {
						return err
					}
					msgs, seq = msgs[sent:], seq+uint64(sent)
				}
				for i := range batch {
					batch[i] = batch[i][:max]
				}
			}
		default:
			for end := seq + k; seq < end; seq++ {
				l := recMsgLen(seq, max)
				s, err := p.ClaimN(ctx, l)
				if err != nil {
					return err
				}
				encodeAny(s, seq)
				if err := p.Commit(l); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// TestRecordBroadcastFanOutToFourProcesses: one producer (this process)
// and four reader processes, two lossless and two lossy, one of the lossy
// ones slowed on purpose until it is lapped, over 4·10^6 records (the rest
// of recordIntegrityTotal) of lengths from 0 to MaxMessage, most short,
// sent by Send, SendBatch and ClaimN: the lossless readers receive every
// message, in order, whole (its length, sequence number and CRC-32C, or
// for one shorter than the codec's header its bytes); the lossy ones an
// in-order subsequence of whole messages whose gaps their ErrLapped counts
// add up to exactly (delivered + missed = published, and Stats agree), and
// the slowed one is lapped.
func TestRecordBroadcastFanOutToFourProcesses(t *testing.T) {
	proctest.Watchdog(t, 4*hangBound)
	n := uint64(recordIntegrityTotal / 10 * 4)
	if longRun() {
		n *= 10
	}
	if raceEnabled {
		n /= 100
	}
	r := newTestRing(t, Options{Kind: Broadcast, Records: true, Capacity: 64 << 10, MaxMessage: 8 << 10, MaxReaders: 8})
	readers := []fanReader{
		{"lossless", "batch", "-"},
		{"lossless", "receive", "-"},
		{"lossy", "recv", "-"},
		{"lossy", "batch", "slow"},
	}
	var children []*proctest.Child
	for _, rd := range readers {
		c := proctest.Start(t, "bcast-reader", r.Name(), rd.policy, "oldest", "0", strconv.FormatUint(n, 10), rd.mode, rd.then)
		c.Expect("ready")
		children = append(children, c)
	}
	p := mustProducer(t, r)
	ctx, cancel := context.WithTimeout(context.Background(), 4*hangBound)
	defer cancel()
	if err := recBcastSend(ctx, p, 0, n); err != nil {
		t.Fatal(err)
	}
	ps := p.Stats()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	checkFanOut(t, readers, children, n)
	t.Logf("%d messages; producer %+v", n, ps)
}
