//go:build linux

package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/internal/ringstat"
	"github.com/shmring/shmring/ring"
)

// roleOf finds the role a child holds, by the pid it wrote into its entry
// or counter block (pid 0: the role's only holder, by role name).
func roleOf(t *testing.T, s *ringstat.Snapshot, role string, pid int) ringstat.Role {
	t.Helper()
	for _, r := range s.Roles {
		if r.Role == role && (pid == 0 || int(r.PID) == pid) {
			return r
		}
	}
	t.Fatalf("no %s role of pid %d in %+v", role, pid, s.Roles)
	return ringstat.Role{}
}

func stat(t *testing.T, path string) ringstat.Snapshot {
	t.Helper()
	var s statJSON
	if code := ringctlJSON(t, &s, "stat", path); code != exitOK {
		t.Fatalf("stat %s: exit %d, state %s: %s", path, code, s.State, s.Problem)
	}
	return s.Snapshot
}

// sameCounters checks that a role's counters in the file are its child's
// own Stats, every one of them, and that a reading role's latency
// histogram counted every message it received (the children's rings stamp
// every message).
func sameCounters(t *testing.T, what string, r ringstat.Role, child peerStats) {
	t.Helper()
	sameFileCounters(t, what, r, child)
	if r.Role == "producer" {
		return
	}
	if l := r.Latency; l == nil || l.Count != child.messages || l.Bad != 0 || l.Placed() != l.Count || l.P50Ns <= 0 || l.P50Ns > l.MaxNs {
		t.Errorf("%s: latency %+v, want %d samples (every message it received), none bad, percentiles in order", what, r.Latency, child.messages)
	}
}

// sameFileCounters checks a role's counters in the file against its
// child's own Stats, every one of them (a ring without telemetry has no
// histogram to check).
func sameFileCounters(t *testing.T, what string, r ringstat.Role, child peerStats) {
	t.Helper()
	for name, want := range child.all {
		if got, ok := r.Counters[name]; !ok || got != want {
			t.Errorf("%s: %s in the file = %d (present: %v), the child's Stats say %d", what, name, got, ok, want)
		}
	}
}

func lag(r ringstat.Role) uint64 {
	if r.Lag == nil {
		return ^uint64(0)
	}
	return *r.Lag
}

func cursor(r ringstat.Role) uint64 {
	if r.Cursor == nil {
		return ^uint64(0)
	}
	return *r.Cursor
}

func TestStatLsAndReadersReportWhatSPSCChildrenDid(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	dir := t.TempDir()
	path := filepath.Join(dir, "quotes")
	prod := startPeer(t, path, "spsc", "producer", "create")
	cons := startPeer(t, path, "spsc", "consumer", "open")
	sent := tell(t, prod, "send 10")
	got := tell(t, cons, "recv 4")

	s := stat(t, path)
	p, c := roleOf(t, &s, "producer", 0), roleOf(t, &s, "consumer", 0)
	if s.State != ringstat.OK || s.Kind != "spsc" || s.Published != sent.messages || s.Consumed != got.messages || s.Backlog != 6 {
		t.Errorf("stat: state %s kind %s published %d consumed %d backlog %d, want ok spsc %d %d 6",
			s.State, s.Kind, s.Published, s.Consumed, s.Backlog, sent.messages, got.messages)
	}
	if !p.Live || !c.Live || cursor(p) != 10 || cursor(c) != 4 || lag(c) != 6 {
		t.Errorf("roles %+v %+v: want both live, cursors 10 and 4, consumer lag 6", p, c)
	}
	sameCounters(t, "spsc producer", p, sent)
	sameCounters(t, "spsc consumer", c, got)
	out, _, code := ringctl(t, "stat", path)
	for _, want := range []string{"ok", "published 10, consumed 4, backlog 6", "consumer  0      yes   yes",
		"telemetry:  every message stamped", "LATENCY", "messages=10", "messages=4", "p99="} {
		if code != exitOK || !strings.Contains(out, want) {
			t.Errorf("stat table (exit %d) lacks %q:\n%s", code, want, out)
		}
	}

	var ls lsJSON
	if code := ringctlJSON(t, &ls, "ls", dir); code != exitOK || len(ls.Rings) != 1 || ls.Rings[0].Name != path || ls.Rings[0].State != ringstat.OK {
		t.Errorf("ls -o json: exit %d, %+v: want one ring %s, ok", code, ls.Rings, path)
	}
	out, _, _ = ringctl(t, "ls", dir)
	if !strings.Contains(out, path) || !strings.Contains(out, "producer live, consumer live") || !strings.Contains(out, "16x64B") {
		t.Errorf("ls table lacks the ring, its holders or geometry:\n%s", out)
	}
	var rd readersJSON
	if code := ringctlJSON(t, &rd, "readers", path); code != exitOK || len(rd.Readers) != 1 || lag(rd.Readers[0]) != 6 {
		t.Errorf("readers: exit %d %+v, want the consumer with lag 6", code, rd)
	}

	// While they stream, every look sees a sound ring whose frontiers only
	// move forward; once both stop, the file holds exactly their counts.
	if err := prod.WriteLine("stream"); err != nil {
		t.Fatal(err)
	}
	if err := cons.WriteLine("drain"); err != nil {
		t.Fatal(err)
	}
	last := s
	var lastSent, lastGot, lastSamples uint64
	for range 20 {
		s := stat(t, path)
		if s.State != ringstat.OK || s.Published < last.Published || s.Consumed < last.Consumed || s.Consumed > s.Published || s.Backlog > s.Slots {
			t.Fatalf("while streaming: %s published %d consumed %d backlog %d after %d %d", stateLine(&s), s.Published, s.Consumed, s.Backlog, last.Published, last.Consumed)
		}
		// The stored counters and the histogram only grow. (They are read
		// after the cursors, while the children move on: no bound against
		// this snapshot's cursors holds.)
		// A block caught mid-store on every try has no counters this time.
		sent, okP := roleOf(t, &s, "producer", 0).Counters["messages"]
		got, okC := roleOf(t, &s, "consumer", 0).Counters["messages"]
		samples := roleOf(t, &s, "consumer", 0).Latency.Count
		if !okP || !okC {
			sent, got = max(sent, lastSent), max(got, lastGot)
		}
		if sent < lastSent || got < lastGot || samples < lastSamples {
			t.Fatalf("while streaming: messages stored %d sent, %d received, %d samples, after %d, %d, %d; cursors %d and %d",
				sent, got, samples, lastSent, lastGot, lastSamples, s.Published, s.Consumed)
		}
		last, lastSent, lastGot, lastSamples = s, sent, got, samples
	}
	sent = readStats(t, prod, "stop")
	eventually(t, "the consumer drained the ring", func() bool { return stat(t, path).Backlog == 0 })
	got = readStats(t, cons, "stop")
	s = stat(t, path)
	if sent.messages <= 10 || s.Published != sent.messages || s.Consumed != got.messages || got.messages != sent.messages {
		t.Errorf("after streaming: published %d consumed %d; the children sent %d and received %d", s.Published, s.Consumed, sent.messages, got.messages)
	}
	sameCounters(t, "spsc producer after streaming", roleOf(t, &s, "producer", 0), sent)
	sameCounters(t, "spsc consumer after streaming", roleOf(t, &s, "consumer", 0), got)
}

// readStats sends line to a child busy with stream or drain and reads the
// stats it answers with when it stops.
func readStats(t *testing.T, c *proctest.Child, line string) peerStats {
	t.Helper()
	return tell(t, c, line)
}

func TestStatReportsMPMCEntriesCounts(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	path := filepath.Join(t.TempDir(), "jobs")
	p0 := startPeer(t, path, "mpmc", "producer", "create")
	p1 := startPeer(t, path, "mpmc", "producer", "open")
	c0 := startPeer(t, path, "mpmc", "consumer", "open")
	s0, s1 := tell(t, p0, "send 5"), tell(t, p1, "send 7")
	sc := tell(t, c0, "recv 9")

	s := stat(t, path)
	if s.State != ringstat.OK || s.Published != 12 || s.Consumed != 9 || s.Backlog != 3 {
		t.Errorf("stat: %s published %d consumed %d backlog %d, want ok 12 9 3", stateLine(&s), s.Published, s.Consumed, s.Backlog)
	}
	for _, x := range []struct {
		c    *proctest.Child
		role string
		want peerStats
	}{{p0, "producer", s0}, {p1, "producer", s1}, {c0, "consumer", sc}} {
		r := roleOf(t, &s, x.role, x.c.Pid())
		if !r.Live {
			t.Errorf("%s of pid %d is not live", x.role, x.c.Pid())
		}
		sameCounters(t, "mpmc "+x.role, r, x.want)
	}
	out, _, _ := ringctl(t, "ls", filepath.Dir(path))
	if !strings.Contains(out, "producers 2 live, consumers 1 live") {
		t.Errorf("ls table lacks the holders:\n%s", out)
	}

	p1.Kill()
	p1.Wait()
	s = stat(t, path)
	if r := roleOf(t, &s, "producer", p1.Pid()); r.Live || !r.Attached || s.State != ringstat.OK || !strings.Contains(s.Problem, "died without closing") {
		t.Errorf("after kill -9 of a producer: %s, its role %+v: want ok, the role attached and not live", stateLine(&s), r)
	}

	// Every consumer dead, a producer live: it can only fill the ring, then
	// gets ErrPeerDead. Stuck, though the ring is not full (it was ok, from
	// a black-box tester).
	c0.Kill()
	c0.Wait()
	if s = stat(t, path); s.State != ringstat.Stuck || !strings.Contains(s.Problem, "every consumer died") {
		t.Errorf("after kill -9 of the only consumer, a producer live: %s, want stuck: every consumer died", stateLine(&s))
	}

	// And the mirror, on another ring: every producer dead, a consumer
	// live: it can only drain the ring, then gets ErrPeerDead (from a
	// reviewer).
	other := filepath.Join(filepath.Dir(path), "jobs2")
	p2 := startPeer(t, other, "mpmc", "producer", "create")
	startPeer(t, other, "mpmc", "consumer", "open")
	tell(t, p2, "send 3")
	p2.Kill()
	p2.Wait()
	if s = stat(t, other); s.State != ringstat.Stuck || !strings.Contains(s.Problem, "every producer died") {
		t.Errorf("after kill -9 of the only producer, a consumer live: %s, want stuck: every producer died", stateLine(&s))
	}
}

func TestReadersReportBroadcastLagAndMisses(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	path := filepath.Join(t.TempDir(), "ticks")
	prod := startPeer(t, path, "broadcast", "producer", "create")
	lossy := startPeer(t, path, "broadcast", "lossy", "open")
	tell(t, prod, "send 40") // 16 slots: the lossy reader is lapped
	ly := tell(t, lossy, "recv 5")
	lossless := startPeer(t, path, "broadcast", "lossless", "open")
	ll := tell(t, lossless, "recv 6")
	if ly.missed == 0 {
		t.Fatalf("the lossy reader missed nothing after 40 messages into 16 slots")
	}

	var rd readersJSON
	if code := ringctlJSON(t, &rd, "readers", path); code != exitOK || rd.Kind != "broadcast" || len(rd.Readers) != 2 {
		t.Fatalf("readers: exit %d %+v: want two readers of a broadcast ring", code, rd)
	}
	s := ringstat.Snapshot{Roles: rd.Readers}
	for _, x := range []struct {
		c      *proctest.Child
		policy string
		st     peerStats
	}{{lossy, "lossy", ly}, {lossless, "lossless", ll}} {
		r := roleOf(t, &s, "reader", x.c.Pid())
		if !r.Live || r.Policy != x.policy || r.Counters["received"] != x.st.messages || r.Counters["missed"] != x.st.missed || lag(r) != 40-cursor(r) {
			t.Errorf("%s reader %+v: want live, received %d and missed %d (the child's own counts), lag 40-cursor", x.policy, r, x.st.messages, x.st.missed)
		}
		sameCounters(t, x.policy+" reader", r, x.st)
	}
	if ly.all["lapped"] == 0 {
		t.Errorf("the lossy reader says it was never lapped, yet missed %d", ly.missed)
	}
	if r := roleOf(t, &s, "reader", lossless.Pid()); lag(r) != 10 {
		t.Errorf("the lossless reader started 16 back from 40 and read 6: lag %d, want 10", lag(r))
	}
	out, _, _ := ringctl(t, "readers", path)
	if !strings.Contains(out, "lossless") || !strings.Contains(out, "missed=") || !strings.Contains(out, "lapped=") || !strings.Contains(out, "p99=") {
		t.Errorf("readers table:\n%s", out)
	}

	lossy.Kill()
	lossy.Wait()
	s = stat(t, path)
	if r := roleOf(t, &s, "reader", lossy.Pid()); r.Live || !r.Attached || s.State != ringstat.OK {
		t.Errorf("after kill -9 of the lossy reader: %s, its entry %+v: want ok, attached, not live", stateLine(&s), r)
	}
}

// TestLsHoldersLeavesOutRolesNeverTaken: HOLDERS says "-" for a ring whose
// roles were never taken, whatever its kind (the SPSC and broadcast
// producers' words are always in the file, MPMC entries only once taken),
// and "free" for a role taken and closed, in every kind alike.
func TestLsHoldersLeavesOutRolesNeverTaken(t *testing.T) {
	dir := t.TempDir()
	kinds := map[string]ring.Options{
		"spsc":      {Kind: ring.SPSC, SlotSize: 8, Slots: 4},
		"mpmc":      {Kind: ring.MPMC, SlotSize: 8, Slots: 4, MaxProducers: 2, MaxConsumers: 2},
		"mpsc":      {Kind: ring.MPSC, SlotSize: 8, Slots: 4, MaxProducers: 2},
		"broadcast": {Kind: ring.Broadcast, SlotSize: 8, Slots: 4, MaxReaders: 2},
	}
	for _, taken := range []bool{false, true} {
		for kind, o := range kinds {
			path := filepath.Join(dir, fmt.Sprintf("%s-%v", kind, taken))
			r, err := ring.Create(path, o)
			if err != nil {
				t.Fatal(err)
			}
			if taken {
				p, err := r.Producer()
				if err != nil {
					t.Fatal(err)
				}
				p.Close()
			}
			r.Close()
			s := stat(t, path)
			want := "-"
			switch {
			case taken && (kind == "spsc" || kind == "broadcast"):
				want = "producer free"
			case taken:
				want = "producers free"
			}
			if got := holders(&s); got != want {
				t.Errorf("%s ring, producer taken and closed %v: HOLDERS %q, want %q", kind, taken, got, want)
			}
		}
	}
}

// TestOddNamesAreEscapedInText: anyone may name a file in /dev/shm, a
// newline, a tab or a terminal escape included. ls, stat, readers and rm
// print such a name escaped (as tail prints a message), so it neither
// breaks a table into lines nor reaches the terminal; -o json carries it
// as JSON escapes it. They used to print it raw. (From a black-box
// tester.)
func TestOddNamesAreEscapedInText(t *testing.T) {
	dir := t.TempDir()
	odd := filepath.Join(dir, "odd\nname\twith\x1b[31mred")
	r, err := ring.Create(odd, ring.Options{Kind: ring.Broadcast, SlotSize: 8, Slots: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	escaped := `odd\nname\twith\x1b[31mred`
	for _, args := range [][]string{{"ls", dir}, {"stat", odd}, {"readers", odd}} {
		out, errs, _ := ringctl(t, args...)
		if !strings.Contains(out, escaped) || strings.ContainsAny(out+errs, "\x1b") || strings.Contains(out, "odd\n") {
			t.Errorf("ringctl %s: want the name escaped (%s), never raw:\n%s%s", args[0], escaped, out, errs)
		}
	}
	r.Close()
	out, errs, code := ringctl(t, "rm", odd)
	if code != exitOK || out != "removed "+filepath.Join(dir, escaped)+"\n" || errs != "" {
		t.Errorf("ringctl rm: exit %d, stdout %q, stderr %q: want one escaped line", code, out, errs)
	}
	_, errs, _ = ringctl(t, "rm", odd)
	if !strings.Contains(errs, escaped) || strings.Count(errs, "\n") != 1 {
		t.Errorf("ringctl rm of the removed name: stderr %q, want one line with the name escaped", errs)
	}
}
