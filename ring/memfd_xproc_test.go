//go:build linux

package ring

// A memfd ring handed to child processes over a unix socket (issue 12,
// acceptance 2): the child produces, the parent consumes, neither can
// resize the memfd, a child killed with SIGKILL leaves the parent with
// ErrPeerDead, and a new child given the same descriptor takes the
// producer role over where the dead one stopped.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/shmring/shmring/internal/proctest"
	"golang.org/x/sys/unix"
)

func init() {
	proctest.Register("memfd-producer", childMemfdProducer)
}

// memfdSlotSize is the slot size of the ring these tests pass around.
const memfdSlotSize = 1024

// memfdMsgLen is message seq's length: every length from the codec's
// header to a whole slot, in turn.
func memfdMsgLen(seq uint64) int {
	return msgHeaderSize + int(seq%(memfdSlotSize-msgHeaderSize+1))
}

// childMemfdProducer dials the parent's socket, receives the ring with
// RecvRing, checks that its descriptor can be neither shrunk nor grown and
// says "sealed", takes the producer role and says "ready", sends messages
// first..first+count-1 and says "sent", then hangs holding the role until
// it is killed ("hang") or closes the stream ("close").
func childMemfdProducer() int {
	a := childArgs(4)
	sock, first, count, then := a[0], mustUint(a[1]), mustUint(a[2]), a[3]
	conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		return childFail("dial %s: %v", sock, err)
	}
	r, err := RecvRing(conn)
	conn.Close()
	if err != nil {
		return childFail("RecvRing: %v", err)
	}
	defer r.Close()
	size := int64(r.Header().FileSize)
	for _, to := range []int64{0, size / 2, size + 4096} {
		if err := unix.Ftruncate(int(r.File().Fd()), to); !errors.Is(err, unix.EPERM) {
			return childFail("ftruncate of the received memfd from %d to %d bytes = %v, want EPERM", size, to, err)
		}
	}
	fmt.Println("sealed")
	p, err := r.Producer()
	if err != nil {
		return childFail("Producer: %v", err)
	}
	fmt.Println("ready")
	msg := make([]byte, memfdSlotSize)
	for seq := first; seq < first+count; seq++ {
		m := msg[:memfdMsgLen(seq)]
		encodeMessage(m, seq)
		if err := p.Send(context.Background(), m); err != nil {
			return childFail("Send %d: %v", seq, err)
		}
	}
	fmt.Println("sent")
	if then == "hang" {
		hangForever()
	}
	if err := p.Close(); err != nil {
		return childFail("Close: %v", err)
	}
	return 0
}

func TestMemfdRingPassedToChildProducersOutlivesOneKilled(t *testing.T) {
	for _, o := range []Options{
		{Kind: SPSC, SlotSize: memfdSlotSize, Slots: 64},
		{Kind: SPSC, Records: true, Capacity: 16 * memfdSlotSize, MaxMessage: memfdSlotSize}, // lengths wrap it every few dozen
	} {
		name := "slots"
		if o.Records {
			name = "records"
		}
		t.Run(name, func(t *testing.T) { memfdChildProducersOutliveOneKilled(t, o) })
	}
}

func memfdChildProducersOutliveOneKilled(t *testing.T, o Options) {
	proctest.Watchdog(t, hangBound)
	const first, more = 5000, 5000
	r := newMemfdRing(t, o)
	mustBeSealed(t, "the parent", r.File(), int64(r.Header().FileSize))

	// A short directory of its own: a socket's path has at most 107 bytes.
	dir, err := os.MkdirTemp("", "shmring-memfd-")
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
	l.SetDeadline(time.Now().Add(hangBound)) // a hang guard: a child that never dials
	start := func(from, count uint64, then string) *proctest.Child {
		t.Helper()
		child := proctest.Start(t, "memfd-producer", sock, strconv.FormatUint(from, 10), strconv.FormatUint(count, 10), then)
		conn, err := l.AcceptUnix()
		if err != nil {
			t.Fatalf("accept the child's connection: %v", err)
		}
		defer conn.Close()
		if err := SendRing(conn, r); err != nil {
			t.Fatalf("SendRing: %v", err)
		}
		child.Expect("sealed")
		child.Expect("ready")
		return child
	}

	c, err := r.Consumer()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	buf := make([]byte, memfdSlotSize)
	recv := func(from, to uint64) {
		t.Helper()
		for seq := from; seq < to; seq++ {
			n, err := c.Recv(ctx, buf)
			if err != nil {
				t.Fatalf("Recv of message %d: %v", seq, err)
			}
			if err := checkMessage(buf[:n], seq, memfdMsgLen(seq)); err != nil {
				t.Fatal(err)
			}
		}
	}

	dead := start(0, first, "hang")
	recv(0, first)
	dead.Expect("sent")
	result := make(chan error, 1)
	go func() {
		_, err := c.Receive(ctx)
		result <- err
	}()
	killChild(t, dead)
	if err := <-result; !errors.Is(err, ErrPeerDead) {
		t.Fatalf("Receive after the producing child was killed = %v, want ErrPeerDead", err)
	}

	heir := start(first, more, "close") // "ready": it took the role from the dead holder
	recv(first, first+more)
	if _, err := c.Recv(ctx, buf); !errors.Is(err, ErrClosed) {
		t.Fatalf("Recv after the new producer's last message = %v, want ErrClosed", err)
	}
	heir.Expect("sent")
	if err := heir.Wait(); err != nil {
		t.Fatal(err)
	}
}
