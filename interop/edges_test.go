//go:build linux

package interop

// The file's edges: what the C and Python openers accept at a name, and
// what they refuse before reading a byte of it, must be what ring.OpenWith
// decides for the same name and options. Each case runs all three openers.

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/layout"
	"github.com/shmring/shmring/ring"
)

// goOpenVerdict opens name with package ring and returns its verdict as a
// code of the C library.
func goOpenVerdict(name string, o ring.OpenOptions) (int, error) {
	r, err := ring.OpenWith(name, o)
	if err == nil {
		return vOK, r.Close()
	}
	for _, v := range []struct {
		err  error
		code int
	}{
		{ring.ErrInvalid, vInvalid}, {ring.ErrNotExist, vNotExist}, {ring.ErrUntrusted, vUnsafe},
		{ring.ErrFileTooBig, vFileTooBig}, {ring.ErrTruncated, vTruncated}, {ring.ErrVersion, vVersion},
		{ring.ErrNotReady, vNotReady}, {ring.ErrCorrupt, vCorrupt},
	} {
		if errors.Is(err, v.err) {
			return v.code, err
		}
	}
	return -100, err
}

// openOptions turns the interop programs' open options (trustuid=N,
// trustgid=N, world, maxsize=N) into package ring's.
func openOptions(t *testing.T, opts []string) ring.OpenOptions {
	o := ring.OpenOptions{Timeout: 20e6}
	for _, opt := range opts {
		key, val, _ := strings.Cut(opt, "=")
		n, _ := strconv.ParseInt(val, 0, 64)
		switch key {
		case "trustuid":
			o.TrustUIDs = append(o.TrustUIDs, int(n))
		case "trustgid":
			o.TrustGIDs = append(o.TrustGIDs, int(n))
		case "world":
			o.AllowWorldWrite = true
		case "maxsize":
			o.MaxFileSize = n
		default:
			t.Fatalf("no open option %q", opt)
		}
	}
	return o
}

type edgeCase struct {
	what string
	name string
	opts []string
	want int
}

func TestOpenersCheckTheFilesEdges(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	dir := t.TempDir()
	valid := filepath.Join(dir, "valid")
	r, err := ring.Create(valid, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 64})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	path := func(n string) string { return filepath.Join(dir, n) }
	for _, err := range []error{
		os.Symlink(valid, path("link")),
		syscall.Mkfifo(path("fifo"), 0o600),
		os.Mkdir(path("sub"), 0o700),
		copyFile(valid, path("group"), 0o660),
		os.Chmod(path("group"), 0o660), // the umask must not hide the group bit
		copyFile(valid, path("world"), 0o666),
		os.Chmod(path("world"), 0o666),
		copyFile(valid, path("sparse"), 0o600),
		os.Truncate(path("sparse"), ring.DefaultMaxFileSize+1<<20), // sparse: no page is allocated
		os.WriteFile(path("claims-huge"), hugeHeader(t), 0o600),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	st, err := os.Stat(path("group"))
	if err != nil {
		t.Fatal(err)
	}
	fileGID := int(st.Sys().(*syscall.Stat_t).Gid)
	gid, otherGID := strconv.Itoa(fileGID), strconv.Itoa(fileGID+1)
	bare := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 64})
	cases := []edgeCase{
		{"a bare name is a ring in /dev/shm", bare, nil, vOK},
		{"an absolute path opens", valid, nil, vOK},
		{"an absolute path is cleaned as filepath.Clean does", path("sub") + "/../valid", nil, vOK}, // not filepath.Join: it would clean it here
		{"a relative path with .. is invalid", "../" + bare, nil, vInvalid},
		{"a relative path with . is invalid", "./" + bare, nil, vInvalid},
		{"a relative path with a slash is invalid", "shm/" + bare, nil, vInvalid},
		{"the bare name .. is invalid", "..", nil, vInvalid},
		{"the bare name . is invalid", ".", nil, vInvalid},
		{"a bare name over 255 bytes is invalid", strings.Repeat("r", 256), nil, vInvalid},
		{"a missing file does not exist", path("missing"), nil, vNotExist},
		{"a symlink to a valid ring is not followed", path("link"), nil, vUnsafe},
		{"a FIFO is not a regular file", path("fifo"), nil, vUnsafe},
		{"a directory is not a regular file", path("sub"), nil, vUnsafe},
		{"a group-writable file is refused by default", path("group"), nil, vUnsafe},
		{"a group-writable file of another group is refused", path("group"), []string{"trustgid=" + otherGID}, vUnsafe},
		{"a group-writable file of a trusted group opens", path("group"), []string{"trustgid=" + gid}, vOK},
		{"a world-writable file is refused by default", path("world"), nil, vUnsafe},
		{"a world-writable file is refused for a trusted group", path("world"), []string{"trustgid=" + gid}, vUnsafe},
		{"a world-writable file opens when allowed", path("world"), []string{"world"}, vOK},
		{"a file over the cap is refused", valid, []string{"maxsize=4096"}, vFileTooBig},
		{"a sparse file over the default cap is refused", path("sparse"), nil, vFileTooBig},
		{"a header whose FileSize is over the cap is refused", path("claims-huge"), nil, vFileTooBig},
	}
	if os.Geteuid() == 0 {
		if err := copyFile(valid, path("foreign"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(path("foreign"), 65534, 65534); err != nil {
			t.Fatal(err)
		}
		cases = append(cases,
			edgeCase{"another user's file is refused", path("foreign"), nil, vUnsafe},
			edgeCase{"another user's file opens when that user is trusted", path("foreign"), []string{"trustuid=65534"}, vOK})
	} else {
		t.Log("not root: cannot give a file away, so the foreign-owner cases are not run")
	}
	for _, c := range cases {
		want, goErr := goOpenVerdict(c.name, openOptions(t, c.opts))
		if want != c.want {
			t.Errorf("%s: Go says %d (%v), the case says %d: the test is wrong", c.what, want, goErr, c.want)
			continue
		}
		for _, lang := range []string{"c", "python"} {
			if got := verdictOf(t, lang, c.name, c.opts...); got != want {
				t.Errorf("%s (%s): got %d, Go says %d (%v)", c.what, lang, got, want, goErr)
			}
		}
	}
}

// hugeHeader is a ready, consistent header of a ring of 2^17 slots of 1 MiB
// (about 137 GB), on a file of one page: only the cap on the header's
// FileSize refuses it before anything is mapped.
func hugeHeader(t *testing.T) []byte {
	h, err := layout.NewHeader(layout.KindSPSC, 1<<20, 1<<17)
	if err != nil {
		t.Fatal(err)
	}
	if h.FileSize <= ring.DefaultMaxFileSize {
		t.Fatalf("FileSize=%d is not over the default cap", h.FileSize)
	}
	b := make([]byte, 4096)
	h.Encode(b)
	binary.LittleEndian.PutUint32(b[layout.ReadyOffset:], layout.ReadyValue)
	return b
}

func copyFile(from, to string, mode os.FileMode) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, mode)
}
