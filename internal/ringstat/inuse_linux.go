package ringstat

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"

	"golang.org/x/sys/unix"
)

// Whether a ring no lock is held on is still someone's: the header's
// creator pid is the creator's number in its own PID namespace, which
// another namespace gives to another process or to none, so on its own it
// proves nothing gone. What does is the kernel's view: no process has the
// file open. A process that holds a Ring keeps its descriptor open for the
// Ring's life (its locks are taken through it), so one with the ring open
// and no role is found here.

// initPIDNamespace is the inode of the first PID namespace
// (PROC_PID_INIT_INO): from it every process on the machine is seen.
const initPIDNamespace = 0xEFFFFFFC

// seesEveryProcess reports whether this process is in the first PID
// namespace: elsewhere, processes of other namespaces are not in /proc.
func seesEveryProcess() bool {
	var st unix.Stat_t
	return unix.Stat("/proc/self/ns/pid", &st) == nil && st.Ino == initPIDNamespace
}

// openState is OpenElsewhere for the file of st.
func openState(st *unix.Stat_t) string {
	if !seesEveryProcess() {
		return "unknown" // no scan: it could not say no
	}
	open, complete := openElsewhere(st)
	switch {
	case open:
		return "yes"
	case complete && (unix.Geteuid() == 0 || !procHidesOthers()):
		return "no"
	}
	return "unknown"
}

// procHidesOthers reports whether /proc is mounted with hidepid: a user
// other than root then finds only its own processes there, and no error
// says that the others are missing.
func procHidesOthers() bool {
	b, err := os.ReadFile("/proc/self/mountinfo")
	return err != nil || hidepidIn(b)
}

// hidepidIn reports whether mountinfo mounts /proc with a hidepid option
// other than 0 (off).
func hidepidIn(mountinfo []byte) bool {
	for line := range bytes.SplitSeq(mountinfo, []byte("\n")) {
		f := bytes.Fields(line)
		if len(f) < 5 || string(f[4]) != "/proc" {
			continue
		}
		sep := slices.IndexFunc(f, func(x []byte) bool { return string(x) == "-" })
		if sep < 0 || sep+3 >= len(f) {
			continue
		}
		for o := range bytes.SplitSeq(f[sep+3], []byte(",")) { // the super options
			if v, ok := bytes.CutPrefix(o, []byte("hidepid=")); ok && string(v) != "0" && string(v) != "off" {
				return true
			}
		}
	}
	return false
}

// openElsewhere reports whether a process other than this one has the
// file of st open (a descriptor in /proc/PID/fd that leads to it), and
// whether it could look at every process's descriptors (not so for a user
// other than root, for other users' processes).
func openElsewhere(st *unix.Stat_t) (open, complete bool) {
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return false, false
	}
	complete = true
	self := os.Getpid()
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil || pid == self {
			continue
		}
		dir := "/proc/" + p.Name() + "/fd/"
		fds, err := os.ReadDir(dir)
		if err != nil {
			complete = complete && errors.Is(err, fs.ErrNotExist) // gone meanwhile, or not ours to read
			continue
		}
		for _, fd := range fds {
			var fst unix.Stat_t
			if unix.Stat(dir+fd.Name(), &fst) == nil && fst.Dev == st.Dev && fst.Ino == st.Ino {
				return true, true
			}
		}
	}
	return false, complete
}

// processAlive reports whether a process (not a thread: a thread id is a
// pid to kill(2) and /proc too) with this pid exists and is not a zombie.
// A hint for people: see above.
func processAlive(pid uint32) bool {
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
