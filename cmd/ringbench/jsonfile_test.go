//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/shmring/shmring/internal/report"
)

// The --json files read as a script reads them: generic JSON, by field name.
type (
	anyJSON = map[string]any
	anyRep  struct {
		RoundTrips      *float64 `json:"round_trips"`
		RoundTripsTotal *float64 `json:"round_trips_total"`
		Histogram       string   `json:"histogram"`
	}
	anyCell struct {
		Label      string   `json:"label"`
		Workload   string   `json:"workload"`
		RoundTrips *float64 `json:"round_trips"`
		Histogram  string   `json:"histogram"`
		Reps       []anyRep `json:"reps"`
	}
)

// runJSON runs ringbench with args and --json, and returns its table and
// the file, read both as generic JSON and as its results.
func runJSON(t *testing.T, args ...string) (string, anyJSON, []anyCell) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "out.json")
	var stdout, stderr bytes.Buffer
	if code := execute(append(args, "--json", path), &stdout, &stderr); code != 0 {
		t.Fatalf("%q: exit %d; stderr:\n%s", args, code, stderr.String())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var top anyJSON
	var cells struct{ Results []anyCell }
	if err := json.Unmarshal(b, &top); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &cells); err != nil {
		t.Fatal(err)
	}
	return stdout.String(), top, cells.Results
}

// count is a histogram's count of round trips.
func count(t *testing.T, hist string) uint64 {
	t.Helper()
	h, err := report.Decode(hist)
	if err != nil {
		t.Fatal(err)
	}
	return uint64(h.TotalCount())
}

// num is a JSON count: absent is 0 (the counts are omitempty).
func num(t *testing.T, what string, f *float64) uint64 {
	t.Helper()
	if f == nil {
		return 0
	}
	return uint64(*f)
}

// roundTripCount is the last column, the round trips, of label's row in
// the round-trip tables of out (each under a line that starts "round
// trip", its rows indented).
func roundTripCount(t *testing.T, out, label string) uint64 {
	t.Helper()
	in := false
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, "round trip"):
			in = true
		case !strings.HasPrefix(line, " "):
			in = false
		case in && strings.HasPrefix(strings.TrimSpace(line), label+" "):
			f := strings.Fields(line)
			if n, err := strconv.ParseUint(f[len(f)-1], 10, 64); err == nil {
				return n
			}
		}
	}
	t.Fatalf("no round-trip row for %q in:\n%s", label, out)
	return 0
}

// TestRoundTripsMeanTheRecordedOnesEverywhere: "round trips" in the
// tables, the ring-counter notes and the JSON file is one count, the round
// trips recorded after the warm-up (the histogram's); the count with the
// warm-up, which the counters span, has its own name. The JSON's
// round_trips counted the warm-up while the table's column did not, and
// the notes gave the warm-up count as "round trips". (From a black-box
// tester.)
func TestRoundTripsMeanTheRecordedOnesEverywhere(t *testing.T) {
	t.Run("run", func(t *testing.T) {
		table, _, cells := runJSON(t, "run", "--transports=shmring", "--workloads=pingpong", "--duration=20ms", "--warmup=20ms",
			"--reps=2", "--fingerprint=false")
		if len(cells) != 1 || len(cells[0].Reps) != 2 {
			t.Fatalf("got %d results, want 1 of 2 repetitions", len(cells))
		}
		c := cells[0]
		var sum uint64
		for i, r := range c.Reps {
			got, recorded := num(t, "round_trips", r.RoundTrips), count(t, r.Histogram)
			if recorded == 0 {
				t.Fatalf("repetition %d: no round trip recorded: the test proves nothing", i+1)
			}
			if got != recorded {
				t.Errorf("repetition %d: round_trips %d, want the histogram's %d", i+1, got, recorded)
			}
			if total := num(t, "round_trips_total", r.RoundTripsTotal); total < recorded {
				t.Errorf("repetition %d: round_trips_total %d, want at least the %d recorded", i+1, total, recorded)
			}
			sum += got
		}
		if got, col := num(t, "the result's round_trips", c.RoundTrips), roundTripCount(t, table, "shmring"); got != sum || col != sum {
			t.Errorf("the result's round_trips %d, the table's column %d; want both the repetitions' %d", got, col, sum)
		}
		// The notes are of the last repetition.
		last := c.Reps[len(c.Reps)-1]
		want := regexp.MustCompile(`in (\d+) round trips incl\. warm-up \((\d+) recorded\)`).FindStringSubmatch(table)
		if want == nil || want[1] != strconv.FormatUint(num(t, "", last.RoundTripsTotal), 10) || want[2] != strconv.FormatUint(num(t, "", last.RoundTrips), 10) {
			t.Errorf("the ring-counter notes do not give the last repetition's %d round trips incl. warm-up (%d recorded):\n%s",
				num(t, "", last.RoundTripsTotal), num(t, "", last.RoundTrips), table)
		}
	})
	t.Run("mpmc", func(t *testing.T) {
		table, _, cells := runJSON(t, "mpmc", "--producers=1", "--consumers=1", "--duration=100ms", "--warmup=20ms", "--reps=1")
		seen := 0
		for _, c := range cells {
			if c.Workload != mpRoundTrip {
				continue
			}
			seen++
			recorded := count(t, c.Histogram)
			if recorded == 0 {
				t.Fatalf("%s: no round trip recorded: the test proves nothing", c.Label)
			}
			if got := num(t, c.Label+" repetition's round_trips", c.Reps[0].RoundTrips); got != recorded {
				t.Errorf("%s: the repetition's round_trips %d, want the histogram's %d", c.Label, got, recorded)
			}
			sum, total := num(t, c.Label+" round_trips", c.RoundTrips), num(t, c.Label+" round_trips_total", c.Reps[0].RoundTripsTotal)
			if sum != recorded || total < recorded {
				t.Errorf("%s: the result's round_trips %d, round_trips_total %d; want the histogram's %d, and at least that", c.Label, sum, total, recorded)
			}
			if col := roundTripCount(t, table, c.Label); col != recorded {
				t.Errorf("%s: the table's round trips %d, the histogram's %d", c.Label, col, recorded)
			}
		}
		if seen == 0 {
			t.Fatal("no round-trip result")
		}
	})
}

// TestAPlacementNotMeasuredIsLeftOut: with --fingerprint=false the run
// file has no placement, rather than one of 0 ns before and after that
// reads as a measurement. (From a black-box tester.)
func TestAPlacementNotMeasuredIsLeftOut(t *testing.T) {
	_, top, _ := runJSON(t, "run", "--transports=chan", "--workloads=throughput", "--duration=5ms", "--warmup=1ms",
		"--reps=1", "--fingerprint=false")
	if p, ok := top["placement"]; ok && p != nil {
		t.Errorf("placement %v in the file of a run that did not measure it", p)
	}
}

// TestFormatOneFilesAreStillRead: format 2 changed the meaning of
// round_trips only, which plot and compare do not read back, so the files
// of format 1 (BENCHMARKS.md's sweep.json among them) are still read; a
// format this ringbench does not know is refused.
func TestFormatOneFilesAreStillRead(t *testing.T) {
	dir := t.TempDir()
	for format, ok := range map[int]bool{1: true, jsonFormat: true, jsonFormat + 1: false} {
		path := filepath.Join(dir, fmt.Sprintf("f%d.json", format))
		if err := os.WriteFile(path, fmt.Appendf(nil, `{"tool":"ringbench","format":%d,"results":[]}`, format), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := readJSONFile(path); (err == nil) != ok {
			t.Errorf("format %d: readJSONFile = %v, want read: %v", format, err, ok)
		}
	}
}
