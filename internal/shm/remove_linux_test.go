//go:build linux

package shm

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/shmring/shmring/layout"
)

// TestRemoveLeavesAFileGivenTheNameAfterItLooked: the name that Remove
// looked at may be given to another file before it unlinks (a rename over
// it); the other file stays, and Remove says so (ErrExist).
func TestRemoveLeavesAFileGivenTheNameAfterItLooked(t *testing.T) {
	dir := t.TempDir()
	path, newcomer := filepath.Join(dir, "ring"), filepath.Join(dir, "newcomer")
	for _, p := range []string{path, newcomer} {
		if err := os.WriteFile(p, []byte(layout.Magic+"rest of a ring"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	afterLook = func() {
		if err := os.Rename(newcomer, path); err != nil {
			t.Error(err)
		}
	}
	defer func() { afterLook = func() {} }()
	if err := Remove(path); !errors.Is(err, ErrExist) {
		t.Errorf("Remove of a name given to another file after it looked = %v, want ErrExist", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the file given the name was removed: %v", err)
	}
}
