//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/ring"
)

// TestDoctorChecksEverythingItPromises: one verdict per check, each with a
// detail, and the exit code follows the verdicts (1 only with a failure).
func TestDoctorChecksEverythingItPromises(t *testing.T) {
	var d doctorJSON
	code := ringctlJSON(t, &d, "doctor")
	want := []string{"kernel", "shm", "container", "futex", "membarrier", "ofd-locks", "memfd", "huge-pages", "thp", "memlock"}
	failed := false
	for i, c := range d.Checks {
		if i >= len(want) || c.Name != want[i] || c.Detail == "" || !strings.Contains("ok info warn fail", c.Status) {
			t.Errorf("check %d: %+v, want %s with a status and a detail", i, c, want[min(i, len(want)-1)])
		}
		failed = failed || c.Status == statusFail
	}
	if len(d.Checks) != len(want) {
		t.Errorf("%d checks, want %d", len(d.Checks), len(want))
	}
	if (code == exitFailed) != failed || code != exitOK && code != exitFailed {
		t.Errorf("exit %d with a failed check=%v", code, failed)
	}
	// A directory that is not there fails the shm check.
	code = ringctlJSON(t, &d, "doctor", "--shm", "/nonexistent-shm")
	if code != exitFailed || d.Checks[1].Status != statusFail {
		t.Errorf("doctor --shm /nonexistent-shm: exit %d, shm %+v: want exit 1 and a failure", code, d.Checks[1])
	}
	// Nor does a file: bare names cannot live under it. It said "ok,
	// tmpfs" of a ring file. (From a black-box tester.)
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	code = ringctlJSON(t, &d, "doctor", "--shm", file)
	if code != exitFailed || d.Checks[1].Status != statusFail {
		t.Errorf("doctor --shm FILE: exit %d, shm %+v: want exit 1 and a failure", code, d.Checks[1])
	}
	if ents, _ := os.ReadDir("/dev/shm"); len(ents) > 0 {
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ".ringctl-doctor-") {
				t.Errorf("doctor left its scratch file %s behind", e.Name())
			}
		}
	}
}

// TestDoctorFailsWhereNoRingCanBeCreated: on a read-only /dev/shm doctor's
// shm check fails (exit 1), as ring.Create does, with an error that is
// fs.ErrPermission; it said "warn" and exited 0, and Create's error was a
// bare errno no sentinel named (a black-box tester). A read-only directory
// that is not tmpfs fails too (the tmpfs warning came first; a reviewer),
// a full tmpfs is a warning that says so, and a tmpfs with no size limit
// (size=0, which statfs shows as 0 bytes, 0 free) is neither full nor
// small; Open and Remove of a ring on a read-only file system are
// fs.ErrPermission, as Create's error is. The child runs in a mount namespace of its own
// with these mounts, which needs root and unshare(1).
func TestDoctorFailsWhereNoRingCanBeCreated(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	if os.Geteuid() != 0 {
		t.Skip("needs root, to mount a read-only /dev/shm in a mount namespace of its own")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skipf("needs unshare(1): %v", err)
	}
	full, unlimited, readOnlyDisk, frozen, noInodes := t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir()
	r, err := ring.Create(filepath.Join(frozen, "ring"), ring.Options{Kind: ring.SPSC, SlotSize: 8, Slots: 4})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	child := proctest.Command(t, "read-only-shm", full, unlimited, readOnlyDisk, filepath.Join(frozen, "ring"), noInodes)
	script := `mount -t tmpfs -o ro,size=1m tmpfs /dev/shm && mount -t tmpfs -o size=8k tmpfs "$0" &&
		dd if=/dev/zero of="$0/fill" bs=4k count=2 2>/dev/null; mount -t tmpfs -o size=0 tmpfs "$1" &&
		mount --bind /usr "$2" && mount -o remount,bind,ro "$2" &&
		mount --bind "$3" "$3" && mount -o remount,bind,ro "$3" &&
		mount -t tmpfs -o size=1m,nr_inodes=3 tmpfs "$4" && { touch "$4/a" "$4/b" "$4/c" 2>/dev/null; true; } &&
		shift 4 && exec "$@"`
	child.Args = append([]string{unshare, "-m", "sh", "-c", script, full, unlimited, readOnlyDisk, frozen, noInodes}, child.Args...)
	child.Path = unshare
	c := proctest.StartCommand(t, "read-only-shm", child)
	for _, want := range []string{
		"/dev/shm read-only: exit 1 fail; Create is fs.ErrPermission true; the lock check says where it tested true",
		"full: exit 0 warn, says full true, container warn",
		"unlimited: exit 0 ok, says full false, container info",
		"read-only disk: exit 1 fail, says full false, container info",
		"no inodes: exit 0 warn, says full false, container warn",
		"Open and Remove on a read-only file system are fs.ErrPermission true true",
	} {
		line, err := c.ReadLine()
		if err != nil {
			t.Fatalf("no verdict: %v\n%s", err, c.Stderr())
		}
		if line != want {
			t.Errorf("doctor said %q, want %q", line, want)
		}
	}
	if err := c.Wait(); err != nil {
		t.Fatal(err)
	}
}

// readOnlyShm is the child of TestDoctorFailsWhereNoRingCanBeCreated: it
// runs doctor on /dev/shm and tries to create a ring there, then runs
// doctor on each directory it is given, and prints what each said.
func readOnlyShm() int {
	var ofd check // the lock check of the last run
	shm := func(args ...string) (code int, c, container check, err error) {
		var out bytes.Buffer
		code = execute(context.Background(), append([]string{"doctor", "-o", "json"}, args...), &out, io.Discard)
		var d doctorJSON
		if err := json.Unmarshal(out.Bytes(), &d); err != nil || len(d.Checks) < 3 {
			return 0, c, container, fmt.Errorf("doctor %q -o json: %v: %q", args, err, out.String())
		}
		for _, c := range d.Checks {
			if c.Name == "ofd-locks" {
				ofd = c
			}
		}
		return code, d.Checks[1], d.Checks[2], nil
	}
	code, c, _, err := shm()
	if err != nil {
		return fail("%v", err)
	}
	_, err = ring.Create("ringctl-read-only", ring.Options{Kind: ring.SPSC, SlotSize: 8, Slots: 4})
	fmt.Printf("/dev/shm read-only: exit %d %s; Create is fs.ErrPermission %v; the lock check says where it tested %v\n",
		code, c.Status, errors.Is(err, fs.ErrPermission), strings.Contains(ofd.Detail, "tested in "+os.TempDir()))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	// A container's mark, for its check of the size of --shm.
	os.Setenv("container", "ringctl-test")
	for i, name := range []string{"full", "unlimited", "read-only disk", "", "no inodes"} {
		if name == "" {
			continue // the read-only ring's path
		}
		code, c, container, err := shm("--shm", proctest.Args()[i])
		if err != nil {
			return fail("%v", err)
		}
		if name == "no inodes" && !strings.Contains(c.Detail, "no inodes left") {
			c.Status += " (not saying no inodes left)"
		}
		fmt.Printf("%s: exit %d %s, says full %v, container %s\n", name, code, c.Status, strings.Contains(c.Detail, "full:"), container.Status)
		fmt.Fprintf(os.Stderr, "%s: %s\n", name, c.Detail)
	}
	_, err = ring.Open(proctest.Args()[3])
	rerr := ring.Remove(proctest.Args()[3])
	fmt.Printf("Open and Remove on a read-only file system are fs.ErrPermission %v %v\n", errors.Is(err, fs.ErrPermission), errors.Is(rerr, fs.ErrPermission))
	return 0
}
