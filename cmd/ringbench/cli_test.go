//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
)

// TestEveryCommandsHelpSaysTheExitCodes, SIGTERM's 143 among them (128 +
// 15, as a shell reports a process SIGTERM ended; it was SIGINT's 130).
// (From a black-box tester.)
func TestEveryCommandsHelpSaysTheExitCodes(t *testing.T) {
	for _, cmd := range [][]string{{"--help"}, {"run", "--help"}, {"mpmc", "--help"}, {"broadcast", "--help"}, {"frames", "--help"}, {"limits", "--help"}} {
		var stdout, stderr bytes.Buffer
		if code := execute(cmd, &stdout, &stderr); code != 0 {
			t.Fatalf("%q: exit %d: %s", cmd, code, stderr.String())
		}
		for _, want := range []string{"Exit status:", "1 a run failed", "2 bad flags", "130 interrupted by SIGINT", "143 by SIGTERM"} {
			if !strings.Contains(stdout.String(), want) {
				t.Errorf("%q: the help lacks %q:\n%s", cmd, want, stdout.String())
			}
		}
	}
}

// TestSizeFlagsReadSizesAsSizesDoes: --size takes the k and M suffixes
// --sizes takes, in every command that has it; "--size 64M" was a parse
// error while "--sizes 64M" worked. (From a black-box tester.)
func TestSizeFlagsReadSizesAsSizesDoes(t *testing.T) {
	var stdout, stderr bytes.Buffer
	args := []string{"--size=1k", "--transports=chan", "--workloads=throughput", "--reps=1", "--duration=5ms", "--warmup=1ms", "--fingerprint=false"}
	if code := execute(args, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "== 1 KiB messages ==") {
		t.Errorf("%q: exit %d, want a run of 1 KiB messages; stdout:\n%s\nstderr:\n%s", args, code, stdout.String(), stderr.String())
	}
	for _, tc := range []struct {
		args []string
		want string // in the usage error: past the size, at the flag after it
	}{
		{[]string{"--size=64M", "--slots=3"}, "--slots 3"},
		{[]string{"mpmc", "--size=4K", "--kind=bogus"}, "--kind"},
		{[]string{"broadcast", "--size=1k", "--policy=bogus"}, "--policy"},
		{[]string{"--size=64Q"}, `"64Q" is not a size in bytes`},
		{[]string{"mpmc", "--size=4kk"}, `"4kk" is not a size in bytes`},
		// A size too large says so, in any suffix (a black-box tester:
		// "--rtt 1G" read as no size at all, and only M was upper case).
		{[]string{"frames", "--rtt=1G"}, "size 1073741824: want 8 to"},
		{[]string{"frames", "--frame=128m"}, "size 134217728: want 8 to"},
	} {
		var stdout, stderr bytes.Buffer
		if code := execute(tc.args, &stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit %d with %q", tc.args, code, stderr.String(), exitUsage, tc.want)
		}
	}
}

// TestAFailureThatASignalCausedIsAnInterruption: a Ctrl-C reaches
// ringbench's children too, and a child that died of it can fail the
// measurement before ringbench has handled its own signal; that is an
// interruption (exit 130), not a failure (exit 1, "FAILED: … killed by
// signal: interrupt"). Here the measurement signals this process and fails
// at once, as the child's death makes it. (From a black-box tester.)
func TestAFailureThatASignalCausedIsAnInterruption(t *testing.T) {
	err := interruptible(io.Discard, func(context.Context) error {
		if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		return errors.New("peer: child failed (killed by signal: interrupt)")
	})
	var in interruption
	if !errors.As(err, &in) || in.exitCode() != 130 {
		t.Fatalf("interruptible = %v, want the interruption by SIGINT", err)
	}
}
