//go:build linux

package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"

	"github.com/spf13/cobra"

	"github.com/shmring/shmring/internal/ringstat"
	"github.com/shmring/shmring/layout"
)

// notReadyAge is how long a file must have stayed not ready before gc
// --broken takes it for the leftover of a creator that died half-way
// rather than a ring being created right now.
const notReadyAge = time.Minute

type gcFlags struct {
	out    output
	dryRun bool
	idle   bool
	broken bool
}

func newGcCmd(stdout io.Writer) *cobra.Command {
	var f gcFlags
	cmd := &cobra.Command{
		Use:   "gc [DIR|NAME...]",
		Short: "Remove every ring no live process holds and whose holders or creator are gone (state dead)",
		Long: "gc looks at every ring in the directories (default /dev/shm), and at the rings named (a bare name is a\n" +
			"file in /dev/shm, as for every command), and removes those in state dead: no live\n" +
			"process holds a role, and a holder died without closing and no process has the file open for writing (as one\n" +
			"holding a Ring does: a supervisor keeping it for the next holder), or the creator's process is gone and no\n" +
			"process has the file open for writing or mapped writable, as one holding a Ring does (a read-only reader\n" +
			"such as tail does not count; a pid is the creator's number in its own PID namespace: run in a\n" +
			"container's, or as a user other than root, who cannot read other users' open files, gc cannot see every\n" +
			"process and takes no such ring for dead: it is idle). Liveness is\n" +
			"the kernel's: an F_OFD_GETLK probe of the file's role locks, repeated just before each removal, so a ring\n" +
			"a live process holds is never removed. --idle removes idle rings too (nobody holds a role; the creator is\n" +
			"still running, or a process that holds a Ring has the file open: it loses the name); --broken removes corrupt and truncated rings, and rings not ready for over a minute, when\n" +
			"no process holds a lock on them. Empty files it lists but never removes: a creator that died before it\n" +
			"sized its ring leaves one, but nothing in one tells it from another program's (rm --force does, by name);\n" +
			"so with a file shorter than a ring header, even one that starts with the magic.\n" +
			"Rings of another layout version are never removed (rm does, by name).\n" +
			"--dry-run only says what it would remove.",
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.out.check(); err != nil {
				return err
			}
			if len(args) == 0 {
				args = []string{ringstat.ShmDir}
			}
			paths := make([]string, len(args))
			for i, arg := range args {
				path, _, err := argPath(arg) // a bare name is a ring in /dev/shm, as for ls
				if err != nil {
					return err
				}
				paths[i] = path
			}
			// With --broken, the empty files that ls leaves out (no magic
			// to go by) are listed too, never removed (keep).
			rings, err := ringstat.List(paths, f.broken)
			if err != nil {
				return err
			}
			res := removalsJSON{DryRun: f.dryRun, Rings: []removal{}}
			failed := false
			for i := range rings {
				if st := rings[i].State; st == ringstat.NotARing || st == ringstat.Unreadable {
					continue
				}
				rm := f.collect(&rings[i], time.Now())
				failed = failed || rm.Action == "failed"
				res.Rings = append(res.Rings, rm)
			}
			if f.out.json() {
				if err := writeJSON(stdout, res); err != nil {
					return err
				}
			} else {
				tw := newTable(stdout)
				row(tw, "NAME", "STATE", "ACTION", "WHY")
				for _, rm := range res.Rings {
					why := rm.Reason
					if why == "" {
						why = rm.Problem
					}
					row(tw, rm.Name, rm.State, rm.Action, why)
				}
				tw.Flush()
			}
			if failed {
				return &exitError{code: exitFailed}
			}
			return nil
		},
	}
	addOutput(cmd, &f.out, "table", "json")
	cmd.Flags().BoolVarP(&f.dryRun, "dry-run", "n", false, "say what would be removed, remove nothing")
	cmd.Flags().BoolVar(&f.idle, "idle", false, "also remove idle rings (nobody holds a role; the creator is still running, or a process that holds a Ring has the file open)")
	cmd.Flags().BoolVar(&f.broken, "broken", false, "also remove corrupt, truncated and long not-ready rings that no process holds")
	return cmd
}

// collect decides about one ring and, unless dry-running, removes it.
func (f *gcFlags) collect(s *ringstat.Snapshot, now time.Time) removal {
	rm := removal{Name: s.Name, Path: s.Path, State: s.State, Problem: s.Problem, Action: "kept"}
	if why := f.keep(s, now); why != "" {
		rm.Reason = why
		return rm
	}
	if s.Held { // a live holder when this look was made: kept, whatever the state
		rm.Reason = "held by a live process"
		return rm
	}
	if f.dryRun {
		rm.Action = "would-remove"
		return rm
	}
	held, err := ringstat.Remove(s.Path, false)
	switch {
	case errors.Is(err, fs.ErrNotExist): // another gc, or its owner, was first: no failure
		rm.Action, rm.Reason = "gone", "removed meanwhile by another process"
	case err != nil:
		rm.Action, rm.Reason = "failed", err.Error()
	case held:
		rm.Reason = "held by a live process (taken since it was looked at)"
	default:
		rm.Action = "removed"
	}
	return rm
}

// keep says why gc leaves a ring in this state alone, or "".
func (f *gcFlags) keep(s *ringstat.Snapshot, now time.Time) string {
	if why := ringstat.Unremovable(s.Path); why != "" {
		return why // what removing would refuse: --dry-run says so too
	}
	switch s.State {
	case ringstat.Dead:
		return ""
	case ringstat.Idle:
		if f.idle {
			return ""
		}
		if s.Problem != "" {
			// Such as a ring a supervisor keeps for its next worker:
			// --idle would unlink it from under that process.
			return "idle: " + s.Problem + " (--idle removes it, from under the processes that use it)"
		}
		return fmt.Sprintf("idle: the creator (pid %d) is still running (--idle removes it)", s.CreatorPID)
	case ringstat.OK, ringstat.Stuck:
		return "held by a live process"
	case ringstat.Corrupt, ringstat.Truncated:
		if s.FileSize < layout.HeaderSize {
			// As rm: the magic alone does not make another program's
			// file a ring's.
			return "no whole ring header, so not surely a ring file (rm --force NAME removes it)"
		}
		if f.broken {
			return ""
		}
		return "broken (--broken removes it when no process holds it)"
	case ringstat.NotReady:
		if s.FileSize == 0 {
			return "empty: nothing in it tells a ring whose creator died before sizing it from another program's file (rm --force NAME removes it)"
		}
		if f.broken && now.Sub(s.Modified) > notReadyAge {
			return ""
		}
		return fmt.Sprintf("not ready: perhaps being created (--broken removes it once it is over %v old)", notReadyAge)
	}
	return fmt.Sprintf("%s: gc never removes it (rm does, by name)", s.State)
}
