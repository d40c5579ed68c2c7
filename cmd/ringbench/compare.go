//go:build linux

package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/shmring/shmring/internal/report"
	"github.com/spf13/cobra"
)

func newCompareCmd(stdout io.Writer) *cobra.Command {
	return command("compare A.json B.json", "Compare two --json runs: per transport, workload and size, both figures and B/A", "",
		cobra.ExactArgs(2), func(_ *cobra.Command, args []string) error {
			a, err := readJSONFile(args[0])
			if err != nil {
				return err
			}
			b, err := readJSONFile(args[1])
			if err != nil {
				return err
			}
			compareReports(stdout, args[0], args[1], a, b)
			return nil
		})
}

// compareReports prints, for every cell both runs have, A's figure, B's
// figure and B/A. Throughput is the median msgs/s over repetitions (higher
// is better); latency is the merged p50 and p99 (lower is better).
func compareReports(w io.Writer, nameA, nameB string, a, b *jsonReport) {
	fmt.Fprintf(w, "A: %s\n   %s, %s, %s, GOMAXPROCS %d; placement %s/%s\n", nameA, a.Machine.CPU, a.Machine.Kernel, a.Machine.GoVersion, a.Machine.GOMAXPROCS,
		report.Ns(a.Placement.BeforeNs), report.Ns(a.Placement.AfterNs))
	fmt.Fprintf(w, "B: %s\n   %s, %s, %s, GOMAXPROCS %d; placement %s/%s\n", nameB, b.Machine.CPU, b.Machine.Kernel, b.Machine.GoVersion, b.Machine.GOMAXPROCS,
		report.Ns(b.Placement.BeforeNs), report.Ns(b.Placement.AfterNs))
	if a.Machine != b.Machine {
		fmt.Fprintln(w, "WARNING: the runs come from different machines or settings")
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "transport\tworkload\tsize\tfigure\tA\tB\tB/A\t")
	type key struct {
		tr, w string
		size  int
	}
	inB := map[key]jsonCell{}
	for _, c := range b.Results {
		inB[key{c.Transport, c.Workload, c.Size}] = c
	}
	for _, ca := range a.Results {
		cb, ok := inB[key{ca.Transport, ca.Workload, ca.Size}]
		if !ok {
			continue
		}
		row := func(figure, va, vb string, x float64) {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%.3f\t\n", ca.Transport, ca.Workload, ca.Size, figure, va, vb, x)
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
	fmt.Fprintln(w, "\nB/A above 1 means B is faster for msgs/s and slower for latencies.")
}
