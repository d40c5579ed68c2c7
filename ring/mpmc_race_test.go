package ring

// Many producer and consumer goroutines on one heap ring (the race detector
// sees every access) and on a file ring: each message arrives exactly once,
// each producer's messages in order.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/shmring/shmring/internal/proctest"
)

// mpmcStress runs np producers and nc consumers over r, each producer
// sending per messages "producer<<48 | seq" with a checksum, through a mix
// of calls chosen by seed. It checks exactly-once and per-producer order.
func mpmcStress(t *testing.T, r *Ring, np, nc int, per uint64, seed uint64, w WaitStrategy) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ps := make([]*Producer, np)
	for i := range ps {
		ps[i] = mustProducer(t, r)
		ps[i].SetWait(w)
	}
	cs := make([]*Consumer, nc)
	for i := range cs {
		cs[i] = mustConsumer(t, r)
		cs[i].SetWait(w)
	}
	slotSize := r.SlotSize()
	var wg sync.WaitGroup
	errs := make(chan error, np+nc)
	var closeMu sync.Mutex
	open := np
	for i, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				closeMu.Lock()
				open--
				closeMu.Unlock()
				p.Close()
			}()
			rng := rand.New(rand.NewPCG(seed, uint64(i)))
			msg := func(s uint64) []byte {
				b := make([]byte, 16+rng.IntN(slotSize-15))
				binary.LittleEndian.PutUint64(b, uint64(i)<<48|s)
				binary.LittleEndian.PutUint64(b[8:], uint64(len(b))*0x9e3779b97f4a7c15^s)
				return b
			}
			for s := uint64(0); s < per; {
				var err error
				switch rng.IntN(6) {
				case 0:
					err = p.Send(ctx, msg(s))
					if err == nil {
						s++
					}
				case 1:
					err = p.TrySend(msg(s))
					if err == nil {
						s++
					} else if errors.Is(err, ErrFull) {
						err = nil
					}
				case 2:
					var b []byte
					b, err = p.Claim(ctx)
					if err == nil {
						if rng.IntN(8) == 0 {
							p.Abort()
							break
						}
						err = p.Commit(copy(b, msg(s)))
						s++
					}
				case 3, 4:
					var b Batch
					b, err = p.ClaimBatch(ctx, 1+rng.IntN(8))
					if err == nil {
						k := min(b.Len(), int(per-s), rng.IntN(b.Len()+1))
						for j := range k {
							b.SetLen(j, copy(b.Slot(j), msg(s+uint64(j))))
						}
						p.CommitBatch(k)
						s += uint64(k)
					}
				case 5:
					n := min(1+rng.IntN(8), int(per-s))
					ms := make([][]byte, n)
					for j := range ms {
						ms[j] = msg(s + uint64(j))
					}
					var sent int
					sent, err = p.SendBatch(ctx, ms)
					s += uint64(sent)
				}
				if err != nil {
					errs <- fmt.Errorf("producer %d at %d: %w", i, s, err)
					return
				}
			}
		}()
	}
	got := make([][]uint64, nc) // per consumer, the messages in arrival order
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(100+i)))
			buf := make([]byte, slotSize)
			take := func(m []byte) error {
				if len(m) < 16 {
					return fmt.Errorf("consumer %d: message of %d bytes", i, len(m))
				}
				id := binary.LittleEndian.Uint64(m)
				if binary.LittleEndian.Uint64(m[8:]) != uint64(len(m))*0x9e3779b97f4a7c15^(id&(1<<48-1)) {
					return fmt.Errorf("consumer %d: torn message id=%#x len=%d", i, id, len(m))
				}
				got[i] = append(got[i], id)
				return nil
			}
			for {
				var err error
				switch rng.IntN(4) {
				case 0:
					var n int
					n, err = c.Recv(ctx, buf)
					if err == nil {
						err = take(buf[:n])
					}
				case 1:
					var n int
					n, err = c.TryRecv(buf)
					if errors.Is(err, ErrEmpty) {
						continue
					}
					if err == nil {
						err = take(buf[:n])
					}
				case 2:
					var m []byte
					m, err = c.Receive(ctx)
					if err == nil {
						err = take(m)
						c.Release()
					}
				case 3:
					var ms Messages
					ms, err = c.ReceiveBatch(ctx, 1+rng.IntN(8))
					for j := 0; err == nil && j < ms.Len(); j++ {
						var m []byte
						if m, err = ms.At(j); err == nil {
							err = take(m)
						}
					}
					if ms.Len() > 0 {
						c.Release()
					}
				}
				if errors.Is(err, ErrClosed) {
					return
				}
				if err != nil {
					errs <- fmt.Errorf("consumer %d: %w", i, err)
					cancel()
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	next := make([]uint64, np)
	seen := make(map[uint64]bool)
	for ci, ids := range got {
		last := make([]int64, np)
		for j := range last {
			last[j] = -1
		}
		for _, id := range ids {
			pi, s := id>>48, id&(1<<48-1)
			if pi >= uint64(np) || s >= per {
				t.Fatalf("consumer %d got id %#x, no producer sent it", ci, id)
			}
			if seen[id] {
				t.Fatalf("message %#x delivered twice", id)
			}
			seen[id] = true
			if int64(s) <= last[pi] {
				t.Fatalf("consumer %d got producer %d's %d after %d", ci, pi, s, last[pi])
			}
			last[pi] = int64(s)
			next[pi]++
		}
	}
	for pi, n := range next {
		if n != per {
			t.Errorf("producer %d: %d of %d messages delivered", pi, n, per)
		}
	}
}

// TestMPMCRaceManyGoroutines: 4 producers and 4 consumers on heap rings of
// 1, 4 and 64 slots under each wait strategy (the race detector watches).
func TestMPMCRaceManyGoroutines(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	per := uint64(20_000)
	if raceEnabled {
		per = 2_000
	}
	if longRun() {
		per *= 10
	}
	waits := []struct {
		name string
		w    WaitStrategy
	}{
		{"DefaultWait", DefaultWait},
		{"WaitSleep", WaitSleep},
		{"polling", WaitStrategy{Spin: 64, Yield: 4, Sleep: false}},
	}
	seed := integritySeed()
	for _, slots := range []int{1, 4, 64} {
		for wi, w := range waits {
			t.Run(fmt.Sprintf("%d slots %s", slots, w.name), func(t *testing.T) {
				r := newMPMCRing(t, MPMC, false, 48, slots, Options{MaxProducers: 4, MaxConsumers: 4})
				n := per
				if w.w.Sleep && w.w.Spin == 0 {
					n /= 4
				}
				mpmcStress(t, r, 4, 4, n, seed+uint64(slots*10+wi), w.w)
			})
		}
	}
}

// TestMPMCManyGoroutinesOnAFileRing: the same through a mapped file, MPMC
// 4x2 and MPSC 4x1.
func TestMPMCManyGoroutinesOnAFileRing(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	per := uint64(50_000)
	if raceEnabled {
		per = 2_000
	}
	for _, tc := range []struct {
		k      Kind
		np, nc int
	}{{MPMC, 4, 2}, {MPSC, 4, 1}} {
		t.Run(fmt.Sprintf("%v %dx%d", tc.k, tc.np, tc.nc), func(t *testing.T) {
			r := newMPMCRing(t, tc.k, true, 64, 32, Options{MaxProducers: tc.np, MaxConsumers: tc.nc})
			mpmcStress(t, r, tc.np, tc.nc, per, integritySeed(), DefaultWait)
		})
	}
}
