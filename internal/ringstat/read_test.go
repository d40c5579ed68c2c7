//go:build linux

package ringstat

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/shmring/shmring/ring"
)

// newRing creates a ring under t.TempDir() and closes it when the test ends.
func newRing(t *testing.T, o ring.Options) (*ring.Ring, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "r")
	r, err := ring.Create(path, o)
	if err != nil {
		t.Fatalf("Create(%q): %v", path, err)
	}
	t.Cleanup(func() { r.Close() })
	return r, path
}

func TestReadSeesCursorsAndLiveRolesOfAnSPSCRing(t *testing.T) {
	r, path := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 8})
	p, err := r.Producer()
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.Consumer()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 5 {
		if err := p.Send(ctx, []byte("hello")); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 64)
	for range 2 {
		if _, err := c.Recv(ctx, buf); err != nil {
			t.Fatal(err)
		}
	}
	s, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.State != OK || s.Published != 5 || s.Consumed != 2 || s.Backlog != 3 || !s.Held {
		t.Fatalf("snapshot %+v: want ok, published 5, consumed 2, backlog 3, held", s)
	}
	if len(s.Roles) != 2 || !s.Roles[0].Live || !s.Roles[1].Live || *s.Roles[1].Lag != 3 {
		t.Fatalf("roles %+v: want a live producer and a live consumer with lag 3", s.Roles)
	}
	for _, role := range s.Roles { // from the counter blocks' Owner words: SPSC has no entries
		if role.PID != uint32(os.Getpid()) {
			t.Errorf("the %s's pid = %d, want this process's %d", role.Role, role.PID, os.Getpid())
		}
	}
	c.Close()
	s, _ = Read(path)
	if s.Roles[1].Live || s.Roles[1].Attached || !s.Roles[0].Live {
		t.Fatalf("after the consumer closed: roles %+v", s.Roles)
	}
}

// The counters and the latency histogram a reader finds in the file are the
// handles' own Stats and their sampled messages.
func TestReadSeesCountersAndLatency(t *testing.T) {
	r, path := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 8, Telemetry: ring.Telemetry{SampleEvery: 2}})
	p, _ := r.Producer()
	c, _ := r.Consumer()
	ctx := context.Background()
	buf := make([]byte, 64)
	for range 7 {
		if err := p.Send(ctx, []byte("hello")); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Recv(ctx, buf); err != nil {
			t.Fatal(err)
		}
	}
	ps, cs := p.Stats(), c.Stats()
	s, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	prod, cons := s.Roles[0], s.Roles[1]
	if s.SampleEvery != 2 || prod.Counters["messages"] != ps.Messages || prod.Counters["bytes"] != 35 || cons.Counters["messages"] != cs.Messages {
		t.Errorf("sample every %d, producer counters %v, consumer %v: want 2, Stats %+v and %+v", s.SampleEvery, prod.Counters, cons.Counters, ps, cs)
	}
	if l := cons.Latency; l == nil || l.Count != 4 || l.Bad != 0 || l.Placed() != 4 || l.P50Ns <= 0 || l.MaxNs < l.P99Ns || prod.Latency != nil {
		t.Errorf("consumer latency %+v, producer's %+v: want 4 samples (positions 0, 2, 4, 6) placed, none bad, on the consumer only", cons.Latency, prod.Latency)
	}
}

// A memfd ring has no name: Read reaches it through its holder's
// descriptor link, /proc/PID/fd/N, and reads it as any ring; any other
// symbolic link is still refused.
func TestReadReachesAMemfdRingThroughADescriptorLink(t *testing.T) {
	r, err := ring.Create("ringstat-memfd", ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 8, Memfd: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	p, err := r.Producer()
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := p.Send(context.Background(), []byte("frame")); err != nil {
			t.Fatal(err)
		}
	}
	link := fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), r.File().Fd())
	s, err := Read(link)
	if err != nil {
		t.Fatal(err)
	}
	if s.Kind != "spsc" || s.Published != 3 || !s.Roles[0].Live {
		t.Fatalf("snapshot of %s: %+v; want an spsc ring, 3 published, a live producer", link, s)
	}
	tl, err := OpenTail(link, 2)
	if err != nil {
		t.Fatalf("OpenTail(%s): %v", link, err)
	}
	defer tl.Close()
	if msgs, gaps, err := collect(t, tl); err != nil || len(gaps) != 0 || fmt.Sprint(msgs) != "[1:frame 2:frame]" {
		t.Fatalf("tail of %s -n 2: messages %v gaps %v err %v, want the last 2", link, msgs, gaps, err)
	}
	other := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(link, other); err != nil {
		t.Fatal(err)
	}
	if s, err := Read(other); err != nil || s.State != NotARing {
		t.Fatalf("a symbolic link elsewhere: %v, state %v; want not-a-ring", err, s.State)
	}
}

// TestReadGivesNoLagToABroadcastReaderThatLeft: a reader that closed its
// entry has a cursor, frozen, and no lag (which would grow for ever and
// fire alerts for a reader that is gone); one still attached has its lag,
// and the slowest attached reader alone sets Consumed.
func TestReadGivesNoLagToABroadcastReaderThatLeft(t *testing.T) {
	r, path := newRing(t, ring.Options{Kind: ring.Broadcast, SlotSize: 64, Slots: 16})
	leaves := readersAt(t, r, 10, 6, 2)[1]
	if err := leaves.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	var lags []string
	for _, ro := range s.Roles {
		if ro.Role != "reader" {
			continue
		}
		l := "none"
		if ro.Lag != nil {
			l = fmt.Sprint(*ro.Lag)
		}
		lags = append(lags, fmt.Sprintf("attached=%v cursor=%d lag=%s", ro.Attached, *ro.Cursor, l))
	}
	if want := "[attached=true cursor=6 lag=4 attached=false cursor=2 lag=none]"; fmt.Sprint(lags) != want {
		t.Errorf("readers %v, want %s", lags, want)
	}
	if s.Consumed != 6 || s.Backlog != 4 {
		t.Errorf("consumed %d backlog %d, want 6 and 4 (the reader that stays)", s.Consumed, s.Backlog)
	}
}

// TestHidepidIsSeenInMountinfo: /proc mounted with hidepid hides other
// users' processes from a user who is not root, without an error to say
// so; the open-file scan must then not answer "no one has it open". (From
// a reviewer: a non-root gc under hidepid=invisible removed a ring another
// user's process had open.)
func TestHidepidIsSeenInMountinfo(t *testing.T) {
	for _, tc := range []struct {
		line string
		hide bool
	}{
		{"21 26 0:20 / /proc rw,relatime - proc proc rw", false},
		{"21 26 0:20 / /proc rw,relatime - proc proc rw,hidepid=2", true},
		{"21 26 0:20 / /proc rw,relatime - proc proc rw,hidepid=invisible,subset=pid", true},
		{"21 26 0:20 / /proc rw,relatime - proc proc rw,hidepid=0", false},
		{"21 26 0:20 / /proc rw,relatime - proc proc rw,hidepid=off", false},
		{"30 26 0:40 / /proc/sys rw - proc proc rw,hidepid=2", false},
		{"31 26 0:41 / /proc rw shared:5 - proc proc rw,hidepid=1", true},
	} {
		if got := hidepidIn([]byte("1 0 8:1 / / rw - ext4 /dev/sda1 rw\n" + tc.line + "\n")); got != tc.hide {
			t.Errorf("%q: hidepid = %v, want %v", tc.line, got, tc.hide)
		}
	}
}
