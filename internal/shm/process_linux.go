package shm

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// ProcessAlive reports whether a process (not a thread: a thread id is a
// pid to kill(2) and /proc too) with this pid exists in this PID namespace
// and is not a zombie. A pid read from a ring is its writer's number in its
// own namespace, so a false answer is a hint, never proof: callers use it
// to decide how long to wait or what to tell people, never to take a role.
func ProcessAlive(pid uint32) bool {
	if pid == 0 || pid > 1<<22 {
		return false
	}
	if err := unix.Kill(int(pid), 0); err == unix.ESRCH {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return true // no /proc to ask: kill(2) said it exists
	}
	alive, tgid := true, -1
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, _ := bytes.Cut(sc.Bytes(), []byte(":"))
		v = bytes.TrimSpace(v)
		switch string(k) {
		case "State":
			alive = len(v) > 0 && v[0] != 'Z' && v[0] != 'X'
		case "Tgid":
			tgid, _ = strconv.Atoi(string(v))
		}
	}
	return alive && tgid == int(pid)
}
