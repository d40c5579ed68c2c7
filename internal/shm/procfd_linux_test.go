package shm

import (
	"errors"
	"io/fs"
	"os"
	"testing"
)

// TestNoProcSaysUnsupported: where /proc is not mounted (a sandbox), a
// role's lock and a handed-over descriptor fail on their /proc/self/fd
// path; the error says why and is ErrNoProc, errors.ErrUnsupported, not a bare "no
// such file or directory" (a tester, in a mount namespace without /proc);
// package ring gives ErrNoProc as ring.ErrUnsupported (fileErrs).
// Where /proc is there, the error is left as it is.
func TestNoProcSaysUnsupported(t *testing.T) {
	_, err := os.Readlink(procDir + "/self/fd/1000000") // no such descriptor
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("readlink of a descriptor not open = %v, want not-exist", err)
	}
	if got := noProc(err, procDir); got != err {
		t.Errorf("with /proc mounted: %v, want the error as it was", got)
	}
	got := noProc(err, t.TempDir()) // a directory with no process file system
	if !errors.Is(got, ErrNoProc) || !errors.Is(got, errors.ErrUnsupported) || !errors.Is(got, fs.ErrNotExist) {
		t.Errorf("without /proc: %v, want ErrNoProc (errors.ErrUnsupported) wrapping the cause", got)
	}
	if other := errors.New("EPERM"); noProc(other, t.TempDir()) != other {
		t.Error("an error other than not-exist was changed")
	}
}
