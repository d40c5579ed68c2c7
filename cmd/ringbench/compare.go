//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shmring/shmring/internal/report"
	"github.com/spf13/cobra"
)

func newCompareCmd(stdout io.Writer) *cobra.Command {
	return command("compare A.json B.json", "Compare two --json runs of one mode (run, or mpmc): for each result in both, both figures and B/A",
		"compare sets each result of A against the result of B measured on the same thing: for ringbench run files,\n"+
			"the same transport, workload and message size; for ringbench mpmc files, the same shape, medium, ring\n"+
			"kind, workload and size. Files of different modes measure different things: compare refuses them.",
		cobra.ExactArgs(2), func(_ *cobra.Command, args []string) error {
			a, err := readCompared(args[0])
			if err != nil {
				return err
			}
			b, err := readCompared(args[1])
			if err != nil {
				return err
			}
			if a.head.Mode != b.head.Mode {
				return fmt.Errorf("%s was written by ringbench %s, %s by ringbench %s: compare sets results of one mode against each other",
					args[0], modeName(a.head.Mode), args[1], modeName(b.head.Mode))
			}
			if compareReports(stdout, args[0], args[1], a, b) == 0 {
				// Two files of nothing in common are bad arguments (exit
				// 2), not a failed run (1).
				return fmt.Errorf("%s and %s have no result in common with a figure in both (the same transport, workload and size, or shape): nothing to compare", args[0], args[1])
			}
			return nil
		})
}

func modeName(mode string) string {
	if mode == "" {
		return "run"
	}
	return mode
}

// compared is a --json file as compare reads it: the head, and each result
// keyed by what it was measured on, with the columns that name it.
type compared struct {
	head      jsonHead
	placement *jsonPlacement // run files
	columns   []string       // what names a result, as table headings
	cells     []comparedCell
}

type comparedCell struct {
	key     string   // unique in its file
	name    []string // one value per column
	thin    bool     // rests on too few events, as its run's WARNING said
	skipped string   // why its run skipped it, or ""
	jsonSummary
}

// thinResult reports whether a result rests on too few events to be a
// measurement, by the thresholds the run's warnings use (warnings.go):
// its round trips merged, or any throughput repetition's messages.
func thinResult(s jsonSummary, reps []jsonRep) bool {
	if s.LatencyNs != nil {
		return s.RoundTrips < fewRoundTrips
	}
	return slices.ContainsFunc(reps, func(r jsonRep) bool {
		return thinCount(max(r.Measured, r.Received), time.Duration(r.ElapsedNs))
	})
}

// rateOf is a result's median msgs/s, 0 for none.
func rateOf(c comparedCell) float64 {
	if c.MsgsPerSec == nil {
		return 0
	}
	return c.MsgsPerSec.Median
}

// sides names the sides of a comparison that lack a figure.
func sides(inA, inB bool) string {
	switch {
	case !inA && !inB:
		return "A and B"
	case !inA:
		return "A"
	}
	return "B"
}

// readCompared reads a run or mpmc --json file for compare. Two results
// of one file with the same key are refused: either could be the one set
// against B's.
func readCompared(path string) (*compared, error) {
	head, b, err := readJSONHead(path)
	if err != nil {
		return nil, err
	}
	c := &compared{head: head}
	switch head.Mode {
	case "":
		var j jsonReport
		if err := json.Unmarshal(b, &j); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		c.placement, c.columns = j.Placement, []string{"transport", "workload", "size"}
		for _, r := range j.Results {
			size := cellSize(r.MinSize, r.Size).label()
			c.cells = append(c.cells, comparedCell{key: r.Transport + "|" + r.Workload + "|" + size,
				name: []string{r.Transport, r.Workload, size}, thin: thinResult(r.jsonSummary, r.Reps), skipped: r.Skipped, jsonSummary: r.jsonSummary})
		}
	case "mpmc":
		var j mpJSONReport
		if err := json.Unmarshal(b, &j); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		c.columns = []string{"shape", "medium", "kind", "workload", "size"}
		for _, r := range j.Results {
			size := cellSize(r.MinSize, r.Size).label()
			c.cells = append(c.cells, comparedCell{key: strings.Join([]string{r.Shape, r.Medium, r.Kind, r.Workload, size}, "|"),
				name: []string{r.Shape, r.Medium, r.Kind, r.Workload, size}, thin: thinResult(r.jsonSummary, r.Reps), skipped: r.Skipped, jsonSummary: r.jsonSummary})
		}
	default:
		return nil, fmt.Errorf("%s: written by ringbench %s, which compare does not read", path, head.Mode)
	}
	seen := map[string]bool{}
	for _, cell := range c.cells {
		if seen[cell.key] {
			return nil, fmt.Errorf("%s: two results for %s", path, strings.Join(cell.name, " "))
		}
		seen[cell.key] = true
	}
	return c, nil
}

// cellSize is a result's message size: fixed, or mixed from min to max.
func cellSize(lo, hi int) msgSize {
	if lo == 0 {
		return fixedSize(hi)
	}
	return msgSize{lo, hi}
}

// compareReports prints A's figure, B's and B/A for every result both
// files have: the median msgs/s, or the merged p50 and p99. It returns how
// many results it set side by side.
func compareReports(w io.Writer, nameA, nameB string, a, b *compared) int {
	for _, f := range []struct {
		tag, name string
		c         *compared
	}{{"A", nameA, a}, {"B", nameB, b}} {
		m := f.c.head.Machine
		fmt.Fprintf(w, "%s: %s\n   %s, %s, %s, GOMAXPROCS %d", f.tag, f.name, m.CPU, m.Kernel, m.GoVersion, m.GOMAXPROCS)
		if p := f.c.placement; p != nil {
			fmt.Fprintf(w, "; placement %s/%s", report.Ns(p.BeforeNs), report.Ns(p.AfterNs))
		}
		fmt.Fprintln(w)
	}
	if a.head.Machine != b.head.Machine {
		fmt.Fprintln(w, "WARNING: the runs come from different machines or settings")
	}
	if d := settingsDiffer(a.head.Flags, b.head.Flags); len(d) > 0 {
		fmt.Fprintf(w, "WARNING: the runs measured with different settings, so a result may not be the same measurement in both: %s\n", strings.Join(d, "; "))
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%s\tfigure\tA\tB\tB/A\t\n", strings.Join(a.columns, "\t"))
	inB := map[string]comparedCell{}
	for _, c := range b.cells {
		inB[c.key] = c
	}
	rows, thin := 0, false
	var leftOut []string
	for _, ca := range a.cells {
		cb, ok := inB[ca.key]
		if !ok {
			continue
		}
		name := strings.Join(ca.name, " ")
		printed := false
		row := func(figure, va, vb string, x float64) {
			mark := ""
			if ca.thin || cb.thin {
				mark, thin = "  *", true
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.3f%s\t\n", strings.Join(ca.name, "\t"), figure, va, vb, x, mark)
			rows, printed = rows+1, true
		}
		// A figure missing or 0 on either side (nothing measured, or the
		// result skipped) has no B/A: it is named below, with its side,
		// and a skip with its run's reason.
		switch {
		case ca.skipped != "" || cb.skipped != "":
			var why []string
			for _, x := range []struct{ side, skipped string }{{"A", ca.skipped}, {"B", cb.skipped}} {
				if x.skipped != "" {
					why = append(why, "skipped in "+x.side+": "+x.skipped)
				}
			}
			leftOut = append(leftOut, name+" ("+strings.Join(why, "; ")+")")
		case ca.MsgsPerSec != nil || cb.MsgsPerSec != nil:
			if ra, rb := rateOf(ca), rateOf(cb); ra > 0 && rb > 0 {
				row("msgs/s", report.Rate(ra), report.Rate(rb), rb/ra)
			} else {
				leftOut = append(leftOut, name+" (no rate in "+sides(ra > 0, rb > 0)+")")
			}
		default:
			for _, q := range []string{"p50", "p99"} {
				if va, vb := ca.LatencyNs[q], cb.LatencyNs[q]; va > 0 && vb > 0 {
					row(q, report.Ns(va), report.Ns(vb), float64(vb)/float64(va))
				}
			}
			if !printed {
				leftOut = append(leftOut, name+" (no percentiles in "+sides(len(ca.LatencyNs) > 0, len(cb.LatencyNs) > 0)+")")
			}
		}
	}
	tw.Flush()
	if thin {
		fmt.Fprintln(w, "* not a measurement: A's or B's figure rests on too few events (fewer round trips or messages than ringbench run warns of); run longer")
	}
	if len(leftOut) > 0 {
		fmt.Fprintf(w, "left out, nothing measured on a side (no B/A): %s\n", strings.Join(leftOut, "; "))
	}
	if rows > 0 {
		fmt.Fprintln(w, "\nB/A above 1 means B is faster for msgs/s and slower for latencies.")
	}
	return rows
}

// notASetting lists the flags that choose what is run or where figures go,
// not how a result is measured: they may differ between two runs whose
// common results are the same measurement.
var notASetting = map[string]bool{"bench": true, "ceiling": true, "duration": true, "fingerprint": true, "help": true,
	"hgrm": true, "json": true, "plot": true, "progress": true, "reps": true, "size": true, "sizes": true,
	"transports": true, "wait": true, "workloads": true} // each wait strategy is a transport of its own name

// settingsDiffer lists each flag that changes how a result is measured
// (a fixed rate, what is touched, the ring's slots, memfd, pinning, …)
// with its value in A and in B, where the two runs' values differ.
func settingsDiffer(fa, fb []string) []string {
	values := func(flags []string) map[string]string {
		m := map[string]string{}
		for _, f := range flags {
			name, value, _ := strings.Cut(strings.TrimPrefix(f, "--"), "=")
			if !notASetting[name] {
				m[name] = value
			}
		}
		return m
	}
	va, vb := values(fa), values(fb)
	names := make([]string, 0, len(va)+len(vb))
	for n := range va {
		names = append(names, n)
	}
	for n := range vb {
		if _, ok := va[n]; !ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	var d []string
	for _, n := range names {
		a, inA := va[n]
		b, inB := vb[n]
		if a != b || inA != inB {
			d = append(d, fmt.Sprintf("--%s %s (A) vs %s (B)", n, orUnset(a, inA), orUnset(b, inB)))
		}
	}
	return d
}

func orUnset(v string, ok bool) string {
	if !ok {
		return "unset"
	}
	if v == "" {
		return `""`
	}
	return v
}
