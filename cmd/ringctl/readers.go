//go:build linux

package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/shmring/shmring/internal/ringstat"
)

// readersJSON is `readers -o json`.
type readersJSON struct {
	Name    string          `json:"name"`
	Kind    string          `json:"kind"`
	State   ringstat.State  `json:"state"`
	Problem string          `json:"problem,omitempty"`
	Readers []ringstat.Role `json:"readers"`
}

func newReadersCmd(stdout io.Writer) *cobra.Command {
	var out output
	cmd := &cobra.Command{
		Use:   "readers NAME",
		Short: "Show the readers of a ring: policy, cursor, lag, messages, laps, misses, latency, liveness",
		Long: "readers prints a broadcast ring's reader table: each entry ever taken, its policy, cursor, lag behind\n" +
			"the producer, its holder's counters from the file (messages, lapped: times a lossy reader was overrun,\n" +
			"missed: messages lost in those laps, ...), its latency percentiles on a ring with telemetry, and\n" +
			"whether a live process holds it. An entry whose reader closed it shows its last cursor and no lag (nobody\n" +
			"goes on from it); one left attached by a reader that died keeps its lag. For the other kinds it prints the consumer side (SPSC's consumer,\n" +
			"MPMC's consumer entries). Exit 3 when the file is not a sound ring.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := out.check(); err != nil {
				return err
			}
			s, err := ringstat.Read(args[0])
			if err != nil {
				return err
			}
			rd := readersJSON{Name: s.Name, Kind: s.Kind, State: s.State, Problem: s.Problem, Readers: []ringstat.Role{}}
			for _, r := range s.Roles {
				if r.Role != "producer" {
					rd.Readers = append(rd.Readers, r)
				}
			}
			if out.json() {
				if err := writeJSON(stdout, rd); err != nil {
					return err
				}
			} else {
				if s.Kind != "" {
					sayf(stdout, "ring %s (%s): %s\n\n", s.Name, s.Kind, stateLine(&s))
				} else { // no header read: no kind to show
					sayf(stdout, "ring %s: %s\n\n", s.Name, stateLine(&s))
				}
				if len(rd.Readers) > 0 {
					unitNote(stdout, &s)
					writeRoles(stdout, rd.Readers, nil)
				}
			}
			if s.State.Broken() {
				return &exitError{code: exitBadFile}
			}
			return nil
		},
	}
	addOutput(cmd, &out, "table", "json")
	return cmd
}
