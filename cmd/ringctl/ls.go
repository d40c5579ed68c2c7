//go:build linux

package main

import (
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/shmring/shmring/internal/ringstat"
)

// lsJSON is `ls -o json`: an object, so that fields can be added.
type lsJSON struct {
	Rings []ringstat.Snapshot `json:"rings"`
}

func newLsCmd(stdout io.Writer) *cobra.Command {
	var out output
	var all bool
	cmd := &cobra.Command{
		Use:   "ls [DIR|FILE...]",
		Short: "List the rings in directories (default /dev/shm): kind, geometry, size, creator, age, holders, state",
		Long: "ls lists every file with the shmring magic in each directory (default /dev/shm), or the files named.\n" +
			"STATE is one of: ok (a live process holds a role), idle (nobody holds one; the creator is still there),\n" +
			"stuck (a live holder cannot go on: its peer died, or the ring is full and nobody consumes),\n" +
			"dead (nobody holds a role, and a holder died without closing or the creator is gone: what gc removes),\n" +
			"not-ready, truncated, corrupt, foreign-version, and with --all not-a-ring and unreadable.\n" +
			"Exit 3 when any file listed is not a sound ring.",
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := out.check(); err != nil {
				return err
			}
			if len(args) == 0 {
				args = []string{ringstat.ShmDir}
			}
			rings, err := ringstat.List(args, all)
			if err != nil {
				return err
			}
			if out.json() {
				if rings == nil {
					rings = []ringstat.Snapshot{}
				}
				if err := writeJSON(stdout, lsJSON{Rings: rings}); err != nil {
					return err
				}
			} else {
				writeLsTable(stdout, rings, time.Now())
			}
			return badFiles(rings)
		},
	}
	addOutput(cmd, &out, "table", "json")
	cmd.Flags().BoolVarP(&all, "all", "a", false, "list files without the shmring magic too (not-a-ring, unreadable)")
	return cmd
}

func writeLsTable(w io.Writer, rings []ringstat.Snapshot, now time.Time) {
	tw := newTable(w)
	row(tw, "NAME", "KIND", "GEOMETRY", "SIZE", "CREATOR", "AGE", "HOLDERS", "STATE")
	for i := range rings {
		s := &rings[i]
		kind := s.Kind
		if kind == "" {
			kind = "-"
		}
		row(tw, s.Name, kind, geometry(s), bytesIEC(uint64(s.FileSize)), creator(s), age(now, s.Created), holders(s), stateLine(s))
	}
	tw.Flush()
}

// badFiles is the exit status for files that are not sound rings.
func badFiles(rings []ringstat.Snapshot) error {
	for i := range rings {
		if rings[i].State.Broken() {
			return &exitError{code: exitBadFile}
		}
	}
	return nil
}
