//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/shmring/shmring/internal/ringstat"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes, the same for every command (doc.go lists them for users).
const (
	exitOK      = 0
	exitFailed  = 1 // a ring not found, an I/O error, a removal that failed, doctor found a missing necessity
	exitUsage   = 2 // bad flags or arguments
	exitBadFile = 3 // ls, stat, readers, tail, gc, rm: a file is not a sound ring (corrupt, truncated, foreign version, not ready, not a ring, unreadable)
	exitHeld    = 4 // rm: a ring held by a live process was left in place (no --force)
)

// exitError carries an exit code other than 1 out of a command, with the
// message to print (none when the command already said everything).
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// usageError marks a mistake in the command line: exit 2.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }

// execute runs the command line and returns the exit code. ctx ends
// commands that run until stopped (stat --watch, tail, serve): a cancelled
// context is their normal end, exit 0.
func execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	out := &countingWriter{w: stdout}
	root := newRootCmd(out, stderr)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	var ee *exitError
	var ue usageError
	code, msg := exitOK, ""
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ee):
		code, msg = ee.code, ee.msg
		if msg != "" {
			sayf(stderr, "ringctl: %s\n", msg)
		}
	case errors.As(err, &ue), isCobraUsage(err), errors.Is(err, ringstat.ErrName):
		code, msg = exitUsage, err.Error()
		sayf(stderr, "ringctl: %v (see ringctl --help)\n", err)
	default:
		code, msg = exitFailed, err.Error()
		sayf(stderr, "ringctl: %v\n", err)
	}
	if out.n == 0 && jsonAsked(cmd) {
		// A script reading -o json's stdout gets a JSON document on every
		// path, a failure before the command printed one too: on one line,
		// as the commands that print one object per line (tail, stat
		// --watch) print theirs. Not through sayf: its escaping of
		// backslashes would break the document; writeJSONLine escapes
		// what a terminal may act on the JSON way.
		writeJSONLine(stdout, failureJSON{Error: msg, Exit: code})
	}
	return code
}

// failureJSON is what a command run with -o json prints when it failed
// before it printed anything.
type failureJSON struct {
	Error string `json:"error"`
	Exit  int    `json:"exit"`
}

// jsonAsked reports whether cmd was run with -o json.
func jsonAsked(cmd *cobra.Command) bool {
	if cmd == nil {
		return false
	}
	f := cmd.Flags().Lookup("output")
	return f != nil && f.Value.String() == "json"
}

// countingWriter counts the bytes a command printed on its standard
// output.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// isCobraUsage recognises the errors cobra returns for a bad command line
// (unknown command or flag, wrong number of arguments).
func isCobraUsage(err error) bool {
	s := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "accepts ", "requires at least", "invalid argument", "flag needs an argument", "bad flag"} {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "ringctl",
		Short: "Inspect shmring rings from outside: list, stat, tail, remove the dead, check the machine, export metrics",
		Long: "ringctl reads shmring ring files without taking a role and without writing a byte of them.\n" +
			"A name without a slash is a file in /dev/shm; an absolute path is any ring file.\n\n" +
			"Exit codes: 0 fine; 1 failed (not found, I/O error, doctor found something missing);\n" +
			"2 bad command line; 3 a file is not a sound ring (corrupt, truncated, foreign version, not ready, not a ring, unreadable);\n" +
			"4 rm left a ring a live process holds.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.CompletionOptions.DisableDefaultCmd = true
	root.AddCommand(newLsCmd(stdout, stderr), newStatCmd(stdout), newReadersCmd(stdout), newTailCmd(stdout, stderr),
		newRmCmd(stdout, stderr), newGcCmd(stdout), newDoctorCmd(stdout), newServeCmd(stdout, stderr))
	return root
}

// output is the -o flag: the format a command prints in.
type output struct {
	format  string
	choices []string
}

func addOutput(cmd *cobra.Command, o *output, choices ...string) {
	o.choices = choices
	cmd.Flags().StringVarP(&o.format, "output", "o", choices[0], "output format: "+strings.Join(choices, ", "))
}

func (o *output) check() error {
	if !slices.Contains(o.choices, o.format) {
		return usageError{fmt.Errorf("-o %s: want one of %s", o.format, strings.Join(o.choices, ", "))}
	}
	return nil
}

func (o *output) json() bool { return o.format == "json" }
