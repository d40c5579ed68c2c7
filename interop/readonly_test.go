package interop

import (
	"os"
	"os/exec"
	"testing"

	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/ring"
)

const pythonReadOnly = `import sys, shmring
try:
    shmring.open_ring(sys.argv[1])
    print("opened")
except PermissionError as e:
    print("PermissionError", e.errno)
`

// TestPythonOpenOnAReadOnlyFileSystemIsAPermissionError: a ring on a file
// system mounted read-only cannot be mapped for writing, and Python says so
// with a PermissionError (errno EROFS), as Go's Open returns an error that
// is fs.ErrPermission; it was a plain OSError. The helper runs in a mount
// namespace of its own with /dev/shm bound read-only, which needs root and
// unshare(1).
func TestPythonOpenOnAReadOnlyFileSystemIsAPermissionError(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	if os.Geteuid() != 0 {
		t.Skip("needs root, to bind /dev/shm read-only in a mount namespace of its own")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skipf("needs unshare(1): %v", err)
	}
	name := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 8})
	py := pythonCmd(t, "-c", pythonReadOnly, name)
	cmd := exec.Command(unshare, append([]string{"-m", "sh", "-c",
		`mount --bind /dev/shm /dev/shm && mount -o remount,bind,ro /dev/shm && exec "$@"`, "sh", py.Path}, py.Args[1:]...)...)
	cmd.Env = py.Env
	c := proctest.StartCommand(t, "python open on a read-only /dev/shm", cmd)
	c.Expect("PermissionError 30")
	if err := c.Wait(); err != nil {
		t.Fatal(err)
	}
}
