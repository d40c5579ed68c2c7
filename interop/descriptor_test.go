//go:build linux

package interop

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/ring"
)

// TestDescriptorOpenersCheckAsGoDoes: the C and Python openers of an
// inherited descriptor take and refuse what Go's ring.OpenFile does
// (LAYOUT.md section 6): a memfd only when sealed against shrinking and
// owned by a trusted user (its mode guards no name), any other file by its
// owner and mode as at its name. Both took an unsealed
// memfd, which any holder could shrink under the mapping (a SIGBUS that
// kills a Python interpreter), and any file whatever its mode.
func TestDescriptorOpenersCheckAsGoDoes(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	name := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 8})
	path := filepath.Join("/dev/shm", name)
	ringBytes, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	memfd := func(seals int) *os.File {
		fd, err := unix.MemfdCreate("interop-descriptor", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
		if err != nil {
			t.Fatal(err)
		}
		f := os.NewFile(uintptr(fd), "memfd")
		if _, err := f.Write(ringBytes); err != nil {
			t.Fatal(err)
		}
		if seals != 0 {
			if _, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, seals); err != nil {
				t.Fatal(err)
			}
		}
		return f
	}
	chmod := func(f *os.File, mode os.FileMode) *os.File {
		if err := f.Chmod(mode); err != nil {
			t.Fatal(err)
		}
		return f
	}
	file := func(mode os.FileMode) *os.File {
		p := filepath.Join(t.TempDir(), "ring")
		if err := os.WriteFile(p, ringBytes, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	foreign := func(f *os.File) *os.File { // another user's: only root can give it away
		if err := f.Chown(4321, -1); err != nil {
			return nil
		}
		return f
	}
	sealed := unix.F_SEAL_SHRINK | unix.F_SEAL_GROW
	cases := []struct {
		what string
		f    *os.File
		want int
	}{
		{"a memfd sealed against shrinking and growing", memfd(sealed), vOK},
		{"a sealed memfd of mode 0666 (no name for a mode to guard)", chmod(memfd(sealed), 0o666), vOK},
		{"a sealed memfd of another user", foreign(memfd(sealed)), vUnsafe},
		{"an unsealed memfd", memfd(0), vUnsafe},
		{"a memfd sealed against growing only", memfd(unix.F_SEAL_GROW), vUnsafe},
		{"a ring file of mode 0600", file(0o600), vOK},
		{"a world-writable ring file", file(0o666), vUnsafe},
		{"a ring file of another user", foreign(file(0o600)), vUnsafe},
	}
	for _, tc := range cases {
		t.Run(tc.what, func(t *testing.T) {
			if tc.f == nil {
				t.Skip("only root can give a file to another user (chown)")
			}
			defer tc.f.Close()
			r, err := ring.OpenFile(tc.f)
			switch {
			case err == nil:
				r.Close()
				if tc.want != vOK {
					t.Fatalf("Go's OpenFile takes it: the test is wrong")
				}
			case !errors.Is(err, ring.ErrUntrusted) || tc.want != vUnsafe:
				t.Fatalf("Go's OpenFile = %v: the test is wrong", err)
			}
			for _, lang := range []string{"c", "python"} {
				c := startWith(t, lang, []*os.File{tc.f}, "open", "fd:3")
				line, err := c.ReadLine()
				if err != nil {
					t.Fatalf("%s: %v", lang, err)
				}
				if err := c.Wait(); err != nil {
					t.Fatal(err)
				}
				got := vOK
				if !strings.HasPrefix(line, "ok ") {
					if got, err = strconv.Atoi(strings.Fields(line)[0]); err != nil {
						t.Fatalf("%s: %q", lang, line)
					}
				}
				if got != tc.want {
					t.Errorf("%s opener of the descriptor says %q, want %d as Go", lang, line, tc.want)
				}
			}
		})
	}
}
