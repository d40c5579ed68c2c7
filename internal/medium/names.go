//go:build linux

package medium

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// The names this package makes in a namespace every process shares (a ring
// in /dev/shm, a POSIX message queue) are
// "ringbench-<pid>-<pidns>-<random>-<tag>", each created exclusively. The
// prefix and the pid say who made it (for `ringctl ls`, and a person who
// removes leftovers by name); the PID namespace (the inode of
// /proc/self/ns/pid, 0 where it cannot be read) says where that pid means
// that process, so that a later run can tell a leftover of a dead run from
// the ring of a run in another container sharing /dev/shm
// (RemoveLeftovers); the random part makes the name unique beyond the pid,
// which the kernel reuses: a ringbench killed outright (SIGKILL) before
// its peers attached leaves its names, and a later run that gets the same
// pid must not trip over them.

// nameTries is how many fresh names createNamed tries: more than one taken
// in a row means someone is creating them on purpose.
const nameTries = 8

// randomPart is 48 random bits in hex; tests replace it.
var randomPart = func() string {
	var b [6]byte
	rand.Read(b[:]) // never fails (it crashes the program instead)
	return hex.EncodeToString(b[:])
}

// pidNamespace is this process's PID namespace: the inode number that
// /proc/self/ns/pid names ("pid:[4026531836]"), 0 where it cannot be read.
var pidNamespace = func() uint64 {
	link, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		return 0
	}
	ino, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(link, "pid:["), "]"), 10, 64)
	if err != nil {
		return 0
	}
	return ino
}()

// namePrefix is what every name this process makes starts with.
func namePrefix() string { return fmt.Sprintf("ringbench-%d-%d-", os.Getpid(), pidNamespace) }

// createNamed calls create with a fresh name for tag until one is not taken
// yet (taken says whether create's error means that), and returns the name
// create last tried.
func createNamed(tag string, create func(name string) error, taken func(error) bool) (string, error) {
	var name string
	var err error
	for range nameTries {
		name = namePrefix() + randomPart() + "-" + tag
		if err = create(name); err == nil || !taken(err) {
			return name, err
		}
	}
	return name, fmt.Errorf("%d fresh names in a row were taken: %w", nameTries, err)
}
