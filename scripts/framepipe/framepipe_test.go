//go:build linux && amd64

// Package framepipe holds csrc/frame_pipeline.c, the probe of ways of handing
// large frames between processes by copying them through shared memory
// (scripts/bench-frame-pipeline.sh, BENCHMARKS.md 11.4). This test keeps it
// building and measuring.
package framepipe

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/cpu"
)

// TestProbeMeasuresEveryMode builds the probe and runs one of each of its
// modes: each prints a positive rate, and bad arguments are refused.
func TestProbeMeasuresEveryMode(t *testing.T) {
	if testing.Short() {
		t.Skip("the probe runs 1.5 s a mode")
	}
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler (cc): the probe is optional")
	}
	if !cpu.X86.HasAVX2 {
		t.Skip("the probe's copies need AVX2, which this CPU lacks")
	}
	bin := filepath.Join(t.TempDir(), "frame_pipeline")
	if out, err := exec.Command(cc, "-O2", "-mavx2", "-Wall", "-Werror", "-o", bin, filepath.Join("csrc", "frame_pipeline.c")).CombinedOutput(); err != nil {
		t.Fatalf("cc: %v\n%s", err, out)
	}
	for _, args := range [][]string{{"copy", "n"}, {"whole", "2", "n", "m"}, {"chunk", "262144", "8", "a", "r"}} {
		out, err := exec.Command(bin, args...).Output()
		if err != nil {
			t.Errorf("%v: %v", args, err)
			continue
		}
		rest, ok := strings.CutPrefix(strings.TrimSpace(string(out)), "RESULT ")
		if rate, err := strconv.ParseFloat(rest, 64); !ok || err != nil || !(rate > 0) {
			t.Errorf("%v printed %q, want RESULT and a positive rate", args, out)
		}
	}
	for _, args := range [][]string{{"whole", "0", "n", "n"}, {"chunk", "1000", "8", "a", "a"}, {"copy", "x"}, {"sideways", "1", "n", "n"}} {
		if err := exec.Command(bin, args...).Run(); err == nil {
			t.Errorf("%v: exit status 0, want the usage refused", args)
		}
	}
}
