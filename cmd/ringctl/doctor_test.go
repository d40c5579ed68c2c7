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
// bare errno no sentinel named (a black-box tester). A full tmpfs is a
// warning that says so. The child runs in a mount namespace of its own
// with a read-only tmpfs on /dev/shm and a full one elsewhere, which needs
// root and unshare(1).
func TestDoctorFailsWhereNoRingCanBeCreated(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	if os.Geteuid() != 0 {
		t.Skip("needs root, to mount a read-only /dev/shm in a mount namespace of its own")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skipf("needs unshare(1): %v", err)
	}
	full := t.TempDir()
	child := proctest.Command(t, "read-only-shm", full)
	script := `mount -t tmpfs -o ro,size=1m tmpfs /dev/shm && mount -t tmpfs -o size=8k tmpfs "$0" &&
		dd if=/dev/zero of="$0/fill" bs=4k count=2 2>/dev/null; exec "$@"`
	child.Args = append([]string{unshare, "-m", "sh", "-c", script, full}, child.Args...)
	child.Path = unshare
	c := proctest.StartCommand(t, "read-only-shm", child)
	line, err := c.ReadLine()
	if err != nil {
		t.Fatalf("no verdict: %v\n%s", err, c.Stderr())
	}
	if line != "doctor exit 1 shm fail; Create is fs.ErrPermission true" {
		t.Errorf("on a read-only /dev/shm: %q, want doctor to fail and Create's error to be fs.ErrPermission", line)
	}
	if line, err = c.ReadLine(); err != nil || line != "doctor --shm FULL exit 0 shm warn full" {
		t.Errorf("on a full tmpfs: %q (%v), want doctor to warn that it is full", line, err)
	}
	if err := c.Wait(); err != nil {
		t.Fatal(err)
	}
}

// readOnlyShm is the child of TestDoctorFailsWhereNoRingCanBeCreated: it
// runs doctor and tries to create a ring, and prints what both said.
func readOnlyShm() int {
	var out bytes.Buffer
	code := execute(context.Background(), []string{"doctor", "-o", "json"}, &out, io.Discard)
	var d doctorJSON
	if err := json.Unmarshal(out.Bytes(), &d); err != nil || len(d.Checks) < 2 {
		return fail("doctor -o json: %v: %q", err, out.String())
	}
	_, err := ring.Create("ringctl-read-only", ring.Options{Kind: ring.SPSC, SlotSize: 8, Slots: 4})
	fmt.Printf("doctor exit %d %s %s; Create is fs.ErrPermission %v\n", code, d.Checks[1].Name, d.Checks[1].Status, errors.Is(err, fs.ErrPermission))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	out.Reset()
	code = execute(context.Background(), []string{"doctor", "--shm", proctest.Args()[0], "-o", "json"}, &out, io.Discard)
	if err := json.Unmarshal(out.Bytes(), &d); err != nil || len(d.Checks) < 2 {
		return fail("doctor --shm FULL -o json: %v: %q", err, out.String())
	}
	full := ""
	if strings.Contains(d.Checks[1].Detail, "full: no ring can be created") {
		full = " full"
	}
	fmt.Printf("doctor --shm FULL exit %d %s %s%s\n", code, d.Checks[1].Name, d.Checks[1].Status, full)
	return 0
}
