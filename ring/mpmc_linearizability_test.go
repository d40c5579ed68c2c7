package ring

// Small concurrent histories of TrySend and TryRecv on an MPMC heap ring,
// checked by porcupine against a FIFO queue model.
//
// The model is FIFO with "weak" full and empty: a TrySend may report full
// and a TryRecv empty in any state. Vyukov-style queues are not strictly
// linearizable there (a consumer at the head sees a claim still being
// written and reports empty although a later position is already
// published), and the engine documents it. Everything else is checked:
// each value is received at most once, only after it was sent, and in an
// order some linearization of the sends allows.

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/anishathalye/porcupine"
)

type linIn struct {
	send bool
	v    byte
}

type linOut struct {
	ok bool
	v  byte
}

// queueModel is FIFO (lifo false) or, to prove the checker can fail, LIFO.
func queueModel(lifo bool) porcupine.Model {
	return porcupine.Model{
		Init: func() any { return "" },
		Step: func(state, input, output any) (bool, any) {
			q, in, out := state.(string), input.(linIn), output.(linOut)
			switch {
			case in.send && out.ok:
				return true, q + string([]byte{in.v})
			case !out.ok: // full or empty: weak, allowed anywhere
				return true, q
			case len(q) == 0:
				return false, q
			case lifo:
				return q[len(q)-1] == out.v, q[:len(q)-1]
			}
			return q[0] == out.v, q[1:]
		},
		DescribeOperation: func(input, output any) string {
			in, out := input.(linIn), output.(linOut)
			if in.send {
				return fmt.Sprintf("send(%d) -> %v", in.v, out.ok)
			}
			return fmt.Sprintf("recv() -> %d, %v", out.v, out.ok)
		},
	}
}

// linHistory runs np producers and nc consumers, ops calls each, on a
// ring of slots slots, and records the history with a logical clock.
func linHistory(t *testing.T, seed uint64, slots, np, nc, ops int) []porcupine.Operation {
	r := newMPMCRing(t, MPMC, false, 8, slots, Options{MaxProducers: np, MaxConsumers: nc})
	var clock atomic.Int64
	var mu sync.Mutex
	var hist []porcupine.Operation
	record := func(id int, in linIn, call int64, out linOut) {
		ret := clock.Add(1)
		mu.Lock()
		hist = append(hist, porcupine.Operation{ClientId: id, Input: in, Call: call, Output: out, Return: ret})
		mu.Unlock()
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range np {
		p := mustProducer(t, r)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for j := range ops {
				v := byte(1 + i*ops + j)
				call := clock.Add(1)
				err := p.TrySend([]byte{v})
				if err != nil && !errors.Is(err, ErrFull) {
					t.Error(err)
				}
				record(i, linIn{send: true, v: v}, call, linOut{ok: err == nil})
			}
		}()
	}
	for i := range nc {
		c := mustConsumer(t, r)
		rng := rand.New(rand.NewPCG(seed, uint64(i)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			buf := make([]byte, 8)
			for range ops {
				if rng.IntN(4) == 0 {
					runtime.Gosched() // vary the interleavings
				}
				call := clock.Add(1)
				n, err := c.TryRecv(buf)
				if err != nil && !errors.Is(err, ErrEmpty) {
					t.Error(err)
				}
				out := linOut{ok: err == nil}
				if err == nil && n == 1 {
					out.v = buf[0]
				}
				record(np+i, linIn{}, call, out)
			}
		}()
	}
	close(start)
	wg.Wait()
	return hist
}

func TestMPMCLinearizableAgainstAFIFOModel(t *testing.T) {
	seeds := 300
	if raceEnabled {
		seeds = 60
	}
	fifo, lifo := queueModel(false), queueModel(true)
	lifoFailed := 0
	for s := range seeds {
		seed := integritySeed() + uint64(s)
		slots := []int{1, 2, 4}[s%3]
		hist := linHistory(t, seed, slots, 3, 3, 4)
		if !porcupine.CheckOperations(fifo, hist) {
			t.Fatalf("seed=%d slots=%d: history not linearizable against FIFO: %v", seed, slots, hist)
		}
		if !porcupine.CheckOperations(lifo, hist) {
			lifoFailed++
		}
	}
	// The checker has teeth: a LIFO model fails some of the same histories.
	if lifoFailed == 0 {
		t.Errorf("no history failed against a LIFO model in %d seeds: the check proves nothing", seeds)
	}
	t.Logf("%d histories; %d of them not LIFO", seeds, lifoFailed)
}

// TestLinearizabilityCheckerRejectsAReorderedHistory: a sequential history
// whose receives are swapped, and one that receives a value twice, fail.
func TestLinearizabilityCheckerRejectsAReorderedHistory(t *testing.T) {
	op := func(c int64, in linIn, out linOut) porcupine.Operation {
		return porcupine.Operation{Input: in, Call: c, Output: out, Return: c + 1}
	}
	good := []porcupine.Operation{
		op(0, linIn{true, 1}, linOut{ok: true}),
		op(2, linIn{true, 2}, linOut{ok: true}),
		op(4, linIn{}, linOut{true, 1}),
		op(6, linIn{}, linOut{true, 2}),
	}
	if !porcupine.CheckOperations(queueModel(false), good) {
		t.Fatal("the FIFO model rejects a correct sequential history")
	}
	swapped := append([]porcupine.Operation(nil), good...)
	swapped[2].Output, swapped[3].Output = swapped[3].Output, swapped[2].Output
	if porcupine.CheckOperations(queueModel(false), swapped) {
		t.Error("the FIFO model accepts receives in the wrong order")
	}
	twice := append([]porcupine.Operation(nil), good...)
	twice[3].Output = linOut{true, 1}
	if porcupine.CheckOperations(queueModel(false), twice) {
		t.Error("the FIFO model accepts a value received twice")
	}
}
