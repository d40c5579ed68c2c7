//go:build linux

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
