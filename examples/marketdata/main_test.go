//go:build linux

package main

import (
	"bytes"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shmring/shmring/internal/launch"
	"github.com/shmring/shmring/internal/proctest"
)

// TestMain lets the test binary stand in for the program when the feed
// starts itself as a subscriber (launch.Self runs os.Executable, the test
// binary, in the role "sub").
func TestMain(m *testing.M) {
	if role, ok := launch.Role(); ok {
		os.Exit(child(role))
	}
	os.Exit(m.Run())
}

// TestFeedBriefly runs the feed with its three subscriber processes for a
// moment: every subscriber finishes with a summary and no error (each
// checks its own ordering and gap counts), the lossless one misses nothing,
// and the ring file is gone afterwards.
func TestFeedBriefly(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"-duration=500ms", "-slots=1024"}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	s := out.String()
	t.Log("\n" + s)
	for _, name := range []string{"risk", "screen", "slow-screen"} {
		if !regexp.MustCompile(`(?m)^` + name + ` +\S+ +done: `).MatchString(s) {
			t.Errorf("no summary from %s", name)
		}
	}
	if !regexp.MustCompile(`(?m)^risk +lossless done: \d+ quotes .*, 0 laps, 0 missed`).MatchString(s) {
		t.Error("the lossless subscriber missed quotes")
	}
	if !strings.Contains(s, "feed: published") {
		t.Error("no feed summary")
	}
	if _, err := os.Stat("/dev/shm/marketdata-" + strconv.Itoa(os.Getpid())); err == nil {
		t.Error("the ring file was left behind")
	}
}

// TestADurationOfNoTimeIsRefused: -duration 0 or below published nothing
// and reported it as a run.
func TestADurationOfNoTimeIsRefused(t *testing.T) {
	for _, d := range []string{"-duration=0s", "-duration=-1s"} {
		var out bytes.Buffer
		if err := run([]string{d}, &out); err == nil || !strings.Contains(err.Error(), "-duration") {
			t.Errorf("%s: err %v, want a -duration error", d, err)
		}
	}
}

// TestAnArgumentIsRefused: the feed takes flags only; a stray argument
// (a mistyped flag without its dash) was ignored.
func TestAnArgumentIsRefused(t *testing.T) {
	if err := run([]string{"-duration=1ms", "readers=4"}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "unexpected argument") {
		t.Errorf("an argument: err %v, want an unexpected-argument error", err)
	}
}

// TestSIGTERMRemovesTheRing: kill's SIGTERM ends the feed as Ctrl-C does,
// with its report and the ring file removed; the file was left behind.
// (From a black-box tester.)
func TestSIGTERMRemovesTheRing(t *testing.T) {
	// This process gets the signal too: the test's own handler keeps it
	// alive if run's is not there yet (then run goes on, and the test
	// fails on the hang guard below, not by dying).
	mine := make(chan os.Signal, 1)
	signal.Notify(mine, syscall.SIGTERM)
	defer signal.Stop(mine)
	var out proctest.Buffer
	done := make(chan error, 1)
	go func() { done <- run([]string{"-duration=60s", "-slots=1024"}, &out) }()
	for guard := time.Now().Add(30 * time.Second); !strings.Contains(out.String(), "feed: publishing"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(guard) {
			t.Fatalf("the feed never started:\n%s", out.String())
		}
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("after SIGTERM: %v\n%s", err, out.String())
		}
	case <-time.After(30 * time.Second): // a hang guard, not a timing
		t.Fatalf("still running 30 s after SIGTERM:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "feed: published") {
		t.Errorf("no feed summary after SIGTERM:\n%s", out.String())
	}
	if _, err := os.Stat("/dev/shm/marketdata-" + strconv.Itoa(os.Getpid())); err == nil {
		t.Error("the ring file was left behind after SIGTERM")
	}
}
