//go:build linux

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/shmring/shmring/internal/report"
)

// writeFile writes j as ringbench writes a --json file.
func writeFile[J any](t *testing.T, j J) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "f.json")
	if err := writeJSONFile(path, func() (J, error) { return j, nil }); err != nil {
		t.Fatal(err)
	}
	return path
}

func throughputOf(rate float64) jsonSummary {
	return jsonSummary{MsgsPerSec: &report.Spread{Median: rate, Min: rate, Max: rate}}
}

// TestCompareSetsEachMPMCResultAgainstItsTwin: mpmc results are keyed by
// shape, medium and kind (they have no transport): a file compared with
// itself is 1.000 on every row, each row naming its result.
func TestCompareSetsEachMPMCResultAgainstItsTwin(t *testing.T) {
	j := mpJSONReport{jsonHead: newJSONHead("mpmc", report.Machine{}, nil)}
	for i, c := range []struct{ shape, medium, kind string }{
		{"1P1C", "processes", "mpmc"}, {"2P2C", "processes", "mpmc"}, {"1P1C", "goroutines", "mpmc"}, {"1P1C", "processes", "spsc"},
	} {
		j.Results = append(j.Results, mpJSONCell{Shape: c.shape, Medium: c.medium, Kind: c.kind, Workload: "throughput", Size: 64,
			jsonSummary: throughputOf(float64(1000 * (i + 1)))})
	}
	path := writeFile(t, j)
	var stdout, stderr bytes.Buffer
	if code := execute([]string{"compare", path, path}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	rows := regexp.MustCompile(`(?m)^.* msgs/s .*[0-9]\.[0-9]{3}$`).FindAllString(stdout.String(), -1)
	if len(rows) != 4 {
		t.Fatalf("%d result rows, want 4:\n%s", len(rows), stdout.String())
	}
	for i, want := range []string{"1P1C  processes  mpmc", "2P2C  processes  mpmc", "1P1C  goroutines  mpmc", "1P1C  processes  spsc"} {
		if f := strings.Fields(rows[i]); !strings.Contains(strings.Join(strings.Fields(rows[i]), "  "), want) || f[len(f)-1] != "1.000" {
			t.Errorf("row %d %q: want %q and B/A 1.000", i, rows[i], want)
		}
	}
}

// TestCompareRefusesFilesOfDifferentModes: a run file and an mpmc file
// measure different things; compare says so and fails.
func TestCompareRefusesFilesOfDifferentModes(t *testing.T) {
	run := writeFile(t, jsonReport{jsonHead: newJSONHead("", report.Machine{}, nil),
		Results: []jsonCell{{Transport: "pipe", Workload: "throughput", Size: 64, jsonSummary: throughputOf(1000)}}})
	mp := writeFile(t, mpJSONReport{jsonHead: newJSONHead("mpmc", report.Machine{}, nil),
		Results: []mpJSONCell{{Shape: "1P1C", Medium: "processes", Kind: "mpmc", Workload: "throughput", Size: 64, jsonSummary: throughputOf(1000)}}})
	var stdout, stderr bytes.Buffer
	if code := execute([]string{"compare", run, mp}, &stdout, &stderr); code == 0 || !strings.Contains(stderr.String(), "ringbench run") || !strings.Contains(stderr.String(), "ringbench mpmc") {
		t.Errorf("compare of a run file and an mpmc file: exit %d, stderr %q: want a failure naming both modes", code, stderr.String())
	}
	if code := execute([]string{"plot", "--json", mp, "--out", t.TempDir()}, &stdout, &stderr); code == 0 {
		t.Errorf("plot of an mpmc file succeeded")
	}
}

// TestCompareOfFilesWithNothingInCommonFails: two run files that share no
// result (another transport, workload or size) have nothing to set side
// by side; compare says so and fails instead of printing an empty table.
// (From a black-box tester.)
func TestCompareOfFilesWithNothingInCommonFails(t *testing.T) {
	a := writeFile(t, jsonReport{jsonHead: newJSONHead("", report.Machine{}, nil),
		Results: []jsonCell{{Transport: "pipe", Workload: "throughput", Size: 64, jsonSummary: throughputOf(1000)}}})
	b := writeFile(t, jsonReport{jsonHead: newJSONHead("", report.Machine{}, nil),
		Results: []jsonCell{{Transport: "pipe", Workload: "throughput", Size: 8, jsonSummary: throughputOf(1000)}}})
	var stdout, stderr bytes.Buffer
	// Bad arguments (exit 2), not a failed run (1): a black-box tester.
	if code := execute([]string{"compare", a, b}, &stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), "no result in common") {
		t.Errorf("compare of files with no result in common: exit %d, stderr %q: want exit %d saying so", code, stderr.String(), exitUsage)
	}
	if code := execute([]string{"compare", a, a}, &stdout, &stderr); code != 0 {
		t.Errorf("compare of a file with itself: exit %d, stderr %q", code, stderr.String())
	}
}

// TestCompareMarksWhatRestsOnTooFewEvents: a result its run warned of (a
// few round trips, a throughput repetition of a few messages) is marked in
// compare's table, and one of no rate, which has no ratio, is named as
// left out: compare printed both as if measured, or dropped them without a
// word (a black-box tester).
func TestCompareMarksWhatRestsOnTooFewEvents(t *testing.T) {
	rtt := func(n uint64) jsonSummary {
		return jsonSummary{RoundTrips: n, LatencyNs: map[string]int64{"p50": 1000, "p99": 2000}}
	}
	cells := []jsonCell{
		{Transport: "pipe", Workload: "pingpong", Size: 64, jsonSummary: rtt(5000)},
		{Transport: "shmring", Workload: "pingpong", Size: 64, jsonSummary: rtt(1)},
		{Transport: "shmring", Workload: "throughput", Size: 64, jsonSummary: throughputOf(1e6),
			Reps: []jsonRep{{Measured: 12, ElapsedNs: int64(time.Second)}}},
		{Transport: "pipe", Workload: "throughput", Size: 64, jsonSummary: throughputOf(1e6),
			Reps: []jsonRep{{Measured: 500000, ElapsedNs: int64(time.Second / 2)}}},
		{Transport: "unix", Workload: "throughput", Size: 64, jsonSummary: throughputOf(0),
			Reps: []jsonRep{{Measured: 0, ElapsedNs: int64(time.Second)}}},
	}
	path := writeFile(t, jsonReport{jsonHead: newJSONHead("", report.Machine{}, nil), Results: cells})
	var stdout, stderr bytes.Buffer
	if code := execute([]string{"compare", path, path}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	out := stdout.String()
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || (f[1] != "pingpong" && f[1] != "throughput") {
			continue
		}
		if marked, thin := strings.HasSuffix(line, "*"), f[0] == "shmring"; marked != thin {
			t.Errorf("row %q: marked %v, want %v (only shmring's figures rest on too few events)", line, marked, thin)
		}
	}
	if !strings.Contains(out, "* not a measurement: ") || !strings.Contains(out, "left out, nothing measured on a side (no B/A): unix throughput 64 (no rate in A and B)") {
		t.Errorf("compare lacks the footnote or the line of results left out:\n%s", out)
	}
}

// TestCompareLeavesOutWhatOneSideDidNotMeasure: a rate of 0 in B (or no
// figure at all) has no B/A either: it is named, with its side, not
// printed as a ratio of 0.000 (a reviewer); files whose only results in
// common are such have nothing to compare (exit 2).
func TestCompareLeavesOutWhatOneSideDidNotMeasure(t *testing.T) {
	a := writeFile(t, jsonReport{jsonHead: newJSONHead("", report.Machine{}, nil),
		Results: []jsonCell{{Transport: "pipe", Workload: "throughput", Size: 64, jsonSummary: throughputOf(1000)}}})
	b := writeFile(t, jsonReport{jsonHead: newJSONHead("", report.Machine{}, nil),
		Results: []jsonCell{{Transport: "pipe", Workload: "throughput", Size: 64, jsonSummary: throughputOf(0)}}})
	var stdout, stderr bytes.Buffer
	code := execute([]string{"compare", a, b}, &stdout, &stderr)
	if code != exitUsage || strings.Contains(stdout.String(), "0.000") || !strings.Contains(stdout.String(), "pipe throughput 64 (no rate in B)") {
		t.Errorf("compare with B's rate 0: exit %d, stdout:\n%s\nwant exit %d, no ratio, and the result named as left out in B", code, stdout.String(), exitUsage)
	}
	// A result skipped on both sides is named with its runs' reasons, not
	// as a latency result with "no percentiles" (a reviewer).
	skipped := writeFile(t, jsonReport{jsonHead: newJSONHead("", report.Machine{}, nil),
		Results: []jsonCell{{Transport: "unix", Workload: "throughput", Size: 64, Skipped: "no sockets here"}}})
	stdout.Reset()
	execute([]string{"compare", skipped, skipped}, &stdout, &stderr)
	if want := "unix throughput 64 (skipped in A: no sockets here; skipped in B: no sockets here)"; !strings.Contains(stdout.String(), want) {
		t.Errorf("compare of a result both runs skipped, stdout:\n%s\nwant it to say %q", stdout.String(), want)
	}
}

// TestCompareWarnsOfResultsMeasuredWithDifferentSettings: two runs of one
// transport, workload and size at different fixed rates (or touching
// different bytes) are not the same measurement; compare sets them side by
// side, as asked, under a warning naming each setting that differs, and
// says nothing of flags that only choose what runs or where figures go.
// (From a black-box auditor.)
func TestCompareWarnsOfResultsMeasuredWithDifferentSettings(t *testing.T) {
	file := func(flags ...string) string {
		return writeFile(t, jsonReport{jsonHead: newJSONHead("", report.Machine{}, flags),
			Results: []jsonCell{{Transport: "pipe", Workload: "throughput", Size: 64, jsonSummary: throughputOf(1000)}}})
	}
	a := file("--rate=20000", "--touch=all", "--json=a.json", "--reps=3", "--wait=default")
	b := file("--rate=60000", "--touch=all", "--json=b.json", "--reps=5", "--memfd=true", "--wait=default,spin")
	var stdout, stderr bytes.Buffer
	if code := execute([]string{"compare", a, b}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	warn := regexp.MustCompile(`(?m)^WARNING: the runs measured with different settings.*$`).FindString(stdout.String())
	for _, want := range []string{"--rate 20000 (A) vs 60000 (B)", "--memfd unset (A) vs true (B)"} {
		if !strings.Contains(warn, want) {
			t.Errorf("warning %q does not say %q", warn, want)
		}
	}
	for _, not := range []string{"--touch", "--json", "--reps", "--wait"} {
		if strings.Contains(warn, not) {
			t.Errorf("warning %q names %s, which is alike or no setting", warn, not)
		}
	}
	stdout.Reset()
	if code := execute([]string{"compare", a, a}, &stdout, &stderr); code != 0 || strings.Contains(stdout.String(), "different settings") {
		t.Errorf("compare of a file with itself: exit %d, output %q", code, stdout.String())
	}
}

// TestPlotKeepsAMixedRunApartFromItsLargestSize: a mixed 64 B–64 KiB run
// and a 64 KiB run of one transport are two sizes: two latency files, the
// mixed one titled as mixed, and never one file with two curves of one
// name.
func TestPlotKeepsAMixedRunApartFromItsLargestSize(t *testing.T) {
	hist := func(v int64) string {
		h := hdrhistogram.New(1, 1e9, 3)
		for i := range int64(100) {
			h.RecordValue(v + i)
		}
		s, err := report.Encode(h)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	j := jsonReport{jsonHead: newJSONHead("", report.Machine{CPU: "test"}, nil), Transports: []jsonTransport{{Name: "pipe"}},
		Results: []jsonCell{
			{Transport: "pipe", Workload: "pingpong", Size: 65536, jsonSummary: jsonSummary{Histogram: hist(50000)}},
			{Transport: "pipe", Workload: "pingpong", Size: 65536, MinSize: 64, jsonSummary: jsonSummary{Histogram: hist(20000)}},
		}}
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := execute([]string{"plot", "--json", writeFile(t, j), "--out", dir}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for name, title := range map[string]string{"latency-pingpong-65536.svg": "64 KiB messages", "latency-pingpong-mix64-65536.svg": "mixed 64 B"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("plot wrote %q; want %s: %v", stdout.String(), name, err)
			continue
		}
		if !strings.Contains(string(b), title) || strings.Count(string(b), ">pipe<") != 1 {
			t.Errorf("%s: want the title %q and one curve named pipe", name, title)
		}
	}
}

// TestHelpSaysWhatAllTransportsAre: --help names every transport "all"
// measures, and says which it leaves out.
func TestHelpSaysWhatAllTransportsAre(t *testing.T) {
	trs, err := parseTransports("all", nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tr := range trs {
		names = append(names, tr.name())
	}
	var stdout, stderr bytes.Buffer
	execute([]string{"--help"}, &stdout, &stderr)
	help := strings.Join(strings.Fields(stdout.String()), " ")
	if !strings.Contains(help, "or all: "+strings.Join(names, ", ")+" ") {
		t.Errorf("--help does not list what all is (%s):\n%s", strings.Join(names, ", "), stdout.String())
	}
	for _, name := range transportOrder {
		if !slices.Contains(names, name) && !strings.HasSuffix(name, "-spin") && !strings.HasSuffix(name, "-sleep") && !strings.Contains(help, name+", are measured only when named") && !strings.Contains(help, name+" and") {
			t.Errorf("--help does not say that all leaves out %s", name)
		}
	}
}
