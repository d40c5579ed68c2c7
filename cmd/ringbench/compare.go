//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/shmring/shmring/internal/report"
	"github.com/spf13/cobra"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
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
				return failure{fmt.Errorf("%s and %s have no result in common (the same transport, workload and size, or shape): nothing to compare", args[0], args[1])}
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
	key  string   // unique in its file
	name []string // one value per column
	jsonSummary
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
				name: []string{r.Transport, r.Workload, size}, jsonSummary: r.jsonSummary})
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
				name: []string{r.Shape, r.Medium, r.Kind, r.Workload, size}, jsonSummary: r.jsonSummary})
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
	rows := 0
	for _, ca := range a.cells {
		cb, ok := inB[ca.key]
		if !ok {
			continue
		}
		rows++
		row := func(figure, va, vb string, x float64) {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.3f\t\n", strings.Join(ca.name, "\t"), figure, va, vb, x)
		}
		switch {
		case ca.MsgsPerSec != nil && cb.MsgsPerSec != nil && ca.MsgsPerSec.Median > 0:
			row("msgs/s", report.Rate(ca.MsgsPerSec.Median), report.Rate(cb.MsgsPerSec.Median), cb.MsgsPerSec.Median/ca.MsgsPerSec.Median)
		case ca.LatencyNs != nil && cb.LatencyNs != nil:
			for _, q := range []string{"p50", "p99"} {
				if va, vb := ca.LatencyNs[q], cb.LatencyNs[q]; va > 0 {
					row(q, report.Ns(va), report.Ns(vb), float64(vb)/float64(va))
				}
			}
		}
	}
	tw.Flush()
	if rows > 0 {
		fmt.Fprintln(w, "\nB/A above 1 means B is faster for msgs/s and slower for latencies.")
	}
	return rows
}

func newPlotCmd(stdout io.Writer) *cobra.Command {
	var in, out string
	cmd := command("plot --json FILE --out DIR", "Render latency percentile curves and throughput by size, as SVG and PNG",
		"plot reads a file of ringbench run --json and writes, as SVG and PNG, latency-WORKLOAD-SIZE for each latency\n"+
			"workload and message size, one curve per transport (a mixed run's SIZE is mixLO-HI: it is a size of its own),\n"+
			"and throughput: each transport's median msgs/s against the message size, over the runs of one size\n"+
			"(a mixed run has no one size to stand at, and is left out).",
		cobra.NoArgs, func(*cobra.Command, []string) error {
			j, err := readJSONFile(in)
			if err != nil {
				return err
			}
			files, err := renderPlots(j, out)
			if err != nil {
				return failure{err}
			}
			for _, f := range files {
				fmt.Fprintln(stdout, f)
			}
			return nil
		})
	cmd.Flags().StringVar(&in, "json", "", "a file written by ringbench run --json (required)")
	cmd.Flags().StringVar(&out, "out", ".", "directory for the SVG and PNG files")
	_ = cmd.MarkFlagRequired("json")
	return cmd
}

// renderPlots writes, as SVG and PNG, and returns the paths of:
// latency-<workload>-<size> (a mixed run's size: mixLO-HI), each
// transport's latency against the percentile on a 1/(1-q) axis as
// HdrHistogram's plotter draws it, so the tail gets the room; throughput,
// the median msgs/s against the size, of the runs of one size.
func renderPlots(j *jsonReport, dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var files []string
	save := func(p *plot.Plot, name string) error {
		for _, ext := range []string{".svg", ".png"} {
			path := filepath.Join(dir, name+ext)
			if err := p.Save(8*vg.Inch, 5*vg.Inch, path); err != nil {
				return fmt.Errorf("save %s: %w", path, err)
			}
			files = append(files, path)
		}
		return nil
	}
	// A mixed run is a size of its own (its Size is only its largest
	// message): its curves go in a file of their own, named and titled as
	// compare and the tables name it.
	type group struct {
		workload string
		size     msgSize
	}
	var groups []group
	for _, c := range j.Results {
		g := group{c.Workload, cellSize(c.MinSize, c.Size)}
		if c.Histogram != "" && !slices.Contains(groups, g) {
			groups = append(groups, g)
		}
	}
	for _, g := range groups {
		p, err := latencyPlot(j, g.workload, g.size)
		if err != nil {
			return files, err
		}
		if err := save(p, fmt.Sprintf("latency-%s-%s", g.workload, g.size.label())); err != nil {
			return files, err
		}
	}
	if p, ok := throughputPlot(j); ok {
		if err := save(p, "throughput"); err != nil {
			return files, err
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("nothing to plot: the file has no measured results")
	}
	return files, nil
}

// logPlot is an empty plot, log-scaled on both axes.
func logPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = title, x, y
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.X.Tick.Marker, p.Y.Tick.Marker = plot.LogTicks{Prec: -1}, plot.LogTicks{Prec: -1}
	p.Legend.Top = true
	return p
}

func latencyPlot(j *jsonReport, workload string, size msgSize) (*plot.Plot, error) {
	p := logPlot(fmt.Sprintf("%s latency, %s messages (%s)", workload, size, j.Machine.CPU), "percentile", "latency (µs)")
	p.Legend.Left = true
	maxX := 10.0
	i := 0
	for _, c := range j.Results {
		if c.Workload != workload || cellSize(c.MinSize, c.Size) != size || c.Histogram == "" {
			continue
		}
		h, err := hdrhistogram.Decode([]byte(c.Histogram))
		if err != nil {
			return nil, fmt.Errorf("%s %s %d: histogram: %w", c.Transport, c.Workload, c.Size, err)
		}
		var xys plotter.XYs
		for _, b := range h.CumulativeDistributionWithTicks(hgrmTicks) {
			if b.Quantile >= 100 || b.ValueAt <= 0 {
				continue
			}
			x := 1 / (1 - b.Quantile/100)
			xys = append(xys, plotter.XY{X: x, Y: float64(b.ValueAt) / 1e3})
			maxX = math.Max(maxX, x)
		}
		if len(xys) == 0 {
			continue
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return nil, err
		}
		l.Color = plotutil.Color(i)
		l.Dashes = plotutil.Dashes(i / 7)
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(c.Transport, l)
		i++
	}
	p.X.Min, p.X.Max = 1, maxX
	var ticks []plot.Tick
	for x, label := 1.0, "0%"; x <= maxX*1.0001; x *= 10 {
		ticks = append(ticks, plot.Tick{Value: x, Label: label})
		label = fmt.Sprintf("%.6g%%", 100*(1-1/(x*10))) // the percentile q whose 1/(1-q) is x*10
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.Add(plotter.NewGrid())
	return p, nil
}

func throughputPlot(j *jsonReport) (*plot.Plot, bool) {
	p := logPlot(fmt.Sprintf("throughput by message size (%s)", j.Machine.CPU), "message size (bytes)", "messages per second (median)")
	any := false
	for i, tr := range j.Transports {
		var xys plotter.XYs
		for _, c := range j.Results {
			// A mixed run has no one size to stand at: it is left out.
			if c.Transport == tr.Name && c.Workload == string(throughput) && c.MinSize == 0 && c.MsgsPerSec != nil && c.MsgsPerSec.Median > 0 {
				xys = append(xys, plotter.XY{X: float64(c.Size), Y: c.MsgsPerSec.Median})
			}
		}
		if len(xys) == 0 {
			continue
		}
		l, s, err := plotter.NewLinePoints(xys)
		if err != nil {
			continue
		}
		l.Color, s.Color = plotutil.Color(i), plotutil.Color(i)
		l.Dashes = plotutil.Dashes(i / 7)
		s.Shape = plotutil.Shape(i)
		p.Add(l, s)
		p.Legend.Add(tr.Name, l, s)
		any = true
	}
	p.Add(plotter.NewGrid())
	return p, any
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
