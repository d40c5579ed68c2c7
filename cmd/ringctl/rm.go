//go:build linux

package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/spf13/cobra"

	"github.com/shmring/shmring/internal/ringstat"
	"github.com/shmring/shmring/layout"
)

// removal is what rm and gc did, or would do, with one file.
type removal struct {
	Name    string         `json:"name"`
	Path    string         `json:"path"`
	State   ringstat.State `json:"state,omitempty"`
	Problem string         `json:"problem,omitempty"`
	// Action: "removed", "would-remove" (gc --dry-run), "kept" (held by a
	// live process, or gc does not remove its state), "gone" (gc: removed
	// by another process between gc's look and its removal), "failed".
	Action string `json:"action"`
	Reason string `json:"reason,omitempty"`
	// unsure: kept because nothing in the file says it is a ring (rm
	// exits 3 for it, not 4).
	unsure bool
}

type removalsJSON struct {
	DryRun bool      `json:"dry_run,omitempty"`
	Rings  []removal `json:"rings"`
}

func newRmCmd(stdout, stderr io.Writer) *cobra.Command {
	var out output
	var force bool
	cmd := &cobra.Command{
		Use:   "rm NAME...",
		Short: "Remove rings by name, refusing one a live process holds",
		Long: "rm removes each ring file named, unless a live process holds a lock on it (a role, or a Reset in progress):\n" +
			"then it warns and leaves it, and exits 4. --force removes the name of a held ring too: the processes using\n" +
			"it keep it, and nobody can open it by name any more. A file without a whole shmring header (not a ring,\n" +
			"or an empty or too short file: a creator that has not sized it yet, or died before it did), or one this\n" +
			"user cannot read, is never removed without --force, and rm exits 3 for it (gc --broken removes a ring left not ready, its header\n" +
			"whole but its ready word unset, once it is over a minute old; empty files it only lists). --force also\n" +
			"removes a symbolic link (the link, never what it leads to), a FIFO or a socket at the name; ringctl never\n" +
			"removes a directory, a device, or a /proc/PID/fd/N link (no name of a ring).",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := out.check(); err != nil {
				return err
			}
			// A name no ring can have is a bad command line (exit 2, as for
			// stat), found before anything is removed.
			for _, name := range args {
				if _, err := ringstat.Resolve(name); err != nil {
					return usageError{fmt.Errorf("rm %s: %w", name, err)}
				}
			}
			res := removalsJSON{Rings: []removal{}}
			code := exitOK
			for _, name := range args {
				rm := removeOne(name, force)
				res.Rings = append(res.Rings, rm)
				switch {
				case rm.Action == "failed":
					sayf(stderr, "ringctl: rm %s: %s\n", name, rm.Reason)
					code = max(code, exitFailed)
				case rm.Action == "kept":
					sayf(stderr, "ringctl: warning: %s not removed: %s\n", name, rm.Reason)
					if rm.unsure {
						code = max(code, exitBadFile)
					} else {
						code = max(code, exitHeld)
					}
				case rm.Reason != "":
					sayf(stderr, "ringctl: warning: %s: %s\n", name, rm.Reason)
				}
			}
			if out.json() {
				if err := writeJSON(stdout, res); err != nil {
					return err
				}
			} else {
				for _, rm := range res.Rings {
					if rm.Action == "removed" {
						sayf(stdout, "removed %s\n", rm.Path)
					}
				}
			}
			if code != exitOK {
				return &exitError{code: code}
			}
			return nil
		},
	}
	addOutput(cmd, &out, "table", "json")
	cmd.Flags().BoolVar(&force, "force", false, "remove a held ring's name, or a file that is not a ring, too")
	return cmd
}

func removeOne(name string, force bool) removal {
	s, err := ringstat.Read(name)
	rm := removal{Name: name, Path: s.Path, State: s.State, Problem: s.Problem}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		rm.Action, rm.Reason = "failed", "no such ring"
		return rm
	case err != nil:
		rm.Action, rm.Reason = "failed", err.Error()
		return rm
	}
	if why := ringstat.Unremovable(s.Path); why != "" { // with --force too
		rm.Action, rm.Reason = "failed", why
		return rm
	}
	switch {
	case s.State == ringstat.Unreadable && !force:
		// Nothing tells what it is or who holds it. Unlinking it is the
		// directory's business (/dev/shm is sticky: its owner's or root's).
		rm.Action, rm.Reason, rm.unsure = "kept", "cannot be read, so not surely a ring file nor known to be free ("+s.Problem+"); --force removes it anyway where this user may", true
		return rm
	case s.State == ringstat.NotARing && !force:
		rm.Action, rm.Reason, rm.unsure = "kept", "not a ring file ("+s.Problem+"); --force removes it anyway", true
		return rm
	case s.FileSize < layout.HeaderSize && !force:
		// No magic to go by: an empty file is what a creator leaves before
		// it sizes the ring, and it may be sizing it now.
		rm.Action, rm.Reason, rm.unsure = "kept", "no whole ring header, so not surely a ring file ("+s.Problem+"); --force removes it anyway", true
		return rm
	}
	held, err := ringstat.Remove(s.Path, force)
	switch {
	case err != nil:
		rm.Action, rm.Reason = "failed", err.Error()
	case held && !force:
		rm.Action, rm.Reason = "kept", "held by a live process ("+holders(&s)+"); --force removes its name anyway"
	case held:
		rm.Action, rm.Reason = "removed", "it was held by a live process ("+holders(&s)+"), which keeps using it; nobody can open it by name now"
	default:
		rm.Action = "removed"
	}
	return rm
}
