//go:build linux

package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shmring/shmring/internal/launch"
	"github.com/shmring/shmring/internal/limits"
)

// ceilingRow matches a row of the ceilings table with a Go figure.
var ceilingRow = regexp.MustCompile(`(?m)^\s*(.+?)\s{2,}([0-9.]+ (ns|µs|M msg/s|GB/s))\s{2,}`)

func TestLimitsPrintsTheFiveReferences(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := execute([]string{"limits", "--duration=20ms", "--c=false"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", code, stderr.String())
	}
	rows := map[string]bool{}
	for _, m := range ceilingRow.FindAllStringSubmatch(stdout.String(), -1) {
		rows[m[1]] = true
	}
	for _, name := range limits.Names {
		if !rows[name] {
			t.Errorf("no Go figure for %q in:\n%s", name, stdout.String())
		}
	}
}

func TestCeilingGivesTheFiguresAsRatios(t *testing.T) {
	noRingFilesLeft(t)
	// No C compiler: the C probes (seconds on a loaded machine, covered by
	// internal/limits' tests) are left out, and the report says why.
	t.Setenv("CC", "no-such-compiler")
	var stdout, stderr bytes.Buffer
	args := []string{"--ceiling", "--transports=shmring,pipe", "--duration=30ms", "--warmup=5ms", "--reps=1", "--fingerprint=false"}
	if code := execute(args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", code, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{
		"ceilings:", limits.SPSC, limits.Futex,
		"shmring vs ceilings: throughput ", "x of the " + limits.SPSC, "median RTT ", "x the " + limits.CacheLine,
		"pipe vs ceilings: ", "x the " + limits.Pipe,
		"C probes not run: no C compiler (no-such-compiler)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestLimitsBenchLinesNameEveryReference(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := execute([]string{"limits", "--duration=20ms", "--c=false", "--bench"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", code, stderr.String())
	}
	for _, key := range []string{"cacheline", "spsc", "memcpy", "futex", "pipe"} {
		if !regexp.MustCompile(`(?m)^BenchmarkLimits/ref=` + key + `/lang=go\t1\t[0-9.]+ \S+$`).MatchString(stdout.String()) {
			t.Errorf("no line for %s in:\n%s", key, stdout.String())
		}
	}
}

// TestRatiosPastACeilingComeWithAWarning: a transport faster than the
// machine's ceiling (a probe disturbed by other load) keeps its figures,
// with a warning that names them; figures within the ceilings have none.
func TestRatiosPastACeilingComeWithAWarning(t *testing.T) {
	trs, err := parseTransports("pipe", nil)
	if err != nil {
		t.Fatal(err)
	}
	size := fixedSize(64)
	report := func(spsc float64) string {
		r := &runReport{plan: plan{transports: trs}, ceilings: limits.Set{{Name: limits.SPSC, Lang: "go", Value: spsc, Unit: "msg/s"}},
			cells: []*cell{{tr: trs[0], workload: throughput, size: size,
				row: row[*measurement]{reps: []*measurement{{measured: 1000, bytes: 64000, elapsed: time.Millisecond}}}}}}
		var b bytes.Buffer
		r.writeRatiosToCeilings(&b, size)
		return b.String()
	}
	// 1000 messages in 1 ms: 1 M msg/s.
	if out := report(2e6); !strings.Contains(out, "pipe vs ceilings: throughput 0.5") || strings.Contains(out, "WARNING") {
		t.Errorf("half the ceiling: want the ratio and no warning:\n%s", out)
	}
	if out := report(1e5); !strings.Contains(out, "pipe vs ceilings: throughput 10") || !strings.Contains(out, "WARNING: past a ceiling: pipe throughput 10") {
		t.Errorf("ten times the ceiling: want the ratio and a warning naming it:\n%s", out)
	}
}

// hangingCC is a C compiler that never finishes: a shell that starts a
// sleep, writes the sleep's pid to $1's file and waits for it. Killing the
// shell alone leaves the sleep holding the compiler's output pipe, and
// ringbench waiting on it.
const hangingCC = "#!/bin/sh\nsleep 600 &\necho $! > %s\nwait\n"

// TestLimitsAndCeilingStopAtSIGINTAndSIGTERM: ringbench limits, and the
// ceilings phase of run --ceiling, stop at SIGINT or SIGTERM as the other
// commands do: exit 130 (SIGINT) or 143 (SIGTERM) with the "interrupted"
// line, every process they started (the compiler's children too) killed,
// their temporary directory gone. A Go probe of --duration=10m stops at
// once; the C compiler here never finishes by itself.
func TestLimitsAndCeilingStopAtSIGINTAndSIGTERM(t *testing.T) {
	for _, tc := range []struct {
		name string
		sig  syscall.Signal
		args []string
		cc   bool // wait until the (hanging) compiler runs
	}{
		{"limits at SIGINT in a Go probe", syscall.SIGINT, []string{"limits", "--duration=10m", "--c=false"}, false},
		{"limits at SIGTERM while compiling the C probes", syscall.SIGTERM, []string{"limits", "--duration=10ms"}, true},
		{"run --ceiling at SIGINT while compiling the C probes", syscall.SIGINT,
			[]string{"run", "--ceiling", "--transports=pipe", "--duration=10ms", "--warmup=1ms", "--reps=1", "--fingerprint=false"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp)
			pidFile := filepath.Join(t.TempDir(), "sleep.pid")
			cc := filepath.Join(t.TempDir(), "cc")
			if err := os.WriteFile(cc, []byte(fmt.Sprintf(hangingCC, pidFile)), 0o700); err != nil {
				t.Fatal(err)
			}
			t.Setenv("CC", cc)
			cmd, err := launch.Self(roleCLI, nil, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			p, err := launch.Start("ringbench "+tc.args[0], cmd)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Kill()
			watchdog := time.AfterFunc(time.Minute, p.Kill) // a hang guard, never a time limit
			defer watchdog.Stop()
			var sleeper int
			eventually(t, p, func() bool {
				if !tc.cc {
					return strings.Contains(p.Stderr(), "measuring this machine's ceilings")
				}
				b, _ := os.ReadFile(pidFile)
				sleeper, _ = strconv.Atoi(strings.TrimSpace(string(b)))
				return sleeper > 0
			})
			if err := p.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			<-p.Done()
			// 128 + the signal's number, as a shell reports a process the
			// signal killed: SIGTERM exited 130, SIGINT's, too.
			if code, want := p.ExitCode(), 128+int(tc.sig); code != want || !strings.Contains(p.Stderr(), "ringbench: interrupted;") {
				t.Fatalf("after %v: exit %d, want %d and the interrupted line; stderr:\n%s", tc.sig, code, want, p.Stderr())
			}
			if left, _ := filepath.Glob(filepath.Join(tmp, "ringbench-limits-*")); len(left) > 0 {
				t.Errorf("after %v: %v left behind", tc.sig, left)
			}
			if sleeper > 0 {
				eventually(t, nil, func() bool { return !running(sleeper) })
			}
		})
	}
}

// eventually polls cond until it holds, failing if p exits first or a
// minute passes (a hang guard, never a time limit).
func eventually(t *testing.T, p *launch.Proc, cond func() bool) {
	t.Helper()
	for start := time.Now(); !cond(); time.Sleep(5 * time.Millisecond) {
		switch {
		case p != nil && p.Exited():
			t.Fatalf("exited (%d) before the test could go on; stderr:\n%s", p.ExitCode(), p.Stderr())
		case time.Since(start) > time.Minute:
			t.Fatal("still waiting after a minute")
		}
	}
}

// running reports whether pid is a process that has not exited (a zombie
// has).
func running(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || b[i+2] != 'Z'
}
