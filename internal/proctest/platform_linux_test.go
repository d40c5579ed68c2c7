package proctest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shmring/shmring/internal/launch"
)

// registerPlatformRoles adds "spawn-grandchild": it starts the binary again
// as "hang" the way Start does (Pdeathsig included) and prints the
// grandchild's pid, then waits to be killed.
func registerPlatformRoles() {
	Register("spawn-grandchild", func() int {
		exe, _ := os.Executable()
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), RoleEnv+"=hang", parentEnv+"="+strconv.Itoa(os.Getpid()))
		cmd.SysProcAttr = launch.SysProcAttr()
		out, err := cmd.StdoutPipe()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if err := cmd.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		buf := make([]byte, len("ready\n"))
		if _, err := out.Read(buf); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println(cmd.Process.Pid)
		return hangForever()
	})
}

// gone reports whether pid has exited: no such process, or a zombie
// waiting for a reaper that is not us.
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the parenthesised command name, which may itself
	// hold spaces or parentheses.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && (s[i+2] == 'Z' || s[i+2] == 'X')
}

func TestGrandchildDiesWithItsParent(t *testing.T) {
	Watchdog(t, watchdogBound)
	c := Start(t, "spawn-grandchild")
	line, err := c.ReadLine()
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(line)
	if err != nil {
		t.Fatalf("grandchild pid %q: %v", line, err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) }) // only if the test fails
	c.Kill()
	_ = c.Wait()
	for !gone(pid) { // bounded by the watchdog
		time.Sleep(time.Millisecond)
	}
}
