//go:build linux

package medium

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shmring/shmring/ring"
)

// plant makes empty files in /dev/shm with the given names, as a process
// killed outright leaves them (or as someone plants them), and removes
// them when t ends.
func plant(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		path := filepath.Join("/dev/shm", n)
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Remove(path) })
	}
}

// newTestRings is a set of rings whose files are gone when t ends.
func newTestRings(t *testing.T) *Rings {
	rs := NewRings(context.Background(), ring.DefaultWait)
	t.Cleanup(func() {
		if err := rs.Close(); err != nil {
			t.Error(err)
		}
	})
	return rs
}

var testOptions = ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 2}

// TestLeftoversOfAProcessWithThisPidDoNotFailCreate: ring names were
// ringbench-<pid>-<n>-<tag>, created exclusively, so the files a ringbench
// killed by SIGKILL left made a later run that got the same pid fail
// with "ring: already exists". (From a black-box tester.)
func TestLeftoversOfAProcessWithThisPidDoNotFailCreate(t *testing.T) {
	var names []string
	for n := 1; n <= 256; n++ {
		names = append(names, fmt.Sprintf("ringbench-%d-%d-down", os.Getpid(), n))
	}
	plant(t, names...)
	rs := newTestRings(t)
	for range 4 {
		name, err := rs.Create("down", testOptions)
		if err != nil {
			t.Fatalf("create beside the leftovers of an earlier process with this pid: %v", err)
		}
		if want := namePrefix(); !strings.HasPrefix(name, want) {
			t.Errorf("name %q: want the prefix %q, by which ringctl gc and a person find leftovers", name, want)
		}
	}
}

// TestANameThatIsTakenIsReplacedByAFreshOne: should a name be taken all
// the same (planted, or a random part drawn twice), Create tries another
// instead of failing; only names taken nameTries times in a row fail it.
func TestANameThatIsTakenIsReplacedByAFreshOne(t *testing.T) {
	parts := []string{"taken", "taken", "free"}
	orig := randomPart
	t.Cleanup(func() { randomPart = orig })
	randomPart = func() string {
		p := parts[0]
		if len(parts) > 1 {
			parts = parts[1:]
		}
		return p
	}
	taken := namePrefix() + "taken-down"
	plant(t, taken)
	rs := newTestRings(t)
	name, err := rs.Create("down", testOptions)
	if want := namePrefix() + "free-down"; err != nil || name != want {
		t.Fatalf("create with %s taken = %q, %v; want %q", taken, name, err, want)
	}
	parts = []string{"taken"}
	if _, err := rs.Create("down", testOptions); !errors.Is(err, ring.ErrExist) || !strings.Contains(err.Error(), "in a row") {
		t.Errorf("create with every name taken = %v, want ring.ErrExist, saying that every name tried was taken", err)
	}
}
