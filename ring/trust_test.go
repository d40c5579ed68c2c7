//go:build linux

package ring

// What Open refuses to open, each refusal with its own error: the squatter's
// files of issue "trust at the boundary" (a symbolic link, something that is
// not a file, another user's file, a file others may write, a sparse file
// whose header claims a huge ring).

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/internal/shm"
	"github.com/shmring/shmring/layout"
	"golang.org/x/sys/unix"
)

// newClosedRing creates a ring file, closes its creator's mapping and
// returns its name and path; the file is removed when the test ends.
func newClosedRing(t *testing.T, o Options) (name, path string) {
	t.Helper()
	name = uniqueName(t)
	r, err := Create(name, o)
	if err != nil {
		t.Fatal(err)
	}
	path = r.Path()
	r.Close()
	t.Cleanup(func() { Remove(name) })
	return name, path
}

// openRefused checks that OpenWith(name, o) fails with every one of want.
func openRefused(t *testing.T, what, name string, o OpenOptions, want ...error) {
	t.Helper()
	r, err := OpenWith(name, o)
	if err == nil {
		r.Close()
		t.Errorf("%s: Open succeeded, want %v", what, want)
		return
	}
	for _, w := range want {
		if !errors.Is(err, w) {
			t.Errorf("%s: Open = %v, want %v", what, err, w)
		}
	}
}

// openWorks checks that OpenWith(name, o) accepts the ring and that a
// message goes through it.
func openWorks(t *testing.T, what, name string, o OpenOptions) {
	t.Helper()
	r, err := OpenWith(name, o)
	if err != nil {
		t.Errorf("%s: Open = %v, want the ring", what, err)
		return
	}
	defer r.Close()
	p, err := r.Producer()
	if err != nil {
		t.Fatalf("%s: Producer: %v", what, err)
	}
	c, err := r.Consumer()
	if err != nil {
		t.Fatalf("%s: Consumer: %v", what, err)
	}
	if err := p.TrySend([]byte("trusted")); err != nil {
		t.Fatalf("%s: TrySend: %v", what, err)
	}
	buf := make([]byte, r.SlotSize())
	if n, err := c.Recv(context.Background(), buf); err != nil || string(buf[:n]) != "trusted" {
		t.Errorf("%s: Recv = %q, %v; want \"trusted\"", what, buf[:n], err)
	}
}

var small = Options{Kind: SPSC, SlotSize: 16, Slots: 4}

func TestTrustOpenFollowsNoSymbolicLink(t *testing.T) {
	target, targetPath := newClosedRing(t, small)
	link := uniqueName(t)
	if err := os.Symlink(targetPath, filepath.Join(shm.Dir, link)); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(filepath.Join(shm.Dir, link))
	openRefused(t, "a link to a valid ring", link, OpenOptions{}, ErrSymlink, ErrUntrusted)
	openWorks(t, "the ring itself", target, OpenOptions{})

	// A dangling link: Create must not make its target either.
	dangling, planted := uniqueName(t), uniqueName(t)
	if err := os.Symlink(filepath.Join(shm.Dir, planted), filepath.Join(shm.Dir, dangling)); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(filepath.Join(shm.Dir, dangling))
	openRefused(t, "a dangling link", dangling, OpenOptions{}, ErrSymlink)
	if r, err := Create(dangling, small); !errors.Is(err, ErrExist) {
		if err == nil {
			r.Close()
		}
		t.Errorf("Create over a dangling link = %v, want ErrExist", err)
	}
	if _, err := os.Lstat(filepath.Join(shm.Dir, planted)); !errors.Is(err, os.ErrNotExist) {
		os.Remove(filepath.Join(shm.Dir, planted))
		t.Errorf("Create over a dangling link made its target (%v)", err)
	}
}

func TestTrustOpenRefusesWhatIsNotARegularFile(t *testing.T) {
	proctest.Watchdog(t, hangBound) // opening a FIFO must not block
	tests := []struct {
		name  string
		plant func(path string) (remove func(), err error)
	}{
		{"a FIFO", func(path string) (func(), error) {
			return func() { os.Remove(path) }, unix.Mkfifo(path, 0o600)
		}},
		{"a directory", func(path string) (func(), error) {
			return func() { os.Remove(path) }, os.Mkdir(path, 0o700)
		}},
		{"a socket", func(path string) (func(), error) {
			l, err := net.Listen("unix", path)
			if err != nil {
				return func() {}, err
			}
			return func() { l.Close(); os.Remove(path) }, nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := uniqueName(t)
			remove, err := tt.plant(filepath.Join(shm.Dir, name))
			defer remove()
			if err != nil {
				t.Fatal(err)
			}
			openRefused(t, tt.name, name, OpenOptions{}, ErrNotRegular, ErrUntrusted)
		})
	}
}

func TestTrustOpenRefusesAnotherUsersFile(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("giving a file to another user needs root (chown)")
	}
	const other = 65534 // nobody
	name, path := newClosedRing(t, small)
	if err := os.Chown(path, other, -1); err != nil {
		t.Fatal(err)
	}
	openRefused(t, "a file of uid 65534", name, OpenOptions{}, ErrForeignOwner, ErrUntrusted)
	openRefused(t, "a file of uid 65534, trusting 12345", name, OpenOptions{TrustUIDs: []int{12345}}, ErrForeignOwner)
	openWorks(t, "a file of uid 65534, trusting 65534", name, OpenOptions{TrustUIDs: []int{other}})
}

func TestTrustOpenRefusesAFileOthersMayWrite(t *testing.T) {
	gid := os.Getegid()
	tests := []struct {
		name string
		mode os.FileMode
		o    OpenOptions
		want error // nil: accepted
	}{
		{"owner-only is accepted", 0o600, OpenOptions{}, nil},
		{"readable by all is accepted (only write matters)", 0o644, OpenOptions{}, nil},
		{"group-writable is refused", 0o660, OpenOptions{}, ErrInsecureMode},
		{"group-writable is refused when another group is trusted", 0o620, OpenOptions{TrustGIDs: []int{gid + 1}}, ErrInsecureMode},
		{"group-writable is accepted when its group is trusted", 0o660, OpenOptions{TrustGIDs: []int{gid}}, nil},
		{"world-writable is refused", 0o602, OpenOptions{}, ErrInsecureMode},
		{"world-writable is refused even when its group is trusted", 0o666, OpenOptions{TrustGIDs: []int{gid}}, ErrInsecureMode},
		{"world-writable is accepted when allowed", 0o666, OpenOptions{AllowWorldWrite: true}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := small
			o.Mode = tt.mode
			name, path := newClosedRing(t, o)
			if st, err := os.Stat(path); err != nil || st.Mode().Perm() != tt.mode {
				t.Fatalf("Create with Mode %#o made a file of mode %v (%v)", tt.mode, st.Mode(), err)
			}
			if tt.want == nil {
				openWorks(t, tt.name, name, tt.o)
			} else {
				openRefused(t, tt.name, name, tt.o, tt.want, ErrUntrusted)
			}
		})
	}
}

// blocks is how many 512-byte blocks the file at path really occupies.
func blocks(t *testing.T, path string) int64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Blocks
}

// shmUsed is how many bytes /dev/shm holds, for the log.
func shmUsed(t *testing.T) uint64 {
	var fs unix.Statfs_t
	if err := unix.Statfs(shm.Dir, &fs); err != nil {
		t.Fatal(err)
	}
	return (fs.Blocks - fs.Bfree) * uint64(fs.Bsize)
}

// TestTrustOpenRefusesAHugeSparseFileBeforeMapping plants what a squatter
// would: a sparse file with a valid header for a 128 GiB ring. Open refuses
// it with ErrFileTooBig before mapping a page: the file's allocated blocks do
// not move. The control case shows that the measure would see it if they
// did: a sparse ring under the cap, opened, is pre-faulted whole.
func TestTrustOpenRefusesAHugeSparseFileBeforeMapping(t *testing.T) {
	huge := layout.Params{Kind: SPSC, SlotSize: 1 << 20, SlotCount: 1 << 17}
	tests := []struct {
		name   string
		cut    bool // truncate the file to its header: only the header claims the size
		o      OpenOptions
		accept bool
	}{
		{"a 128 GiB sparse ring under the default cap", false, OpenOptions{}, false},
		{"a 128-byte file whose header claims 128 GiB", true, OpenOptions{}, false},
		{"a 128 GiB sparse ring under a 1 TiB cap is accepted, by a dry run", false, OpenOptions{MaxFileSize: 1 << 40}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := uniqueName(t)
			path := filepath.Join(shm.Dir, name)
			hdr := plantRing(t, path, huge, 0o600)
			defer os.Remove(path)
			if tt.cut {
				if err := os.Truncate(path, layout.HeaderSize); err != nil {
					t.Fatal(err)
				}
			}
			if tt.accept {
				// Raising the cap lets the header's checks run; the
				// mapping is not made here (it would allocate 128 GiB):
				// checkSize is what Open runs just before it.
				f, err := shm.Open(path, shm.Trust{MaxSize: tt.o.MaxFileSize})
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close(false)
				_, err = checkSize(f, name, hdr, tt.o)
				if strconv.IntSize == 32 { // no 32-bit process maps 128 GiB
					if !errors.Is(err, ErrFileTooBig) {
						t.Errorf("checkSize under a 1 TiB cap on a 32-bit system = %v, want ErrFileTooBig", err)
					}
					return
				}
				if err != nil {
					t.Errorf("checkSize under a 1 TiB cap = %v, want the ring's size accepted", err)
				}
				return
			}
			before, used := blocks(t, path), shmUsed(t)
			openRefused(t, tt.name, name, tt.o, ErrFileTooBig)
			after := blocks(t, path)
			t.Logf("header FileSize=%d; file blocks before=%d after=%d; /dev/shm used before=%d after=%d",
				hdr.FileSize, before, after, used, shmUsed(t))
			if after != before {
				t.Errorf("the refused file grew from %d to %d blocks: Open allocated pages", before, after)
			}
		})
	}
	t.Run("control: a sparse ring under the cap is pre-faulted whole", func(t *testing.T) {
		name := uniqueName(t)
		path := filepath.Join(shm.Dir, name)
		hdr := plantRing(t, path, layout.Params{Kind: SPSC, SlotSize: 4096, SlotCount: 1 << 12}, 0o600)
		defer os.Remove(path)
		before := blocks(t, path)
		openRefused(t, "the same ring under a 1 MiB cap", name, OpenOptions{MaxFileSize: 1 << 20}, ErrFileTooBig)
		if got := blocks(t, path); got != before {
			t.Errorf("the refused file grew from %d to %d blocks", before, got)
		}
		r, err := Open(name)
		if err != nil {
			t.Fatalf("Open of a %d-byte sparse ring = %v", hdr.FileSize, err)
		}
		r.Close()
		if got := blocks(t, path); got*512 < int64(hdr.FileSize) {
			t.Errorf("after Open the file has %d blocks, want all %d bytes allocated: the measure cannot see a mapping", got, hdr.FileSize)
		}
	})
}

// TestTrustOpenRefusesNegativeLimits: a negative Timeout or MaxFileSize is
// a caller's mistake, ErrInvalid, not the default silently.
func TestTrustOpenRefusesNegativeLimits(t *testing.T) {
	name := uniqueName(t)
	r, err := Create(name, Options{Kind: SPSC, SlotSize: 8, Slots: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer Remove(name)
	defer r.Close()
	openRefused(t, "a negative Timeout", name, OpenOptions{Timeout: -1}, ErrInvalid)
	openRefused(t, "a negative MaxFileSize", name, OpenOptions{MaxFileSize: -1}, ErrInvalid)
	openRefused(t, "a negative Timeout at a name with no file", name+"-none", OpenOptions{Timeout: -1}, ErrInvalid)
	if r, err := OpenFileWith(r.File(), OpenOptions{Timeout: -1}); !errors.Is(err, ErrInvalid) {
		if err == nil {
			r.Close()
		}
		t.Errorf("OpenFileWith with a negative Timeout = %v, want ErrInvalid", err)
	}
}
