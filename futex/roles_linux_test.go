package futex_test

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/shmring/shmring/futex"
	"github.com/shmring/shmring/internal/proctest"
)

// stopValue ends the benchmark's ping-pong server.
const stopValue = math.MaxUint32

// The child roles. Each maps the file named by its first argument and
// reports failure on stderr with a non-zero status.
func registerRoles() {
	proctest.Register("sleep-until-set", childRole(func(w words, _ []string) error {
		v, err := await(w.ping, w.pingWaiters, 0)
		if err == nil && v != 1 {
			err = fmt.Errorf("woke to %d, want 1", v)
		}
		return err
	}))
	proctest.Register("pingpong", childRole(func(w words, args []string) error {
		rounds, err := strconv.Atoi(args[0])
		if err != nil {
			return err
		}
		for i := uint32(1); i <= uint32(rounds); i++ {
			v, err := await(w.ping, w.pingWaiters, i-1)
			if err != nil {
				return err
			}
			if v != i {
				return fmt.Errorf("round %d: ping = %d, want %d", i, v, i)
			}
			if _, err := publish(w.pong, w.pongWaiters, i); err != nil {
				return err
			}
		}
		return nil
	}))
	proctest.Register("pingpong-serve", childRole(func(w words, _ []string) error {
		for i := uint32(0); ; i++ {
			v, err := await(w.ping, w.pingWaiters, i)
			if err != nil || v == stopValue {
				return err
			}
			if _, err := publish(w.pong, w.pongWaiters, v); err != nil {
				return err
			}
		}
	}))
	// sleep-shared stays in a shared Wait, going back to sleep after any
	// wake-up, until ping changes.
	proctest.Register("sleep-shared", childRole(func(w words, _ []string) error {
		for atomic.LoadUint32(w.ping) == 0 {
			if err := futex.Wait(w.ping, 0, 0); err != nil && err != futex.ErrValueChanged {
				return err
			}
		}
		return nil
	}))
	proctest.Register("sleep-private", childRole(sleepPrivate))
}

// sleepPrivate sleeps in a private Wait on ping while a second goroutine
// answers the parent on stdin: "probe" prints "asleep" once the sleeper is
// certainly asleep (a private probe from this process sees it); "release"
// wakes it from this process, the only one that can.
func sleepPrivate(w words, _ []string) error {
	done := make(chan error, 1)
	go func() {
		for atomic.LoadUint32(w.ping) == 0 {
			if err := futex.WaitFlags(w.ping, 0, 0, true); err != nil && err != futex.ErrValueChanged {
				done <- err
				return
			}
		}
		done <- nil
	}()
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		switch sc.Text() {
		case "probe":
			for {
				n, err := futex.Sleepers(w.ping, 0, true)
				if err != nil {
					return err
				}
				if n == 1 {
					break
				}
				time.Sleep(50 * time.Microsecond)
			}
			fmt.Println("asleep")
		case "release":
			atomic.StoreUint32(w.ping, 1)
			for {
				select {
				case err := <-done:
					return err
				default:
				}
				if _, err := futex.WakeFlags(w.ping, 1, true); err != nil {
					return err
				}
				time.Sleep(50 * time.Microsecond)
			}
		default:
			return fmt.Errorf("unknown command %q", sc.Text())
		}
	}
	return fmt.Errorf("stdin closed before release: %v", sc.Err())
}

// childRole adapts fn to a proctest role: map Args()[0], announce "ready",
// run fn with the remaining arguments.
func childRole(fn func(w words, args []string) error) func() int {
	return func() int {
		args := proctest.Args()
		mem, err := mapShared(args[0])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println("ready")
		if err := fn(wordsOf(mem), args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	}
}
