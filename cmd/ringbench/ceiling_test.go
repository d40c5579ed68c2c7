//go:build linux

package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

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
