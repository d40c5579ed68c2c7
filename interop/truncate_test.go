package interop

// A peer shrinks the ring's file under a C or Python consumer. Truncated
// inside the last slot, the file keeps every page of the slot area (the cut
// page's tail is zeroed) and loses only the end unit's page: a consumer that
// copied a message there cannot tell it from a whole one except by the end
// mark (LAYOUT.md section 2). The consumer must say "truncated" and never
// deliver a damaged message; a C consumer survives the SIGBUS of the end
// page through shmring_sigbus_guard (c/tests/interop.c installs it), a
// Python one reads the mark with pread. Grown back to its size, the file has
// every page again and only the zeroed mark tells.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/layout"
	"github.com/shmring/shmring/ring"
)

const (
	truncSlots    = 64
	truncSlotSize = 200
)

func TestTruncationUnderCAndPythonConsumers(t *testing.T) {
	for _, lang := range []string{"c", "python"} {
		for _, grow := range []bool{false, true} {
			what := "inside_the_last_slot"
			if grow {
				what += ",_grown_back"
			}
			t.Run(lang+"/"+what, func(t *testing.T) {
				proctest.Watchdog(t, hangBound)
				truncateUnder(t, lang, grow)
			})
		}
	}
}

func truncateUnder(t *testing.T, lang string, grow bool) {
	name := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: truncSlotSize, Slots: truncSlots})
	path := filepath.Join("/dev/shm", name)
	h := headerOf(t, path)
	cons := start(t, lang, "trunc", name)
	prod := start(t, "go", "tproduce", name)
	prod.Expect("ready")
	cons.Expect("streaming") // and pauses: the producer fills the ring
	awaitFull(t, path, h)
	// Inside the last slot's payload: that page stays, its tail is zeroed,
	// every later page (the end unit's) goes.
	at := int64(h.SlotOffset(h.SlotCount-1) + uint64(h.SlotHeaderSize) + 40)
	if err := os.Truncate(path, at); err != nil {
		t.Fatal(err)
	}
	if grow {
		if err := os.Truncate(path, int64(h.FileSize)); err != nil {
			t.Fatal(err)
		}
	}
	if err := cons.WriteLine("go on"); err != nil {
		t.Fatal(err)
	}
	line := expectPrefix(t, cons, "stopped", nil)
	t.Logf("%s consumer: %s", lang, line)
	if !strings.Contains(line, fmt.Sprintf(" code=%d ", vTruncated)) {
		t.Fatalf("%s consumer stopped with %q, want code=%d (truncated)", lang, line, vTruncated)
	}
	t.Logf("go producer: %s", expectPrefix(t, prod, "stopped", nil))
	for _, c := range []*proctest.Child{cons, prod} {
		c.CloseStdin()
		if err := c.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	// A fresh open says why it refuses the cut file; one grown back has its
	// size and opens (as Go's Open does): its readers meet the zeroed mark.
	want := vTruncated
	if grow {
		want = vOK
	}
	for _, l := range []string{"c", "python"} {
		if got := verdictOf(t, l, path); got != want {
			t.Errorf("%s opener after the truncation: %d, want %d", l, got, want)
		}
	}
}

// awaitFull waits until the producer has filled the ring ahead of the
// paused consumer, so that the slot the truncation cuts holds a message the
// consumer will come to.
func awaitFull(t *testing.T, path string, h layout.Header) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 8)
	word := func(off int64) uint64 {
		if _, err := f.ReadAt(b, off); err != nil {
			t.Fatal(err)
		}
		return binary.LittleEndian.Uint64(b)
	}
	for word(layout.ProducerCursorOffset)-word(layout.ConsumerCursorOffset) < h.SlotCount {
		time.Sleep(time.Millisecond)
	}
}

func headerOf(t *testing.T, path string) layout.Header {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h, err := layout.Decode(b[:layout.HeaderSize])
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// tproduce RING: send numbered messages until a call fails, then say
// "stopped sent=N err=..." and hold the role until stdin closes. The
// failure must be the truncation (a match for ring.ErrCorrupt).
func roleTruncProduce() int {
	return roleMain(func(r *ring.Ring, a []string) error {
		p, err := r.Producer()
		if err != nil {
			return err
		}
		fmt.Println("ready")
		ctx, max := context.Background(), r.SlotSize()
		msg := make([]byte, max)
		var n uint64
		for ; err == nil; n++ {
			err = p.Send(ctx, msg[:encode(msg, n, max)])
		}
		fmt.Printf("stopped sent=%d err=%v\n", n-1, err)
		hang()
		if !errors.Is(err, ring.ErrCorrupt) {
			return fmt.Errorf("the producer stopped with %w, want a match for ring.ErrCorrupt", err)
		}
		return nil
	})
}

// TestReadsCheckTheEndMark: with the end mark overwritten (as a file shrunk
// and grown back reads it), every read the C and Python libraries offer
// fails with "truncated": in place, by copy, a joiner's copy, and a wait on
// an empty ring, which must not sleep through it.
func TestReadsCheckTheEndMark(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	for _, lang := range []string{"c", "python"} {
		spsc := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 16})
		empty := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 16})
		bcast := newRing(t, ring.Options{Kind: ring.Broadcast, SlotSize: 64, Slots: 16, MaxReaders: 4})
		for _, name := range []string{spsc, bcast} {
			sendOne(t, name, 64)
		}
		for _, name := range []string{spsc, empty, bcast} {
			breakEndMark(t, name)
		}
		lines := runLines(t, lang, "endmark", spsc, empty, bcast)
		if len(lines) != 1 {
			t.Fatalf("%s said %q", lang, lines)
		}
		want := strings.ReplaceAll("receive=T recv=T wait=T bcopy=T bplace=T brecv=T bwait=T", "T", fmt.Sprint(vTruncated))
		if lines[0] != want {
			t.Errorf("%s: %s, want %s", lang, lines[0], want)
		}
	}
}

// sendOne publishes one message (sequence 0, at most max bytes) on the ring
// from a producer that stays attached until the test ends: a closed stream
// would end a reader's wait before the end mark is looked at.
func sendOne(t *testing.T, name string, max int) {
	b := make([]byte, max)
	if err := goProducer(t, name).TrySend(b[:encode(b, 0, max)]); err != nil {
		t.Fatal(err)
	}
}

// breakEndMark zeroes the end mark through the file, as the page of a file
// shrunk and grown back reads.
func breakEndMark(t *testing.T, name string) {
	path := filepath.Join("/dev/shm", name)
	h := headerOf(t, path)
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(make([]byte, 8), int64(h.EndOffset)); err != nil {
		t.Fatal(err)
	}
}

// TestSigbusGuardCatchesOnlyItsOwnFaults: in a C process with
// shmring_sigbus_guard installed, a SIGBUS inside a library call is
// SHMRING_ETRUNCATED and the process goes on; a SIGBUS on the same page
// outside any library call still kills it, as it would without the guard.
func TestSigbusGuardCatchesOnlyItsOwnFaults(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	path := filepath.Join(t.TempDir(), "ring")
	r, err := ring.Create(path, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 16})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	c := start(t, "c", "guardself", path)
	if got, want := expectPrefix(t, c, "guarded", nil), fmt.Sprintf("guarded=%d", vTruncated); got != want {
		t.Fatalf("the guarded wait said %q, want %q", got, want)
	}
	if line, err := c.ReadLine(); err == nil {
		t.Fatalf("the unguarded read said %q: the process survived a SIGBUS outside the library", line)
	}
	err = c.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("the process ended with %v, want death by SIGBUS", err)
	}
	if ws, ok := exit.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGBUS {
		t.Fatalf("the process ended with %v, want death by SIGBUS", err)
	}
}

// TestCAndPythonProducersOnAShrunkFile: a C or Python producer whose file a
// peer shrank (or shrank and grew back) is told so by its next send and
// claim (ETRUNCATED, TruncatedError), as a Go producer is: consumers check
// the end mark as they read, so what it would publish reaches no one, and a
// claim handed out a slot whose page may be gone (its first write a SIGBUS
// no guard catches; a reviewer).
func TestCAndPythonProducersOnAShrunkFile(t *testing.T) {
	for _, lang := range []string{"c", "python"} {
		for _, grow := range []bool{false, true} {
			name := lang + " producer, file cut to half"
			if grow {
				name += " and grown back"
			}
			t.Run(name, func(t *testing.T) {
				proctest.Watchdog(t, hangBound)
				ringName := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: truncSlotSize, Slots: truncSlots})
				path := filepath.Join("/dev/shm", ringName)
				st, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				prod := start(t, lang, "shrunk", ringName)
				prod.Expect("ready")
				if err := os.Truncate(path, st.Size()/2); err != nil {
					t.Fatal(err)
				}
				if grow {
					if err := os.Truncate(path, st.Size()); err != nil {
						t.Fatal(err)
					}
				}
				if err := prod.WriteLine("go"); err != nil {
					t.Fatal(err)
				}
				prod.Expect("send -25 claim -25")
				if err := prod.Wait(); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}
