package ringstat

import (
	"bytes"
	"errors"
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
// file open for writing or mapped writable. A process that holds a Ring
// keeps its descriptor open, read-write, for the Ring's life (its locks
// are taken through it), so one with the ring open and no role is found
// here; a read-only observer (ringctl tail, stat --watch, a monitor) can
// use nothing of it, and keeps no ring from being dead.

// initPIDNamespace is the inode of the first PID namespace
// (PROC_PID_INIT_INO): from it every process on the machine is seen.
const initPIDNamespace = 0xEFFFFFFC

// seesEveryProcess reports whether this process is in the first PID
// namespace: elsewhere, processes of other namespaces are not in /proc.
func seesEveryProcess() bool {
	var st unix.Stat_t
	return unix.Stat("/proc/self/ns/pid", &st) == nil && st.Ino == initPIDNamespace
}

// openFiles is what the processes other than this one have open or map,
// by device and inode, from one pass over /proc made the first time a ring
// asks (a List asks for each ring no lock is held on, and a pass per
// ring cost a stat of every descriptor on the machine per ring: 40 s for
// 300 dead rings beside a process with 20,000 files open). The zero value
// has made no pass yet.
type openFiles struct {
	scanned  bool
	complete bool // every process's descriptors and mappings were read
	// Each descriptor's /proc/PID/fdinfo/N, by the file it is open on (its
	// access mode read only when asked), and the files some process maps
	// writable.
	fdinfo   map[fileID][]string
	writable map[fileID]struct{}
}

type fileID struct{ dev, ino uint64 }

// procScans counts the passes over /proc, for the tests.
var procScans int

// participant says whether another process has the file of st open for
// writing or mapped writable, as one that holds a Ring does ("yes"); a
// read-only observer (ringctl, a monitor) has neither. "unknown" when
// this process cannot see every process's descriptors and mappings (it
// runs in a PID namespace other than the first, or, not root, may not
// read other users' descriptors), so one elsewhere may hold it.
func (o *openFiles) participant(st *unix.Stat_t) string {
	if !o.scanned {
		o.scan()
	}
	id := fileID{st.Dev, st.Ino}
	if _, ok := o.writable[id]; ok {
		return "yes"
	}
	if slices.ContainsFunc(o.fdinfo[id], openForWriting) {
		return "yes"
	}
	if !seesEveryProcess() || !o.complete || unix.Geteuid() != 0 && procHidesOthers() {
		return "unknown"
	}
	return "no"
}

// openForWriting reports whether the descriptor whose /proc/PID/fdinfo/N
// this is was opened for writing (its flags' access mode, in octal).
func openForWriting(fdinfo string) bool {
	b, err := os.ReadFile(fdinfo)
	if err != nil {
		return false // closed, or its process gone, meanwhile
	}
	for line := range bytes.SplitSeq(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("flags:")); ok {
			flags, err := strconv.ParseUint(string(bytes.TrimSpace(v)), 8, 64)
			return err == nil && flags&unix.O_ACCMODE != unix.O_RDONLY
		}
	}
	return false
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

// scan reads every process's descriptors (/proc/PID/fd) and mappings
// (/proc/PID/maps: a process may map a ring and close its descriptor, as
// shmring's own clients never do), and whether it could read every
// process's descriptors (not so for a user other than root, for other
// users' processes).
func (o *openFiles) scan() {
	procScans++
	o.scanned = true
	o.fdinfo, o.writable = map[fileID][]string{}, map[fileID]struct{}{}
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	o.complete = true
	self := os.Getpid()
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil || pid == self {
			continue
		}
		dir := "/proc/" + p.Name() + "/"
		fds, err := os.ReadDir(dir + "fd")
		if err != nil {
			o.complete = o.complete && errors.Is(err, fs.ErrNotExist) // gone meanwhile, or not ours to read
			continue
		}
		for _, fd := range fds {
			var st unix.Stat_t
			if unix.Stat(dir+"fd/"+fd.Name(), &st) == nil {
				id := fileID{st.Dev, st.Ino}
				o.fdinfo[id] = append(o.fdinfo[id], dir+"fdinfo/"+fd.Name())
			}
		}
		// Best effort: a process may keep its mappings from a reader
		// that sees its descriptors (seen: a sandbox's PID 1, to root).
		maps, _ := os.ReadFile(dir + "maps")
		mappedWritable(maps, o.writable)
	}
}

// mappedWritable adds the files a /proc/PID/maps text maps writable to
// writable. A line is "start-end perms offset major:minor inode path", the
// device in hex; inode 0 is memory no file backs.
func mappedWritable(maps []byte, writable map[fileID]struct{}) {
	for line := range bytes.SplitSeq(maps, []byte("\n")) {
		f := bytes.Fields(line)
		if len(f) < 5 {
			continue
		}
		major, minor, ok := bytes.Cut(f[3], []byte(":"))
		if !ok {
			continue
		}
		ma, err1 := strconv.ParseUint(string(major), 16, 32)
		mi, err2 := strconv.ParseUint(string(minor), 16, 32)
		ino, err3 := strconv.ParseUint(string(f[4]), 10, 64)
		if err1 != nil || err2 != nil || err3 != nil || ino == 0 || bytes.IndexByte(f[1], 'w') < 0 {
			continue
		}
		writable[fileID{unix.Mkdev(uint32(ma), uint32(mi)), ino}] = struct{}{}
	}
}
