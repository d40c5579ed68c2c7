//go:build linux

package main

import (
	"fmt"
	"io"
	"time"

	"github.com/shmring/shmring/internal/limits"
	"github.com/shmring/shmring/internal/report"
	"github.com/spf13/cobra"
)

func newEnvCmd(stdout io.Writer) *cobra.Command {
	fingerprint := true
	cmd := &cobra.Command{
		Use:   "env",
		Short: "Print the machine header: CPU, cache line, cores, kernel, Go version, GOMAXPROCS",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			m := report.Describe()
			line := "unknown"
			if m.CacheLine > 0 {
				line = fmt.Sprintf("%d B", m.CacheLine)
			}
			fmt.Fprintf(stdout, "cpu:           %s\n", m.CPU)
			fmt.Fprintf(stdout, "cache line:    %s (from cpuid)\n", line)
			fmt.Fprintf(stdout, "logical cores: %d\n", m.LogicalCores)
			fmt.Fprintf(stdout, "usable CPUs:   %d\n", m.UsableCPUs)
			fmt.Fprintf(stdout, "kernel:        %s\n", m.Kernel)
			fmt.Fprintf(stdout, "arch:          %s\n", m.Arch)
			fmt.Fprintf(stdout, "go:            %s\n", m.GoVersion)
			fmt.Fprintf(stdout, "GOMAXPROCS:    %d\n", m.GOMAXPROCS)
			if fingerprint {
				if rtt, ok := limits.CacheLineRTT(100 * time.Millisecond); ok {
					fmt.Fprintf(stdout, "placement:     core-to-core cache-line round trip %s\n", report.Dur(rtt))
				} else {
					fmt.Fprintf(stdout, "placement:     not measured (fewer than 2 CPUs)\n")
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&fingerprint, "fingerprint", true, "also measure the core-to-core cache-line round trip (100 ms)")
	return cmd
}
