package interop

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/ring"
)

// TestRolesWithoutProcAreUnsupported: a role is taken on a reopening of
// the ring's file through /proc/self/fd, so where /proc is not mounted (a
// sandbox) the C and Python libraries take none and say why:
// SHMRING_EUNSUPPORTED and UnsupportedError, "/proc is not mounted" (they
// said ESYS and a bare FileNotFoundError; a reviewer). The helpers run in
// a mount namespace of their own with /proc unmounted, which needs root
// and unshare(1).
func TestRolesWithoutProcAreUnsupported(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	if os.Geteuid() != 0 {
		t.Skip("needs root, to unmount /proc in a mount namespace of its own")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skipf("needs unshare(1): %v", err)
	}
	name := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 8})
	want := strconv.Itoa(vUnsupported) + " "
	for _, lang := range []string{"c", "python"} {
		for _, role := range []string{"producer", "consumer"} {
			helper := helperCmd(t, lang, "role", name, role)
			cmd := exec.Command(unshare, append([]string{"-m", "sh", "-c", `umount -l /proc && exec "$@"`, "sh", helper.Path}, helper.Args[1:]...)...)
			cmd.Env = helper.Env
			c := proctest.StartCommand(t, lang+" role without /proc", cmd)
			line, err := c.ReadLine()
			if err != nil {
				t.Fatalf("%s %s: no verdict: %v\n%s", lang, role, err, c.Stderr())
			}
			if !strings.HasPrefix(line, want) || !strings.Contains(line, "/proc is not mounted") {
				t.Errorf("%s %s without /proc: %q, want %q and why", lang, role, line, want+".../proc is not mounted...")
			}
			if err := c.Wait(); err != nil {
				t.Fatal(err)
			}
		}
	}
}
