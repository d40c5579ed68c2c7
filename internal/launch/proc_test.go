//go:build linux

package launch

import (
	"os/exec"
	"testing"
	"time"
)

// TestStatusNamesTheSignal: a child killed by a signal is said to be so,
// by the signal's name; ExitCode alone says -1, which reads as an exit
// status the child never had.
func TestStatusNamesTheSignal(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		kill bool
		want string
	}{
		{"a child that exits 3", []string{"sh", "-c", "exit 3"}, false, "exit status 3"},
		{"a child killed by SIGKILL", []string{"sleep", "60"}, true, "killed by signal: killed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Start(tc.name, exec.Command(tc.args[0], tc.args[1:]...))
			if err != nil {
				t.Fatal(err)
			}
			defer p.Kill()
			watchdog := time.AfterFunc(time.Minute, p.Kill) // a hang guard, never a time limit
			defer watchdog.Stop()
			if tc.kill {
				p.Kill()
			}
			<-p.Done()
			if got := p.Status(); got != tc.want {
				t.Errorf("Status() = %q, want %q", got, tc.want)
			}
		})
	}
}
