//go:build linux

package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
)

// hgrmTicks is the number of reporting points per half distance to 100%,
// as HdrHistogram's own outputPercentileDistribution uses by default.
const hgrmTicks = 5

// hgrmScale makes the files' values microseconds (recorded in ns).
const hgrmScale = 1000

// writeHgrms writes one percentile distribution file per latency cell
// (all repetitions merged): <transport>_<workload>_<size>.hgrm, in the text
// format HdrHistogram's outputPercentileDistribution prints and its
// plotter (HistogramLogAnalyzer, hdrhistogram.github.io/HdrHistogram/plotFiles.html)
// reads: Value, Percentile, TotalCount, 1/(1-Percentile), then a footer of
// mean, standard deviation, max and count. Values are in microseconds.
func writeHgrms(dir string, r *runReport) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, c := range r.cells {
		if !c.workload.latency() || !c.ok() {
			continue
		}
		path := filepath.Join(dir, fmt.Sprintf("%s_%s_%d.hgrm", c.tr.name(), c.workload, c.size))
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		bw := bufio.NewWriter(f)
		_, err = c.merged().PercentilesPrint(bw, hgrmTicks, hgrmScale)
		if err == nil {
			err = bw.Flush()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	return nil
}
