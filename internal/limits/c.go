//go:build linux

package limits

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

//go:embed csrc/limits.c
var cSource []byte

// cProbes maps each reference to its probe in csrc/limits.c, and its unit.
var cProbes = []struct{ name, probe, unit string }{
	{CacheLine, "cacheline", "ns"},
	{SPSC, "spsc", "msg/s"},
	{Memcpy, "memcpy", "B/s"},
	{Futex, "futex", "ns"},
	{Pipe, "pipe", "ns"},
}

// CC is the C compiler: $CC, else cc.
func CC() string {
	if cc := os.Getenv("CC"); cc != "" {
		return cc
	}
	return "cc"
}

// MeasureC builds csrc/limits.c with the C compiler into a temporary
// directory and runs each probe for about d. It fails when there is no
// compiler.
func MeasureC(ctx context.Context, d time.Duration) (Set, error) {
	cc, err := exec.LookPath(CC())
	if err != nil {
		return nil, fmt.Errorf("no C compiler (%s): %w", CC(), err)
	}
	dir, err := os.MkdirTemp("", "ringbench-limits-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	src, bin := filepath.Join(dir, "limits.c"), filepath.Join(dir, "limits")
	if err := os.WriteFile(src, cSource, 0o600); err != nil {
		return nil, err
	}
	if out, err := exec.CommandContext(ctx, cc, "-O2", "-pthread", "-o", bin, src).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%s: %w: %s", cc, err, strings.TrimSpace(string(out)))
	}
	var s Set
	for _, p := range cProbes {
		v, err := runC(ctx, bin, p.probe, d)
		if err != nil {
			return s, err
		}
		s = append(s, Ref{p.name, "c", v, p.unit})
	}
	return s, nil
}

// runC runs one probe and reads its RESULT line.
func runC(ctx context.Context, bin, probe string, d time.Duration) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, d+time.Minute) // a hang guard
	defer cancel()
	var stderr strings.Builder
	cmd := exec.CommandContext(ctx, bin, probe, strconv.FormatFloat(d.Seconds(), 'f', 3, 64))
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("probe %s of limits.c: %w: %s", probe, err, strings.TrimSpace(stderr.String()))
	}
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(line, "RESULT "); ok {
			return strconv.ParseFloat(strings.TrimSpace(rest), 64)
		}
	}
	return 0, errors.New("probe " + probe + " of limits.c printed no RESULT line")
}
