//go:build linux

package main

import (
	"bufio"
	"fmt"
	"io"
	"runtime"

	"github.com/shmring/shmring/internal/report"
)

// writeBench prints the run in Go's benchmark format
// (https://go.dev/design/14313-benchmark-format), one line per repetition,
// so that benchstat compares two runs:
//
//	BenchmarkRingbench/transport=shmring/workload=throughput/size=64 <msgs> <ns> ns/msg <rate> msgs/s <MB/s> MB/s
//	BenchmarkRingbench/transport=pipe/workload=pingpong/size=64 <round trips> <mean> ns/rtt <p50> rtt-p50-ns ...
//
// The iteration count is the number of messages (or round trips) measured.
// Only configuration that is the same for every run of one machine goes in
// the header, so that benchstat does not split runs apart on it.
func writeBench(w io.Writer, r *runReport) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "goos: %s\ngoarch: %s\npkg: github.com/shmring/shmring/cmd/ringbench\ncpu: %s\n", runtime.GOOS, runtime.GOARCH, r.mach.CPU)
	for _, c := range r.cells {
		name := fmt.Sprintf("BenchmarkRingbench/transport=%s/workload=%s/size=%d", c.tr.name(), c.workload, c.size)
		for _, m := range c.reps {
			if c.workload == throughput {
				rate := m.rate()
				fmt.Fprintf(bw, "%s\t%d\t%.2f ns/msg\t%.0f msgs/s\t%.2f MB/s\n", name, m.measured, 1e9/rate, rate, rate*float64(c.size)/1e6)
				continue
			}
			h := m.rtt
			fmt.Fprintf(bw, "%s\t%d\t%.0f ns/rtt", name, h.TotalCount(), h.Mean())
			for _, q := range report.Quantiles[1:] { // min is noise
				fmt.Fprintf(bw, "\t%d rtt-%s-ns", report.At(h, q.Q).Nanoseconds(), q.Name)
			}
			fmt.Fprintln(bw)
		}
	}
	return bw.Flush()
}
