//go:build linux

package main

import (
	"bytes"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

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
