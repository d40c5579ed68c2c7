package main

import (
	"bytes"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/shmring/shmring/internal/launch"
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
