//go:build linux

package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// check is one line of `doctor`: what was looked at, a verdict, and what
// was found.
type check struct {
	Name   string `json:"name"`
	Status string `json:"status"` // ok, info, warn, fail
	Detail string `json:"detail"`
}

// Verdicts: fail is something rings cannot work without (exit 1); warn
// something that will bite (a small /dev/shm, no membarrier).
const (
	statusOK   = "ok"
	statusInfo = "info"
	statusWarn = "warn"
	statusFail = "fail"
)

type doctorJSON struct {
	Checks []check `json:"checks"`
}

func newDoctorCmd(stdout io.Writer) *cobra.Command {
	var out output
	var shm string
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check what this machine offers rings: /dev/shm, futex, membarrier, OFD locks, memfd, huge pages, THP, memlock, container",
		Long: "doctor looks at what shmring rings depend on and prints one line per check: ok, info, warn (works, but\n" +
			"will bite: a small /dev/shm, no membarrier) or fail (rings cannot work: exit 1). It changes nothing\n" +
			"(the lock check uses a scratch file in the --shm directory, or in $TMPDIR where that cannot be written,\n" +
			"and removes it at once).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := out.check(); err != nil {
				return err
			}
			checks := diagnose(shm)
			if out.json() {
				if err := writeJSON(stdout, doctorJSON{Checks: checks}); err != nil {
					return err
				}
			} else {
				tw := newTable(stdout)
				row(tw, "CHECK", "STATUS", "DETAIL")
				for _, c := range checks {
					row(tw, c.Name, c.Status, c.Detail)
				}
				tw.Flush()
			}
			for _, c := range checks {
				if c.Status == statusFail {
					return &exitError{code: exitFailed, msg: fmt.Sprintf("doctor: %s: %s", c.Name, c.Detail)}
				}
			}
			return nil
		},
	}
	addOutput(cmd, &out, "table", "json")
	cmd.Flags().StringVar(&shm, "shm", "/dev/shm", "the directory bare ring names live in")
	return cmd
}

// diagnose runs every check, in the order a reader wants them.
func diagnose(shm string) []check {
	return []check{
		checkKernel(),
		checkShm(shm),
		checkContainer(shm),
		checkFutex(),
		checkMembarrier(),
		checkOFDLocks(shm),
		checkMemfd(),
		checkHugePages(),
		checkTHP(),
		checkMemlock(),
	}
}
