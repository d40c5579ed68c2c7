//go:build linux

package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
)

func newEnvCmd(stdout io.Writer) *cobra.Command {
	fingerprint := true
	cmd := &cobra.Command{
		Use:   "env",
		Short: "Print the machine header: CPU, cache line, cores, kernel, Go version, GOMAXPROCS",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			m := describeMachine()
			line := "unknown"
			if m.cacheLine > 0 {
				line = fmt.Sprintf("%d B", m.cacheLine)
			}
			fmt.Fprintf(stdout, "cpu:           %s\n", m.cpu)
			fmt.Fprintf(stdout, "cache line:    %s (from cpuid)\n", line)
			fmt.Fprintf(stdout, "logical cores: %d\n", m.logical)
			fmt.Fprintf(stdout, "usable CPUs:   %d\n", m.usable)
			fmt.Fprintf(stdout, "kernel:        %s\n", m.kernel)
			fmt.Fprintf(stdout, "arch:          %s\n", m.arch)
			fmt.Fprintf(stdout, "go:            %s\n", m.goVersion)
			fmt.Fprintf(stdout, "GOMAXPROCS:    %d\n", m.gomaxprocs)
			if fingerprint {
				if rtt, ok := coreFingerprint(100 * time.Millisecond); ok {
					fmt.Fprintf(stdout, "placement:     core-to-core cache-line round trip %s\n", fmtDur(rtt))
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
