//go:build linux

package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shmring/shmring/internal/codec"
	"github.com/shmring/shmring/internal/launch"
)

// TestMain lets the test binary stand in for the program when the producer
// starts itself as a reader (launch.Self runs os.Executable, the test
// binary, in the role "reader").
func TestMain(m *testing.M) {
	if role, ok := launch.Role(); ok {
		os.Exit(child(role, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// readerLine is a reader's summary: frames, fps, p50, p99, drops, failures.
var readerLine = regexp.MustCompile(`(?m)^(encoder|preview) \(.*\): +(\d+) frames checked in place, +([\d.]+) fps, latency p50 ([\d.]+ [nµm]?s) p99 ([\d.]+ [nµm]?s), drops (\d+) .*, integrity failures (\d+)$`)

// TestPipelineBriefly runs the producer and its two reader processes for a
// second of small frames: both readers report figures, the encoder checked
// every frame the producer made and dropped none, nobody saw a bad frame,
// and both children have exited when run returns.
func TestPipelineBriefly(t *testing.T) {
	var out bytes.Buffer
	start := time.Now()
	if err := run([]string{"-res=320x180", "-fps=100", "-duration=1s"}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	s := out.String()
	t.Logf("in %v:\n%s", time.Since(start).Round(time.Millisecond), s)
	produced := regexp.MustCompile(`(?m)^producer: (\d+) frames in `).FindStringSubmatch(s)
	if produced == nil {
		t.Fatal("no producer summary")
	}
	got := map[string][]string{}
	for _, m := range readerLine.FindAllStringSubmatch(s, -1) {
		got[m[1]] = m
	}
	for _, name := range []string{"encoder", "preview"} {
		m := got[name]
		if m == nil {
			t.Errorf("no summary from the %s", name)
			continue
		}
		if m[7] != "0" {
			t.Errorf("%s: %s integrity failures", name, m[7])
		}
		if n, _ := strconv.Atoi(m[2]); n == 0 {
			t.Errorf("%s checked no frame", name)
		}
	}
	if m := got["encoder"]; m != nil && (m[2] != produced[1] || m[6] != "0") {
		t.Errorf("encoder: %s frames checked, %s drops; want all %s frames and no drop", m[2], m[6], produced[1])
	}
	if kids := children(t); len(kids) > 0 {
		t.Errorf("child processes %v still running after run returned", kids)
	}
}

// TestPreviewAccountsForEveryFrame runs the pipeline flat out on tiny frames
// through a ring of two, so that the preview skips and is overrun all the
// time: every frame the producer made is one it checked or one of its
// drops. A frame overrun while the preview let go of it, unread, was
// counted neither.
func TestPreviewAccountsForEveryFrame(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"-res=64x64", "-fps=10000", "-duration=1s", "-frames=2"}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	s := out.String()
	produced := regexp.MustCompile(`(?m)^producer: (\d+) frames in `).FindStringSubmatch(s)
	if produced == nil {
		t.Fatalf("no producer summary:\n%s", s)
	}
	for _, m := range readerLine.FindAllStringSubmatch(s, -1) {
		checked, _ := strconv.Atoi(m[2])
		drops, _ := strconv.Atoi(m[6])
		failures, _ := strconv.Atoi(m[7])
		if want, _ := strconv.Atoi(produced[1]); checked+drops+failures != want {
			t.Errorf("%s: %d checked + %d drops + %d failures = %d, want the %d frames produced\n%s", m[1], checked, drops, failures, checked+drops+failures, want, s)
		}
	}
}

// children lists this process's child processes (proc(5): each thread's
// children file).
func children(t *testing.T) []string {
	files, err := filepath.Glob("/proc/self/task/*/children")
	if err != nil || len(files) == 0 {
		t.Skipf("no /proc/self/task/*/children here (%v): cannot list child processes", err)
	}
	var pids []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err == nil {
			pids = append(pids, strings.Fields(string(b))...)
		}
	}
	return pids
}

func TestFrameCheckCatchesOneFlippedPixelBit(t *testing.T) {
	res := resolution{16, 4}
	b := make([]byte, res.frameSize())
	newPainter(res).paint(b, 7, func() int64 { return 1 })
	if h, err := check(b, res); err != nil || h.Seq != 7 {
		t.Fatalf("fresh frame: seq %d, err %v", h.Seq, err)
	}
	for _, i := range []int{0, widthOffset, pixelsOffset, len(b) - 1} {
		b[i] ^= 0x10
		if _, err := check(b, res); !errors.Is(err, codec.ErrIntegrity) {
			t.Errorf("byte %d flipped: err %v, want ErrIntegrity", i, err)
		}
		b[i] ^= 0x10
	}
	if _, err := check(b[:len(b)-4], res); !errors.Is(err, codec.ErrIntegrity) {
		t.Errorf("short frame: err %v, want ErrIntegrity", err)
	}
}

func TestBadFlagsAreRefused(t *testing.T) {
	for _, args := range [][]string{{"-res=8k"}, {"-res=0x10"}, {"-fps=0"}, {"-duration=0s"}, {"-frames=1"}, {"extra-arg"}} {
		if err := run(args, &bytes.Buffer{}); err == nil || strings.Contains(err.Error(), "ring") {
			t.Errorf("%v: err %v, want a flag error", args, err)
		}
	}
}
