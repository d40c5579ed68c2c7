package ring

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/shmring/shmring/internal/shm"
)

// TestNameRulesRemoveOfARelativePathRemovesNothing: "../x" once meant a path
// relative to the working directory, so Remove("../victim") deleted a file
// outside /dev/shm. Now no call touches it.
func TestNameRulesRemoveOfARelativePathRemovesNothing(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(dir, "work")
	if err := os.Mkdir(work, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Chdir(work)
	for _, name := range []string{"../victim", "./../victim", "work/../../victim"} {
		if err := Remove(name); !errors.Is(err, ErrInvalid) {
			t.Errorf("Remove(%q) = %v, want ErrInvalid", name, err)
		}
		if _, err := Open(name); !errors.Is(err, ErrInvalid) {
			t.Errorf("Open(%q) = %v, want ErrInvalid", name, err)
		}
		if r, err := Create(name, Options{Kind: SPSC, SlotSize: 8, Slots: 2}); !errors.Is(err, ErrInvalid) {
			if err == nil {
				r.Close()
			}
			t.Errorf("Create(%q) = %v, want ErrInvalid", name, err)
		}
	}
	if b, err := os.ReadFile(victim); err != nil || string(b) != "keep me" {
		t.Fatalf("the file outside /dev/shm after Remove: %q, %v; want it untouched", b, err)
	}
	if left, _ := os.ReadDir(work); len(left) != 0 {
		t.Errorf("Create of a relative path left %v in the working directory", left)
	}
}

// An absolute path is the documented way to put a ring elsewhere.
func TestNameRulesAnAbsolutePathIsARingAnywhere(t *testing.T) {
	name := filepath.Join(t.TempDir(), "ring")
	r, err := Create(name, Options{Kind: SPSC, SlotSize: 8, Slots: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Path() != name {
		t.Errorf("Path() = %q, want %q", r.Path(), name)
	}
	peer, err := Open(name)
	if err != nil {
		t.Fatalf("Open(%q) = %v", name, err)
	}
	peer.Close()
	if err := Remove(name); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(name); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Remove(%q): stat = %v, want not exist", name, err)
	}
}

// Remove unlinks names, never directories, whatever the name says.
func TestNameRulesRemoveLeavesADirectory(t *testing.T) {
	name := uniqueName(t)
	path := filepath.Join(shm.Dir, name)
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(path)
	if err := Remove(name); !errors.Is(err, ErrNotRegular) {
		t.Errorf("Remove of an empty directory at the name = %v, want ErrNotRegular", err)
	}
	if st, err := os.Stat(path); err != nil || !st.IsDir() {
		t.Errorf("the directory after Remove: %v, %v; want it still there", st, err)
	}
}
