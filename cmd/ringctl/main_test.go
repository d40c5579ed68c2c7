//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/layout"
	"github.com/shmring/shmring/ring"
)

// hangBound arms every test that starts children: a guard, never a limit.
const hangBound = 2 * time.Minute

func TestMain(m *testing.M) {
	proctest.Register("peer", peer)
	proctest.Register("mapper", mapper)
	proctest.Register("read-only-shm", readOnlyShm)
	proctest.Register("ringctl", func() int {
		code := execute(context.Background(), proctest.Args(), os.Stdout, os.Stderr)
		fmt.Printf("exit %d\n", code)
		return 0
	})
	proctest.Main(m)
}

// The geometry of every ring the children make: small, so that a lossy
// reader is lapped after a few dozen messages; with telemetry on every
// message, so that a reader's latency histogram counts what it received.
var peerOptions = ring.Options{SlotSize: 64, Slots: 16, Telemetry: ring.Telemetry{SampleEvery: 1}}

// The record rings the children make ("spsc-rec", "broadcast-rec"): 512
// bytes, so that every message "msg-<i>" the tests send (at most 16 bytes)
// takes one 32-byte record, sixteen of them fill the ring, and none ever
// wraps. Positions are bytes: a record ring's cursors and
// lags are recordBytes times the messages. Record rings carry no telemetry.
var recordOptions = ring.Options{Records: true, Capacity: 512, MaxMessage: 64}

const recordBytes = 32

// peer is a child holding one role of a ring: proctest args are the ring's
// path, its kind, the role (producer, consumer, lossy, lossless) and
// "create" or "open". It prints "ready" once it holds the role, then obeys
// lines on stdin, answering each with its handle's stats (every counter
// the file holds, by layout's name; Stats stores them in the file first):
//
//	send N    send N messages "msg-<i>", i counting this handle's messages
//	recv N    receive N messages (a lossy reader's laps are not messages)
//	stream    send until the next line; drain: receive until the next line
//	close     close the handle
//
// and exits when stdin ends (or when killed, which is the point of some
// tests). A kind with the suffix "-rec" is that kind's record ring
// (recordOptions).
func peer() int {
	a := proctest.Args()
	if len(a) != 4 {
		return fail("args %q, want path kind role create|open", a)
	}
	path, role := a[0], a[2]
	kinds := map[string]ring.Kind{"spsc": ring.SPSC, "mpmc": ring.MPMC, "mpsc": ring.MPSC, "broadcast": ring.Broadcast}
	o := peerOptions
	if k, ok := strings.CutSuffix(a[1], "-rec"); ok {
		o, a[1] = recordOptions, k
	}
	o.Kind = kinds[a[1]]
	switch o.Kind {
	case ring.MPMC:
		o.MaxProducers, o.MaxConsumers = 2, 2
	case ring.MPSC:
		o.MaxProducers = 2
	case ring.Broadcast:
		o.MaxReaders = 4
	}
	var r *ring.Ring
	var err error
	if a[3] == "create" {
		r, err = ring.Create(path, o)
	} else {
		r, err = ring.Open(path)
	}
	if err != nil {
		return fail("%s %s: %v", a[3], path, err)
	}
	h, err := takeRole(r, role)
	if err != nil {
		return fail("take %s: %v", role, err)
	}
	fmt.Println("ready")
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	for line := range lines {
		verb, arg, _ := strings.Cut(line, " ")
		n, _ := strconv.Atoi(arg)
		ctx := context.Background()
		switch verb {
		case "send":
			err = h.send(ctx, n)
		case "recv":
			err = h.recv(ctx, n)
		case "stream", "drain":
			ctx, cancel := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() {
				if verb == "stream" {
					done <- h.send(ctx, -1)
				} else {
					done <- h.recv(ctx, -1)
				}
			}()
			<-lines // any line stops it
			cancel()
			// A drain ends when it is told to, or at the end of the stream.
			if err = <-done; errors.Is(err, context.Canceled) || errors.Is(err, ring.ErrClosed) {
				err = nil
			}
		case "close":
			err = h.close()
		default:
			return fail("unknown command %q", line)
		}
		if err != nil {
			return fail("%s: %v", line, err)
		}
		s := h.stats()
		v := [...]uint64{s.Messages, s.Bytes, s.Full, s.Empty, s.Sleeps, s.Wakes, s.Skipped, s.Repaired,
			s.Redelivered, s.Lapped, s.Missed, s.Evicted, s.BadEntries}
		fmt.Print("stats")
		for i, name := range layout.CounterNames {
			fmt.Printf(" %s=%d", name, v[i])
		}
		fmt.Println()
	}
	return 0
}

func fail(format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "peer: "+format+"\n", args...)
	return 1
}

// handle is a child's role, whatever the kind.
type handle struct {
	p     *ring.Producer
	c     *ring.Consumer
	rd    *ring.Reader
	stats func() ring.Stats
	close func() error
}

func takeRole(r *ring.Ring, role string) (*handle, error) {
	h := &handle{}
	var err error
	switch role {
	case "producer":
		h.p, err = r.Producer()
		if err == nil {
			h.stats, h.close = h.p.Stats, h.p.Close
		}
	case "consumer":
		h.c, err = r.Consumer()
		if err == nil {
			h.stats, h.close = h.c.Stats, h.c.Close
		}
	case "lossy", "lossless":
		pol := ring.Lossy
		if role == "lossless" {
			pol = ring.Lossless
		}
		h.rd, err = r.Reader(ring.ReaderOptions{Policy: pol, Start: ring.Oldest})
		if err == nil {
			h.stats, h.close = h.rd.Stats, h.rd.Close
		}
	default:
		err = fmt.Errorf("unknown role %q", role)
	}
	return h, err
}

// send sends n messages (n < 0: until ctx ends).
func (h *handle) send(ctx context.Context, n int) error {
	for i := 0; n < 0 || i < n; i++ {
		msg := fmt.Appendf(nil, "msg-%d", h.p.Stats().Messages)
		if err := h.p.Send(ctx, msg); err != nil {
			return err
		}
	}
	return nil
}

// recv receives n messages (n < 0: until ctx ends).
func (h *handle) recv(ctx context.Context, n int) error {
	buf := make([]byte, peerOptions.SlotSize)
	for i := 0; n < 0 || i < n; {
		var err error
		if h.c != nil {
			_, err = h.c.Recv(ctx, buf)
		} else {
			_, err = h.rd.Recv(ctx, buf)
		}
		var lap *ring.LapError
		switch {
		case errors.As(err, &lap):
			continue
		case err != nil:
			return err
		}
		i++
	}
	return nil
}

// The parent's side.

// peerStats are what a child said about its handle: its Stats, by the
// counters' names in the file.
type peerStats struct {
	messages, missed uint64
	all              map[string]uint64
}

// startPeer starts a child holding role of the ring at path and waits
// until it holds it.
func startPeer(t *testing.T, path, kind, role, mode string) *proctest.Child {
	t.Helper()
	c := proctest.Start(t, "peer", path, kind, role, mode)
	c.Expect("ready")
	return c
}

// tell sends a command to a child and returns the stats it answers with.
func tell(t *testing.T, c *proctest.Child, cmd string) peerStats {
	t.Helper()
	if err := c.WriteLine(cmd); err != nil {
		t.Fatal(err)
	}
	line, err := c.ReadLine()
	if err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	s := peerStats{all: map[string]uint64{}}
	fields := strings.Fields(line)
	if len(fields) != 1+len(layout.CounterNames) || fields[0] != "stats" {
		t.Fatalf("%s: answer %q", cmd, line)
	}
	for _, f := range fields[1:] {
		name, v, _ := strings.Cut(f, "=")
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("%s: answer %q: %v", cmd, line, err)
		}
		s.all[name] = n
	}
	s.messages, s.missed = s.all["messages"], s.all["missed"]
	return s
}

// asNobody starts ringctl with args as uid and gid 65534, through
// setpriv(1): a user that may not read the rings root made. It skips the
// test without root or setpriv; the child prints "exit N" last.
func asNobody(t *testing.T, what string, args ...string) *proctest.Child {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root, to run ringctl as another user on a ring root owns")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skipf("needs setpriv(1): %v", err)
	}
	cmd := proctest.Command(t, "ringctl", args...)
	cmd.Args = append([]string{setpriv, "--reuid", "65534", "--regid", "65534", "--clear-groups"}, cmd.Args...)
	cmd.Path = setpriv
	return proctest.StartCommand(t, what, cmd)
}

// ringctl runs the command line in this process and returns what it
// printed and its exit code.
func ringctl(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = execute(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), code
}

// ringctlJSON runs a command with -o json and decodes what it printed into
// v; it returns the exit code.
func ringctlJSON(t *testing.T, v any, args ...string) int {
	t.Helper()
	out, errs, code := ringctl(t, append(args, "-o", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("ringctl %q: %v\nstdout:\n%s\nstderr:\n%s", args, err, out, errs)
	}
	return code
}

// background runs a ringctl command line until it ends or ctx is
// cancelled; the returned channel yields its exit code.
func background(ctx context.Context, out *proctest.Buffer, args ...string) <-chan int {
	done := make(chan int, 1)
	go func() { done <- execute(ctx, args, out, out) }()
	return done
}

// eventually polls cond until it holds; the watchdog bounds the wait.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		if t.Context().Err() != nil {
			t.Fatalf("gave up waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
