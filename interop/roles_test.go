package interop

// The Go side of the streams, run as child processes in the roles below with
// the command lines of c/tests/interop.c, so that a test can put a process
// of any language in any place.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"

	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/ring"
)

func registerGoRoles() {
	proctest.Register("produce", roleProduce)
	proctest.Register("consume", roleConsume)
	proctest.Register("bproduce", roleBroadcastProduce)
	proctest.Register("bench", roleBench)
	proctest.Register("tproduce", roleTruncProduce)
}

// roleMain runs fn on the ring named by the first argument and turns its
// error into the child's exit status.
func roleMain(fn func(r *ring.Ring, args []string) error) int {
	args := proctest.Args()
	r, err := ring.Open(args[0])
	if err == nil {
		err = fn(r, args[1:])
		if cerr := r.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func atoi(s string) uint64 {
	v, err := strconv.ParseUint(s, 0, 64)
	if err != nil {
		panic(err)
	}
	return v
}

// produce RING FIRST COUNT close|hang
func roleProduce() int {
	return roleMain(func(r *ring.Ring, a []string) error {
		first, count := atoi(a[0]), atoi(a[1])
		p, err := r.Producer()
		if err != nil {
			return err
		}
		fmt.Println("ready")
		ctx, max := context.Background(), r.SlotSize()
		scratch := make([]byte, max)
		pick := rand.New(rand.NewPCG(first, count))
		for seq := first; seq < first+count; {
			switch pick.IntN(3) {
			case 0: // zero copy
				var buf []byte
				if buf, err = p.Claim(ctx); err == nil {
					err = p.Commit(encode(buf, seq, max))
				}
			case 1:
				err = p.Send(ctx, scratch[:encode(scratch, seq, max)])
			default:
				err = p.TrySend(scratch[:encode(scratch, seq, max)])
				if errors.Is(err, ring.ErrFull) {
					continue
				}
			}
			if errors.Is(err, ring.ErrPeerDead) {
				fmt.Println("peerdead")
				continue // a new consumer will take the role over
			}
			if err != nil {
				return fmt.Errorf("send %d: %w", seq, err)
			}
			seq++
		}
		if a[2] == "hang" {
			fmt.Println("sent", count)
			hang()
		}
		if err := p.Close(); err != nil {
			return err
		}
		fmt.Println("done", count)
		return nil
	})
}

// hang blocks until the parent closes stdin or kills the process.
func hang() {
	b := make([]byte, 64)
	for {
		if _, err := os.Stdin.Read(b); err != nil {
			return
		}
	}
}

// consume RING FIRST COUNT closed|hang
func roleConsume() int {
	return roleMain(func(r *ring.Ring, a []string) error {
		first, count := atoi(a[0]), atoi(a[1])
		c, err := r.Consumer()
		if err != nil {
			return err
		}
		fmt.Println("ready")
		ctx, max := context.Background(), r.SlotSize()
		scratch := make([]byte, max)
		pick := rand.New(rand.NewPCG(first, count))
		for seq := first; seq < first+count; {
			var m []byte
			switch pick.IntN(3) {
			case 0: // zero copy
				if m, err = c.Receive(ctx); err == nil {
					err = check(m, seq, max)
					c.Release()
					if err != nil {
						return err
					}
					seq++
					continue
				}
			case 1:
				var n int
				n, err = c.Recv(ctx, scratch)
				m = scratch[:n]
			default:
				var n int
				n, err = c.TryRecv(scratch)
				if errors.Is(err, ring.ErrEmpty) {
					continue
				}
				m = scratch[:n]
			}
			if errors.Is(err, ring.ErrPeerDead) {
				fmt.Println("peerdead")
				continue // a new producer will take the role over
			}
			if err != nil {
				return fmt.Errorf("receive %d: %w", seq, err)
			}
			if err := check(m, seq, max); err != nil {
				return err
			}
			seq++
		}
		if a[2] == "hang" {
			if _, err := c.Receive(ctx); err != nil {
				return fmt.Errorf("receive the held message: %w", err)
			}
			fmt.Println("holding", first+count)
			hang()
		}
		for {
			_, err = c.Recv(ctx, scratch)
			if !errors.Is(err, ring.ErrPeerDead) {
				break
			}
		}
		if !errors.Is(err, ring.ErrClosed) {
			return fmt.Errorf("after %d messages: want end of stream, got %v", count, err)
		}
		st := c.Stats()
		fmt.Println("ok", st.Messages, st.Bytes)
		return c.Close()
	})
}

// bproduce RING COUNT: a broadcast stream of COUNT messages, then close.
func roleBroadcastProduce() int {
	return roleMain(func(r *ring.Ring, a []string) error {
		count := atoi(a[0])
		p, err := r.Producer()
		if err != nil {
			return err
		}
		fmt.Println("ready")
		ctx, max := context.Background(), r.SlotSize()
		scratch := make([]byte, max)
		for seq := uint64(0); seq < count; seq++ {
			if seq&1 == 0 {
				err = p.Send(ctx, scratch[:encode(scratch, seq, max)])
			} else {
				var b []byte
				if b, err = p.Claim(ctx); err == nil {
					err = p.Commit(encode(b, seq, max))
				}
			}
			if err != nil {
				return fmt.Errorf("send %d: %w", seq, err)
			}
		}
		if err := p.Close(); err != nil {
			return err
		}
		fmt.Println("done", count)
		return nil
	})
}

// bench RING COUNT: the Go consumer of the throughput comparison; the same
// work as c/tests/interop.c's bench: Recv, and a sequence check.
func roleBench() int {
	return roleMain(func(r *ring.Ring, a []string) error {
		count := atoi(a[0])
		c, err := r.Consumer()
		if err != nil {
			return err
		}
		fmt.Println("ready")
		ctx, b := context.Background(), make([]byte, r.SlotSize())
		for seq := uint64(0); seq < count; seq++ {
			n, err := c.Recv(ctx, b)
			if err != nil {
				return err
			}
			if n < 8 || binary.LittleEndian.Uint64(b) != seq {
				return fmt.Errorf("got message %d, want %d", binary.LittleEndian.Uint64(b), seq)
			}
		}
		fmt.Println("ok", count, c.Stats().Sleeps)
		return c.Close()
	})
}
