//go:build linux

package main

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/shmring/shmring/internal/ringstat"
)

// lsJSON is `ls -o json`: an object, so that fields can be added.
type lsJSON struct {
	Rings []ringstat.Snapshot `json:"rings"`
	// Errors says what could not be listed, one line per argument ("ls
	// ARG: why"), as stderr does: a script that reads only stdout must
	// not take a missing directory for an empty one.
	Errors []string `json:"errors,omitempty"`
	// HiddenUnreadable counts the files not listed because this user cannot
	// read them, so whether they are rings is unknown (--all lists them):
	// rings of another user, mode 0600, look to a plain ls like an empty
	// directory otherwise.
	HiddenUnreadable int `json:"hidden_unreadable,omitempty"`
}

func newLsCmd(stdout, stderr io.Writer) *cobra.Command {
	var out output
	var all bool
	cmd := &cobra.Command{
		Use:   "ls [NAME|DIR|FILE...]",
		Short: "List the rings in directories (default /dev/shm): kind, geometry, size, creator, age, holders, state",
		Long: "ls lists every file with the shmring magic in each directory (default /dev/shm), or the files named.\n" +
			"A NAME without a slash is the file /dev/shm/NAME, as for stat, rm and tail; a path is a directory or file.\n" +
			"STATE is one of: ok (a live process holds a role), idle (nobody holds one; no holder died and the creator is\n" +
			"still there or a process has the file open, or a holder died and a process holding a Ring has it open for\n" +
			"writing), stuck (a live holder cannot go on: its peer died, or the ring is full and nobody consumes), dead\n" +
			"(nobody holds a role, and a holder died without closing or the creator is gone, and nobody else uses the file:\n" +
			"what gc removes),\n" +
			"not-ready, truncated, corrupt, foreign-version, and with --all not-a-ring and unreadable. Without --all, the\n" +
			"files of a directory this user cannot read (so not known to be rings) are counted on stderr and in -o json's\n" +
			"hidden_unreadable.\n" +
			"GEOMETRY is SLOTSxSLOTSIZE for a slot ring (4096x256B) and CAPACITY<=MAXMESSAGE for a record ring (4KiB<=256B:\n" +
			"a data area of 4 KiB carrying messages of up to 256 B).\n" +
			"Exit 3 when any file listed is not a sound ring; exit 1 when one named is not there (the others are listed; 3 wins when both).",
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := out.check(); err != nil {
				return err
			}
			if len(args) == 0 {
				args = []string{ringstat.ShmDir}
			}
			var rings []ringstat.Snapshot
			var failed []string
			unreadable := 0
			for _, arg := range args {
				found, hidden, err := listArg(arg, all)
				if hidden > 0 {
					files := "files"
					if hidden == 1 {
						files = "file"
					}
					sayf(stderr, "ringctl: ls %s: %d %s not shown: they could not be read (most often this user may not), so whether they are rings is unknown (--all lists them)\n", arg, hidden, files)
				}
				unreadable += hidden
				rings = append(rings, found...)
				if err != nil {
					failed = append(failed, "ls "+arg+": "+err.Error())
					sayf(stderr, "ringctl: %s\n", failed[len(failed)-1])
				}
			}
			if out.json() {
				if rings == nil {
					rings = []ringstat.Snapshot{}
				}
				if err := writeJSON(stdout, lsJSON{Rings: rings, Errors: failed, HiddenUnreadable: unreadable}); err != nil {
					return err
				}
			} else {
				writeLsTable(stdout, rings, time.Now())
			}
			if err := badFiles(rings); err != nil {
				return err
			}
			if len(failed) > 0 {
				return &exitError{code: exitFailed}
			}
			return nil
		},
	}
	addOutput(cmd, &out, "table", "json")
	cmd.Flags().BoolVarP(&all, "all", "a", false, "list files without the shmring magic too (not-a-ring, unreadable)")
	return cmd
}

// argPath is the path an argument of ls or gc names: a bare name (no
// slash; not "." or "..") is the file of that name in /dev/shm, as every
// other command takes it; a path is a directory or a file.
func argPath(arg string) (path string, bare bool, err error) {
	if strings.ContainsRune(arg, '/') || arg == "." || arg == ".." {
		return arg, false, nil
	}
	path, err = ringstat.Resolve(arg)
	return path, true, err
}

// listArg lists one argument of ls (argPath), a bare name's ring labelled
// by its name. A file named is listed whatever it is; a directory's files
// without all only where they look like rings, with the count of those
// this user could not read (hidden).
func listArg(arg string, all bool) (rings []ringstat.Snapshot, hidden int, err error) {
	path, bare, err := argPath(arg)
	if err != nil {
		return nil, 0, err
	}
	rings, err = ringstat.List([]string{path}, true)
	if fi, serr := os.Stat(path); !all && serr == nil && fi.IsDir() {
		rings, hidden = ringsOnly(rings)
	}
	var pe *fs.PathError
	switch {
	case errors.Is(err, fs.ErrNotExist) && bare:
		return rings, hidden, errors.New("no such ring (" + path + ")")
	case errors.Is(err, fs.ErrNotExist):
		return rings, hidden, errors.New("no such file or directory")
	case errors.As(err, &pe):
		return rings, hidden, pe.Err
	case err != nil:
		return rings, hidden, err
	}
	if bare && len(rings) == 1 && rings[0].Path == path { // the file itself, not a directory's
		rings[0].Name = arg
	}
	return rings, hidden, nil
}

// ringsOnly keeps what looks like a ring (ls without --all) and counts the
// files dropped that this user could not read.
func ringsOnly(files []ringstat.Snapshot) (rings []ringstat.Snapshot, unreadable int) {
	for _, s := range files {
		switch {
		case s.LooksLikeRing():
			rings = append(rings, s)
		case s.State == ringstat.Unreadable:
			unreadable++
		}
	}
	return rings, unreadable
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
