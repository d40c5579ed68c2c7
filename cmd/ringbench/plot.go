//go:build linux

package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/spf13/cobra"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

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
