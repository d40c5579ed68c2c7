//go:build linux

package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/internal/ringstat"
)

// An SPSC record ring held by two children: stat, ls and readers give its
// geometry as capacity and largest message, its cursors, backlog and lag in
// bytes (recordBytes a message), the producer's sequence word, and each
// role's counters exactly as the child's own Stats, in JSON and in the
// table; while they stream, every look finds a sound ring, and once they
// stop the file holds exactly their counts.
func TestStatLsAndReadersReportWhatSPSCRecordChildrenDid(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	dir := t.TempDir()
	path := filepath.Join(dir, "frames")
	prod := startPeer(t, path, "spsc-rec", "producer", "create")
	cons := startPeer(t, path, "spsc-rec", "consumer", "open")
	sent := tell(t, prod, "send 10")
	got := tell(t, cons, "recv 4")

	s := stat(t, path)
	p, c := roleOf(t, &s, "producer", 0), roleOf(t, &s, "consumer", 0)
	if s.State != ringstat.OK || s.Kind != "spsc" || !s.Records || s.Capacity != 512 || s.MaxMessage != 64 || s.Slots != 0 || s.Unit != "bytes" {
		t.Errorf("stat: %s kind %s records %v capacity %d max message %d slots %d unit %q, want ok spsc, a record ring of 512 B up to 64 B, in bytes",
			stateLine(&s), s.Kind, s.Records, s.Capacity, s.MaxMessage, s.Slots, s.Unit)
	}
	if s.Published != 10*recordBytes || s.Consumed != 4*recordBytes || s.Backlog != 6*recordBytes || s.Sequence != 10 {
		t.Errorf("stat: published %d consumed %d backlog %d sequence %d, want %d %d %d bytes and 10",
			s.Published, s.Consumed, s.Backlog, s.Sequence, 10*recordBytes, 4*recordBytes, 6*recordBytes)
	}
	if !p.Live || !c.Live || cursor(p) != 10*recordBytes || cursor(c) != 4*recordBytes || lag(c) != 6*recordBytes {
		t.Errorf("roles %+v %+v: want both live, cursors %d and %d, consumer lag %d", p, c, 10*recordBytes, 4*recordBytes, 6*recordBytes)
	}
	sameFileCounters(t, "spsc record producer", p, sent)
	sameFileCounters(t, "spsc record consumer", c, got)
	if sent.messages != 10 || sent.all["bytes"] != 50 || got.messages != 4 || got.all["bytes"] != 20 {
		t.Errorf("the children's Stats: sent %+v got %+v, want 10 messages of 5 bytes and 4", sent.all, got.all)
	}
	out, _, code := ringctl(t, "stat", path)
	for _, want := range []string{"spsc, records in 512 B, messages up to 64 B", "in bytes: published 320, consumed 128, backlog 192; next message #10",
		"CURSOR and LAG are in bytes", "messages=10", "messages=4", "bytes=50"} {
		if code != exitOK || !strings.Contains(out, want) {
			t.Errorf("stat table (exit %d) lacks %q:\n%s", code, want, out)
		}
	}
	var ls lsJSON
	if code := ringctlJSON(t, &ls, "ls", dir); code != exitOK || len(ls.Rings) != 1 || !ls.Rings[0].Records || ls.Rings[0].Capacity != 512 || ls.Rings[0].State != ringstat.OK {
		t.Errorf("ls -o json: exit %d, %+v: want one record ring of 512 B, ok", code, ls.Rings)
	}
	if out, _, _ := ringctl(t, "ls", dir); !strings.Contains(out, "512B<=64B") || !strings.Contains(out, "producer live, consumer live") {
		t.Errorf("ls table lacks the record ring's geometry or holders:\n%s", out)
	}
	var rd readersJSON
	if code := ringctlJSON(t, &rd, "readers", path); code != exitOK || len(rd.Readers) != 1 || lag(rd.Readers[0]) != 6*recordBytes {
		t.Errorf("readers: exit %d %+v, want the consumer with lag %d bytes", code, rd, 6*recordBytes)
	}
	// tail shows the messages the consumer has not taken, by sequence
	// number, and moves nothing.
	if out, errs, code := ringctl(t, "tail", path, "-n", "6", "--follow=false"); code != exitOK || strings.Count(out, " msg-") != 6 || strings.Contains(out, "not shown") {
		t.Errorf("tail of a record ring: exit %d, stdout %q stderr %q: want its unconsumed messages", code, out, errs)
	}
	if s2 := stat(t, path); s2.Published != s.Published || s2.Consumed != s.Consumed {
		t.Errorf("after tail: published %d consumed %d, want %d and %d", s2.Published, s2.Consumed, s.Published, s.Consumed)
	}

	if err := prod.WriteLine("stream"); err != nil {
		t.Fatal(err)
	}
	if err := cons.WriteLine("drain"); err != nil {
		t.Fatal(err)
	}
	last := s
	for range 10 {
		s := stat(t, path)
		if s.State != ringstat.OK || s.Published < last.Published || s.Consumed < last.Consumed || s.Consumed > s.Published ||
			s.Backlog > s.Capacity || s.Published%recordBytes != 0 || s.Sequence < last.Sequence {
			t.Fatalf("while streaming: %s published %d consumed %d backlog %d sequence %d after %d %d %d",
				stateLine(&s), s.Published, s.Consumed, s.Backlog, s.Sequence, last.Published, last.Consumed, last.Sequence)
		}
		last = s
	}
	sent = readStats(t, prod, "stop")
	eventually(t, "the consumer drained the ring", func() bool { return stat(t, path).Backlog == 0 })
	got = readStats(t, cons, "stop")
	s = stat(t, path)
	if sent.messages <= 10 || s.Published != sent.messages*recordBytes || s.Sequence != sent.messages || got.messages != sent.messages {
		t.Errorf("after streaming: published %d bytes, sequence %d; the children sent %d and received %d", s.Published, s.Sequence, sent.messages, got.messages)
	}
	sameFileCounters(t, "spsc record producer after streaming", roleOf(t, &s, "producer", 0), sent)
	sameFileCounters(t, "spsc record consumer after streaming", roleOf(t, &s, "consumer", 0), got)
}

// A broadcast record ring: readers gives each reader's lag in bytes and its
// counters (received, lapped, missed) as the child's own, in JSON and the
// table.
func TestReadersReportBroadcastRecordLagAndMisses(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	path := filepath.Join(t.TempDir(), "video")
	prod := startPeer(t, path, "broadcast-rec", "producer", "create")
	lossy := startPeer(t, path, "broadcast-rec", "lossy", "open")
	sent := tell(t, prod, "send 40") // 16 records in the ring: the lossy reader is lapped
	ly := tell(t, lossy, "recv 5")
	lossless := startPeer(t, path, "broadcast-rec", "lossless", "open")
	ll := tell(t, lossless, "recv 6")
	if ly.missed == 0 || ly.all["lapped"] == 0 {
		t.Fatalf("the lossy reader missed %d messages in %d laps after 40 messages into 16 records' room", ly.missed, ly.all["lapped"])
	}

	var rd readersJSON
	if code := ringctlJSON(t, &rd, "readers", path); code != exitOK || rd.Kind != "broadcast" || len(rd.Readers) != 2 {
		t.Fatalf("readers: exit %d %+v: want two readers of a broadcast ring", code, rd)
	}
	const end = 40 * recordBytes
	s := ringstat.Snapshot{Roles: rd.Readers}
	for _, x := range []struct {
		c      *proctest.Child
		policy string
		st     peerStats
	}{{lossy, "lossy", ly}, {lossless, "lossless", ll}} {
		r := roleOf(t, &s, "reader", x.c.Pid())
		if !r.Live || r.Policy != x.policy || r.Counters["received"] != x.st.messages || cursor(r)%recordBytes != 0 || lag(r) != end-cursor(r) {
			t.Errorf("%s reader %+v: want live, received %d (the child's own count), a record boundary, lag %d-cursor", x.policy, r, x.st.messages, end)
		}
		sameFileCounters(t, x.policy+" record reader", r, x.st)
	}
	// The lossy reader resumed at the message after the ones it missed:
	// its cursor is the records it missed and read, its lag the rest.
	if r := roleOf(t, &s, "reader", lossy.Pid()); cursor(r) != (ly.missed+ly.messages)*recordBytes {
		t.Errorf("lossy reader cursor %d, want %d: (missed %d + read %d) records", cursor(r), (ly.missed+ly.messages)*recordBytes, ly.missed, ly.messages)
	}
	st := stat(t, path)
	if st.State != ringstat.OK || !st.Records || st.Published != end || st.Sequence != sent.messages {
		t.Errorf("stat: %s records %v published %d sequence %d, want ok, a record ring, %d bytes and %d", stateLine(&st), st.Records, st.Published, st.Sequence, end, sent.messages)
	}
	sameFileCounters(t, "broadcast record producer", roleOf(t, &st, "producer", 0), sent)
	out, _, _ := ringctl(t, "readers", path)
	for _, want := range []string{"lossless", "missed=", "lapped=", "CURSOR and LAG are in bytes"} {
		if !strings.Contains(out, want) {
			t.Errorf("readers table lacks %q:\n%s", want, out)
		}
	}
}
