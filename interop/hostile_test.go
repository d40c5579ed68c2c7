package interop

// A randomised hostile peer against the C library, built with
// -fsanitize=address,undefined: c/tests/hostile.c scribbles cursors, slot
// lengths, seqs, state and flags words and the end mark on two live rings
// between the calls of its own producer, consumer and broadcast readers
// (made with the SIGBUS guard installed), and checks that
// every call returns a documented code and every message handed out lies
// within the slot area. An out-of-bounds access, undefined behaviour or a
// crash fails it (the sanitizers abort on the first report).

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/ring"
)

func TestHostilePeerCannotCrashTheCLibrary(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	bin := cHostile(t)
	iters := 100_000
	if os.Getenv("SHMRING_LONG") == "1" {
		iters = 2_000_000
	}
	for _, seed := range []string{"1", "0x5eed", "0xfeedface"} {
		spsc := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 48, Slots: 16})
		bcast := newRing(t, ring.Options{Kind: ring.Broadcast, SlotSize: 48, Slots: 16, MaxReaders: 4})
		cmd := exec.Command(bin, spsc, bcast, strconv.Itoa(iters), seed)
		// halt_on_error: the first report fails the run; detect_leaks: the
		// handles closed at the end must free everything they took.
		cmd.Env = append(os.Environ(), "ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:abort_on_error=0",
			"UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1")
		c := proctest.StartCommand(t, "c hostile", cmd)
		line, err := c.ReadLine()
		if err != nil {
			t.Fatalf("seed %s: %v", seed, err)
		}
		if want := "ok " + strconv.Itoa(iters); line != want {
			t.Fatalf("seed %s: said %q, want %q", seed, line, want)
		}
		if err := c.Wait(); err != nil {
			t.Fatalf("seed %s: %v", seed, err)
		}
		s := c.Stderr()
		if strings.Contains(s, "runtime error") || strings.Contains(s, "Sanitizer") {
			t.Fatalf("seed %s: sanitizer report:\n%s", seed, s)
		}
		t.Logf("seed %s: %s", seed, strings.TrimSpace(s))
		// The run must have reached both the honest and the hostile paths.
		for _, want := range []string{"ok=", "ring: corrupt=", "ring: corrupt: truncated="} {
			if !strings.Contains(s, want) {
				t.Errorf("seed %s: no call ended %q: the run exercised too little", seed, strings.TrimSuffix(want, "="))
			}
		}
	}
}
