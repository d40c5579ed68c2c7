//go:build linux

package ring

// Sharing rings between two users through a group, end to end: the recipe
// the README gives, run by root and a child process that the kernel runs as
// another user in the shared group.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/shmring/shmring/internal/proctest"
)

func init() {
	proctest.Register("share-echo", childShareEcho)
}

// The other user and the group the two share; neither needs to exist in
// /etc/passwd or /etc/group for the kernel.
const (
	shareUID = 65534 // nobody
	shareGID = 54321
)

// TestShareThroughAGroupBetweenTwoUsers: root creates ring "down" with mode
// 0660 and group shareGID; a child running as uid 65534 in that group only
// opens it (trusting root as its owner and the group as its writers) and
// echoes every message into ring "up", which it creates the same way and
// the parent opens trusting uid 65534 and the group. Each side first checks
// that the default OpenOptions refuse the other's file.
func TestShareThroughAGroupBetweenTwoUsers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("running a child as another user needs root (setuid)")
	}
	proctest.Watchdog(t, hangBound)
	const messages = 2000
	down, up := uniqueName(t)+"-down", uniqueName(t)+"-up"
	rd, err := Create(down, Options{Kind: SPSC, SlotSize: 64, Slots: 16, Mode: 0o660, Group: shareGID})
	if err != nil {
		t.Fatal(err)
	}
	defer Remove(down)
	defer rd.Close()
	defer Remove(up)
	if st, err := os.Stat(rd.Path()); err != nil || st.Mode().Perm() != 0o660 || st.Sys().(*syscall.Stat_t).Gid != shareGID {
		t.Fatalf("Create with Mode 0660 and Group %d made %v (%v)", shareGID, st.Sys(), err)
	}
	openRefused(t, "the creator's own group-writable ring, by default", down, OpenOptions{}, ErrInsecureMode)

	ctx, cancel := context.WithTimeout(context.Background(), hangBound)
	defer cancel()
	cmd := exec.CommandContext(ctx, worldExecutableTestBinary(t), "-test.run=^$", "--",
		down, up, strconv.Itoa(os.Geteuid()), strconv.Itoa(messages))
	cmd.Env = append(os.Environ(), proctest.RoleEnv+"=share-echo")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: shareUID, Gid: shareGID, Groups: []uint32{}},
		Pdeathsig:  syscall.SIGKILL,
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	if line, err := bufio.NewReader(out).ReadString('\n'); line != "ready\n" {
		cmd.Wait()
		t.Fatalf("child said %q (%v), want \"ready\"; stderr:\n%s", line, err, stderr.String())
	}

	openRefused(t, "the child's ring, by default", up, OpenOptions{}, ErrForeignOwner)
	openRefused(t, "the child's ring, trusting its owner only", up, OpenOptions{TrustUIDs: []int{shareUID}}, ErrInsecureMode)
	ru, err := OpenWith(up, OpenOptions{TrustUIDs: []int{shareUID}, TrustGIDs: []int{shareGID}})
	if err != nil {
		t.Fatalf("Open of the child's ring, trusting its owner and the group: %v", err)
	}
	defer ru.Close()
	p, err := rd.Producer()
	if err != nil {
		t.Fatal(err)
	}
	c, err := ru.Consumer()
	if err != nil {
		t.Fatal(err)
	}
	sent := make(chan struct{})
	defer func() { cancel(); <-sent }()
	go func() { // the parent sends while it reads the echoes
		defer close(sent)
		msg := make([]byte, 64)
		for seq := range uint64(messages) {
			n := msgHeaderSize + int(seq%49)
			encodeMessage(msg[:n], seq)
			if err := p.Send(ctx, msg[:n]); err != nil {
				t.Errorf("Send %d: %v", seq, err)
				return
			}
		}
		p.Close()
	}()
	for seq := range uint64(messages) {
		m, err := c.Receive(ctx)
		if err != nil {
			t.Fatalf("echo %d: %v; child stderr:\n%s", seq, err, stderr.String())
		}
		if err := checkMessage(m, seq, msgHeaderSize+int(seq%49)); err != nil {
			t.Fatalf("echo: %v", err)
		}
		c.Release()
	}
	if _, err := c.Receive(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("after %d echoes: %v, want ErrClosed (the child closed its producer)", messages, err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("child: %v; stderr:\n%s", err, stderr.String())
	}
}

// worldExecutableTestBinary copies this test binary where another user can
// run it (go test builds it in a directory only its user may enter).
func worldExecutableTestBinary(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "shmring-share-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	src, err := os.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	path := filepath.Join(dir, "ring.test")
	dst, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// childShareEcho is the other user's side: it checks who it runs as and
// that the default options refuse root's ring, opens it with the trust the
// README's recipe gives, creates its own ring for the echoes, says "ready"
// and echoes every message until the stream closes.
func childShareEcho() int {
	a := childArgs(4)
	down, up, owner, want := a[0], a[1], int(mustUint(a[2])), mustUint(a[3])
	if os.Geteuid() != shareUID || os.Getegid() != shareGID {
		return childFail("running as uid=%d gid=%d, want %d and %d", os.Geteuid(), os.Getegid(), shareUID, shareGID)
	}
	if _, err := Open(down); !errors.Is(err, ErrForeignOwner) {
		return childFail("Open of uid %d's ring by default = %v, want ErrForeignOwner", owner, err)
	}
	if _, err := OpenWith(down, OpenOptions{TrustUIDs: []int{owner}}); !errors.Is(err, ErrInsecureMode) {
		return childFail("Open trusting its owner only = %v, want ErrInsecureMode", err)
	}
	rd, err := OpenWith(down, OpenOptions{TrustUIDs: []int{owner}, TrustGIDs: []int{shareGID}})
	if err != nil {
		return childFail("Open trusting its owner and the group: %v", err)
	}
	defer rd.Close()
	c, err := rd.Consumer()
	if err != nil {
		return childFail("Consumer: %v", err)
	}
	ru, err := Create(up, Options{Kind: SPSC, SlotSize: 64, Slots: 16, Mode: 0o660, Group: shareGID})
	if err != nil {
		return childFail("Create %s: %v", up, err)
	}
	defer ru.Close()
	p, err := ru.Producer()
	if err != nil {
		return childFail("Producer: %v", err)
	}
	fmt.Println("ready")
	ctx := context.Background()
	var n uint64
	for ; ; n++ {
		m, err := c.Receive(ctx)
		if errors.Is(err, ErrClosed) {
			break
		}
		if err != nil {
			return childFail("Receive %d: %v", n, err)
		}
		if err := p.Send(ctx, m); err != nil {
			return childFail("Send %d: %v", n, err)
		}
		c.Release()
	}
	if n != want {
		return childFail("echoed %d messages, want %d", n, want)
	}
	if err := p.Close(); err != nil {
		return childFail("Producer.Close: %v", err)
	}
	return 0
}
