//go:build linux

package ring

// A memfd ring received by another user: the owner is checked as for a
// named ring, the mode is not (a memfd has no name for it to guard), and
// taking a role, which reopens the descriptor through /proc/self/fd, is as
// the mode allows.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shmring/shmring/internal/proctest"
	"golang.org/x/sys/unix"
)

func init() {
	proctest.Register("memfd-other-user", childMemfdOtherUser)
}

// TestMemfdRingReceivedByAnotherUser: root hands a child running as uid
// 65534 (group shareGID) a memfd ring of mode 0660 and group shareGID, and
// one of the default mode 0600. With the default options the child refuses
// root's ring (ErrForeignOwner); trusting root it opens both, whatever
// their mode; it can take a role on the 0660 ring, and receives every
// message root sends there, but not on the 0600 one (a permission error).
func TestMemfdRingReceivedByAnotherUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("running a child as another user needs root (setuid)")
	}
	proctest.Watchdog(t, hangBound)
	const messages = 2000
	shared := newMemfdRing(t, Options{Kind: SPSC, SlotSize: 64, Slots: 16, Mode: 0o660, Group: shareGID})
	private := newMemfdRing(t, Options{Kind: SPSC, SlotSize: 64, Slots: 16})

	dir, err := os.MkdirTemp("", "shmring-memfd-share-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "s")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	// The other user must reach the socket: search the directory, write
	// the socket (unix(7)).
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(sock, 0o777); err != nil {
		t.Fatal(err)
	}
	l.SetDeadline(time.Now().Add(hangBound)) // a hang guard: a child that never dials

	child := proctest.Start(t, "memfd-other-user", sock, strconv.Itoa(os.Geteuid()), strconv.Itoa(messages))
	conn, err := l.AcceptUnix()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, r := range []*Ring{shared, shared, private} {
		if err := SendRing(conn, r); err != nil {
			t.Fatalf("SendRing: %v", err)
		}
	}
	child.Expect("ready")
	p, err := shared.Producer()
	if err != nil {
		t.Fatal(err)
	}
	msg := make([]byte, 64)
	for seq := range uint64(messages) {
		n := msgHeaderSize + int(seq%49)
		encodeMessage(msg[:n], seq)
		if err := p.Send(context.Background(), msg[:n]); err != nil {
			t.Fatalf("Send %d: %v", seq, err)
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	child.Expect(fmt.Sprintf("received %d", messages))
	if err := child.Wait(); err != nil {
		t.Fatal(err)
	}
}

// childMemfdOtherUser becomes uid 65534 in group shareGID, dials the
// parent's socket and receives three rings: the shared one with the default
// options (refused), the shared one trusting the parent, the private one
// trusting the parent. It checks which roles it can take, says "ready",
// receives the stream on the shared ring and says "received N".
func childMemfdOtherUser() int {
	a := childArgs(3)
	sock, owner, want := a[0], int(mustUint(a[1])), mustUint(a[2])
	if err := dropTo(shareUID, shareGID); err != nil {
		return childFail("become uid %d gid %d: %v", shareUID, shareGID, err)
	}
	conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		return childFail("dial %s: %v", sock, err)
	}
	defer conn.Close()
	if r, err := RecvRing(conn); !errors.Is(err, ErrForeignOwner) {
		if err == nil {
			r.Close()
		}
		return childFail("RecvRing of uid %d's memfd ring by default = %v, want ErrForeignOwner", owner, err)
	}
	trust := OpenOptions{TrustUIDs: []int{owner}}
	shared, err := RecvRingWith(conn, trust)
	if err != nil {
		return childFail("RecvRing of the 0660 memfd ring trusting its owner: %v", err)
	}
	defer shared.Close()
	private, err := RecvRingWith(conn, trust)
	if err != nil {
		return childFail("RecvRing of the 0600 memfd ring trusting its owner = %v, want it open (a memfd's mode is not checked)", err)
	}
	defer private.Close()
	if _, err := private.Consumer(); !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), "Options.Mode") {
		return childFail("Consumer of the 0600 memfd ring as another user = %v, want a permission error naming Options.Mode", err)
	}
	c, err := shared.Consumer()
	if err != nil {
		return childFail("Consumer of the 0660 memfd ring in its group: %v", err)
	}
	fmt.Println("ready")
	buf := make([]byte, 64)
	var seq uint64
	for ; ; seq++ {
		n, err := c.Recv(context.Background(), buf)
		if errors.Is(err, ErrClosed) {
			break
		}
		if err != nil {
			return childFail("Recv %d: %v", seq, err)
		}
		if err := checkMessage(buf[:n], seq, msgHeaderSize+int(seq%49)); err != nil {
			return childFail("%v", err)
		}
	}
	if seq != want {
		return childFail("received %d messages, want %d", seq, want)
	}
	fmt.Printf("received %d\n", seq)
	return 0
}

// dropTo makes this process uid in group gid alone, for good, and arms the
// parent-death signal again (changing credentials clears it: prctl(2)).
func dropTo(uid, gid int) error {
	if err := syscall.Setgroups(nil); err != nil {
		return err
	}
	if err := syscall.Setgid(gid); err != nil {
		return err
	}
	if err := syscall.Setuid(uid); err != nil {
		return err
	}
	return unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0)
}
