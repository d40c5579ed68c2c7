//go:build linux

package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/internal/ringstat"
	"github.com/shmring/shmring/layout"
	"github.com/shmring/shmring/ring"
)

// brokenRings writes, beside one sound ring, a file for each way a ring
// file can be broken, and returns the state each must be reported in.
func brokenRings(t *testing.T, dir string) map[string]ringstat.State {
	t.Helper()
	good := filepath.Join(dir, "good")
	r, err := ring.Create(good, ring.Options{Kind: ring.SPSC, SlotSize: 16, Slots: 8})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	h, err := layout.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, edit func(b []byte) []byte) {
		c := edit(append([]byte(nil), b...))
		if err := os.WriteFile(filepath.Join(dir, name), c, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	le := binary.LittleEndian
	write("bad-checksum", func(b []byte) []byte { b[layout.SlotSizeOffset]++; return b })
	write("foreign-version", func(b []byte) []byte { le.PutUint32(b[layout.VersionOffset:], 99); return b })
	write("short", func(b []byte) []byte { return b[:len(b)/2] })
	write("header-only", func(b []byte) []byte { return b[:100] }) // corrupt, as ring.Open says: no whole header
	write("end-mark-gone", func(b []byte) []byte { clear(b[h.EndOffset:]); return b })
	write("not-ready", func(b []byte) []byte { le.PutUint32(b[layout.ReadyOffset:], 0); return b })
	write("bad-ready", func(b []byte) []byte { le.PutUint32(b[layout.ReadyOffset:], 7); return b })
	write("cursors", func(b []byte) []byte { le.PutUint64(b[layout.ConsumerCursorOffset:], 5); return b })
	write("state-bits", func(b []byte) []byte { le.PutUint32(b[layout.ProducerStateOffset:], 0x80); return b })
	write("notes.txt", func([]byte) []byte { return []byte("no ring here") })
	return map[string]ringstat.State{
		"good": ringstat.Idle, "bad-checksum": ringstat.Corrupt, "foreign-version": ringstat.ForeignVersion,
		"short": ringstat.Truncated, "header-only": ringstat.Corrupt, "end-mark-gone": ringstat.Truncated,
		"not-ready": ringstat.NotReady, "bad-ready": ringstat.Corrupt, "cursors": ringstat.Corrupt, "state-bits": ringstat.Corrupt,
	}
}

// TestLsAndStatReportBrokenFiles: every broken file gets its state and a
// reason, ls and stat exit 3, a sound ring beside them still exits 0, and
// a file without the magic is listed only with --all.
func TestLsAndStatReportBrokenFiles(t *testing.T) {
	dir := t.TempDir()
	want := brokenRings(t, dir)
	var ls lsJSON
	if code := ringctlJSON(t, &ls, "ls", dir); code != exitBadFile {
		t.Errorf("ls of a directory with broken rings: exit %d, want %d", code, exitBadFile)
	}
	got := map[string]ringstat.State{}
	for _, s := range ls.Rings {
		got[filepath.Base(s.Path)] = s.State
		if s.State != ringstat.Idle && s.Problem == "" {
			t.Errorf("%s: state %s without a reason", s.Name, s.State)
		}
	}
	if !mapsEqualStates(got, want) {
		t.Errorf("ls states %v, want %v", got, want)
	}
	out, _, _ := ringctl(t, "ls", dir)
	for name, st := range want {
		if !strings.Contains(out, filepath.Join(dir, name)) || !strings.Contains(out, string(st)) {
			t.Errorf("ls table lacks %s in state %s:\n%s", name, st, out)
		}
	}
	if strings.Contains(out, "notes.txt") {
		t.Errorf("ls lists a file that is not a ring:\n%s", out)
	}
	if out, _, _ := ringctl(t, "ls", "--all", dir); !strings.Contains(out, "notes.txt") || !strings.Contains(out, "not-a-ring") {
		t.Errorf("ls --all lacks the file that is not a ring:\n%s", out)
	}

	for name, st := range want {
		var s statJSON
		code := ringctlJSON(t, &s, "stat", filepath.Join(dir, name))
		wantCode := exitBadFile
		if name == "good" {
			wantCode = exitOK
		}
		if code != wantCode || s.State != st {
			t.Errorf("stat %s: exit %d state %s (%s), want exit %d state %s", name, code, s.State, s.Problem, wantCode, st)
		}
		if out, _, code := ringctl(t, "stat", filepath.Join(dir, name)); code != wantCode || !strings.Contains(out, "state:") || !strings.Contains(out, string(st)) {
			t.Errorf("stat %s table: exit %d\n%s", name, code, out)
		}
	}
	// readers too; on a file whose header was not read it showed an
	// empty kind, "ring X (): ..." (a black-box tester).
	for _, name := range []string{"notes.txt", "header-only", "not-ready", "foreign-version"} {
		if out, _, code := ringctl(t, "readers", filepath.Join(dir, name)); code != exitBadFile || strings.Contains(out, "()") {
			t.Errorf("readers %s: exit %d, want %d, and no empty kind:\n%s", name, code, exitBadFile, out)
		}
	}
	if _, errs, code := ringctl(t, "stat", filepath.Join(dir, "missing")); code != exitFailed || !strings.Contains(errs, "not exist") {
		t.Errorf("stat of a missing ring: exit %d %q, want %d", code, errs, exitFailed)
	}
	if _, errs, code := ringctl(t, "stat", "../relative"); code != exitUsage || !strings.Contains(errs, "relative path") {
		t.Errorf("stat of a relative path (a bad argument): exit %d %q, want %d", code, errs, exitUsage)
	}
	if _, _, code := ringctl(t, "stat"); code != exitUsage {
		t.Errorf("stat without a name: exit %d, want %d", code, exitUsage)
	}
	if _, errs, code := ringctl(t, "stat", filepath.Join(dir, "good"), "--count", "2"); code != exitUsage || !strings.Contains(errs, "--watch") {
		t.Errorf("stat --count without --watch: exit %d %q, want %d naming --watch (it was taken and ignored)", code, errs, exitUsage)
	}
	if _, errs, code := ringctl(t, "tail", filepath.Join(dir, "bad-checksum")); code != exitBadFile || !strings.Contains(errs, "corrupt") {
		t.Errorf("tail of a corrupt ring: exit %d %q, want %d", code, errs, exitBadFile)
	}
}

func mapsEqualStates(a, b map[string]ringstat.State) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestStatWatchPrintsRates: --watch --count 3 prints three snapshots, the
// later ones with rates.
func TestStatWatchPrintsRates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r")
	r, err := ring.Create(path, ring.Options{Kind: ring.SPSC, SlotSize: 16, Slots: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	out, _, code := ringctl(t, "stat", path, "--watch", "--interval", "10ms", "--count", "3", "-o", "json")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != exitOK || len(lines) != 3 || strings.Contains(lines[0], `"rates"`) || !strings.Contains(lines[2], `"rates"`) {
		t.Errorf("stat --watch --count 3 -o json: exit %d, %d lines, want 3, rates from the second on:\n%s", code, len(lines), out)
	}
	out, _, code = ringctl(t, "stat", path, "--watch", "--interval", "10ms", "--count", "2")
	if code != exitOK || strings.Count(out, "--- ") != 2 || !strings.Contains(out, "rates:") {
		t.Errorf("stat --watch table: exit %d\n%s", code, out)
	}
}

// TestStatWatchSaysARingWasCreatedAnew: a ring removed and created again
// at the name while --watch looks is shown as created anew, with no rates
// across the two (they came out as 0, silently; a black-box tester), and
// the watch goes on through the looks that find no file at the name or a
// file not ready yet, as a creator leaves it (the watch ended there, exit
// 1 or 3; a black-box tester).
func TestStatWatchSaysARingWasCreatedAnew(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	path := filepath.Join(t.TempDir(), "r")
	create := func() {
		r, err := ring.Create(path, ring.Options{Kind: ring.SPSC, SlotSize: 16, Slots: 8})
		if err != nil {
			t.Fatal(err)
		}
		r.Close()
	}
	create()
	ctx, cancel := context.WithCancel(context.Background())
	var out proctest.Buffer
	done := background(ctx, &out, "stat", path, "--watch", "--interval", "5ms", "-o", "json")
	lines := func() int { return strings.Count(out.String(), "\n") }
	running := func(what string) {
		select {
		case code := <-done:
			t.Fatalf("the watch ended (exit %d) %s:\n%s", code, what, out.String())
		default:
		}
	}
	eventually(t, "a first snapshot", func() bool { return lines() >= 1 })
	if err := ring.Remove(path); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // several looks find no file
	running("when the file was removed")
	if err := os.WriteFile(path, nil, 0o600); err != nil { // a creator between open and sizing
		t.Fatal(err)
	}
	eventually(t, "a look at the file not ready", func() bool { return strings.Contains(out.String(), `"state":"not-ready"`) })
	running("at a file not ready")
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	create()
	eventually(t, "the new ring seen", func() bool { return strings.Contains(out.String(), `"recreated":true`) })
	running("once the ring was back")
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("the watch stopped by its context: exit %d, want 0", code)
	}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if strings.Contains(line, `"recreated":true`) && strings.Contains(line, `"rates"`) {
			t.Errorf("a snapshot of the ring created anew has rates across the two rings: %s", line)
		}
	}
}

// TestStatWatchWaitsForARingNotCreatedYet: --watch on a name with no file
// yet goes on, one {"missing": true} line a look with -o json, until a
// ring is created there; a watch whose last look found none exits 1. The
// first look had to find one: the watch ended at once, exit 1, although
// the help says it goes on while there is no file at the name (a
// black-box tester).
func TestStatWatchWaitsForARingNotCreatedYet(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	path := filepath.Join(t.TempDir(), "r")
	out, _, code := ringctl(t, "stat", path, "--watch", "--count", "2", "--interval", "1ms", "-o", "json")
	if code != exitFailed || strings.Count(out, `"missing":true`) != 2 {
		t.Fatalf("stat --watch --count 2 on no file: exit %d, want 1 and two missing lines:\n%s", code, out)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var buf proctest.Buffer
	done := background(ctx, &buf, "stat", path, "--watch", "--interval", "5ms", "-o", "json")
	eventually(t, "a look that finds no file", func() bool { return strings.Contains(buf.String(), `"missing":true`) })
	r, err := ring.Create(path, ring.Options{Kind: ring.SPSC, SlotSize: 16, Slots: 8})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	eventually(t, "the ring once created", func() bool { return strings.Contains(buf.String(), `"kind":"spsc"`) })
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("the watch stopped by its context: exit %d, want 0\n%s", code, buf.String())
	}
}

// TestStatLeavesPositionsItCouldNotReadUnknown: a file not read as far as
// its control area (truncated, not ready) has no published, consumed or
// backlog figure: null in JSON and "unknown" in the table, never a 0 that
// was not read; a file whose control area was read shows its figures, a
// sound ring's 0 and a corrupt one's wrong cursor alike.
func TestStatLeavesPositionsItCouldNotReadUnknown(t *testing.T) {
	dir := t.TempDir()
	brokenRings(t, dir)
	for _, tc := range []struct {
		name     string
		consumed any // nil: unknown
	}{
		{"short", nil}, {"end-mark-gone", nil}, {"not-ready", nil},
		{"good", 0.0}, {"cursors", 5.0},
	} {
		path := filepath.Join(dir, tc.name)
		out, _, _ := ringctl(t, "stat", path, "-o", "json")
		var m map[string]any
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("stat %s -o json: %v\n%s", tc.name, err, out)
		}
		for _, k := range []string{"published", "consumed", "backlog"} {
			if v, ok := m[k]; !ok || tc.consumed == nil && v != nil {
				t.Errorf("stat %s -o json: %s = %v (present: %v), want null", tc.name, k, v, ok)
			}
		}
		if tc.consumed != nil && m["consumed"] != tc.consumed {
			t.Errorf("stat %s -o json: consumed = %v, want %v", tc.name, m["consumed"], tc.consumed)
		}
		text, _, _ := ringctl(t, "stat", path)
		// A not-ready file has no header to show, and no positions row.
		unknown, figures := strings.Contains(text, "positions:  unknown"), strings.Contains(text, "positions:  published")
		if tc.consumed == nil && (figures || tc.name != "not-ready" && !unknown) || tc.consumed != nil && (unknown || !figures) {
			t.Errorf("stat %s table: positions unknown %v, figures %v; want figures only when read:\n%s", tc.name, unknown, figures, text)
		}
	}
}

// TestLsTakesABareNameInDevShmAndListsPastAMissingOne: a bare name is the
// file in /dev/shm, as for stat and rm, whatever the working directory;
// among several names one that is not there is reported on stderr, the
// others are still listed, and ls exits 1.
func TestLsTakesABareNameInDevShmAndListsPastAMissingOne(t *testing.T) {
	name, path := closedRingInDevShm(t, "ls")

	var ls lsJSON
	if code := ringctlJSON(t, &ls, "ls", name); code != exitOK || len(ls.Rings) != 1 || ls.Rings[0].Name != name || ls.Rings[0].Path != path {
		t.Errorf("ls %s: exit %d %+v: want exit 0 and the ring %s, by its name", name, code, ls.Rings, path)
	}
	missing := path + "-missing"
	out, errs, code := ringctl(t, "ls", path, missing, name+"-missing")
	if code != exitFailed || !strings.Contains(out, path) || !strings.Contains(errs, "ringctl: ls "+missing+": no such file or directory") ||
		!strings.Contains(errs, "ringctl: ls "+name+"-missing: no such ring ("+missing+")") {
		t.Errorf("ls of a ring and two names not there: exit %d, stdout:\n%s\nstderr:\n%s\nwant exit %d, the ring listed, each missing one named", code, out, errs, exitFailed)
	}
}

// closedRingInDevShm creates a small ring by a bare name of its own
// (ringctl-test-WHAT-PID), closes it, and removes it when the test ends.
func closedRingInDevShm(t *testing.T, what string) (name, path string) {
	t.Helper()
	name = fmt.Sprintf("ringctl-test-%s-%d", what, os.Getpid())
	path = filepath.Join(ringstat.ShmDir, name)
	r, err := ring.Create(name, ring.Options{Kind: ring.SPSC, SlotSize: 8, Slots: 4})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	t.Cleanup(func() { os.Remove(path) })
	return name, path
}

// TestGcTakesABareNameInDevShm: gc's arguments are taken as ls takes
// them, a bare name being the ring of that name in /dev/shm, whatever the
// working directory. gc took it for a path there, and failed "no such
// file or directory" unless run from /dev/shm (a black-box tester).
func TestGcTakesABareNameInDevShm(t *testing.T) {
	name, path := closedRingInDevShm(t, "gc")

	var res removalsJSON
	code := ringctlJSON(t, &res, "gc", "--idle", "--dry-run", name)
	if code != exitOK || len(res.Rings) != 1 || res.Rings[0].Path != path || res.Rings[0].Action != "would-remove" {
		t.Errorf("gc --idle --dry-run %s: exit %d %+v: want exit 0 and the idle ring %s, would-remove", name, code, res.Rings, path)
	}
}

// TestJSONOutputOnAFailureBeforeAnyOutput: a command run with -o json
// that fails before it printed its document (a ring or directory not
// there) prints {"error", "exit"} on one line, so that a script reading
// its standard output always gets JSON. stat, readers, tail and gc
// printed nothing there (a black-box tester). An error that quotes a name
// with a quote or backslash in it is JSON too: the line was escaped once
// more for the terminal, which made it invalid (another tester).
func TestJSONOutputOnAFailureBeforeAnyOutput(t *testing.T) {
	missing := fmt.Sprintf("ringctl-test-missing-%d", os.Getpid())
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"stat", missing}, exitFailed},
		{[]string{"readers", missing}, exitFailed},
		{[]string{"tail", missing}, exitFailed},
		{[]string{"gc", "/nonexistent-" + missing}, exitFailed},
		{[]string{"stat", "/nonexistent-" + missing + `-"quoted"-\back`}, exitFailed},
		{[]string{"stat", "./" + missing}, exitUsage}, // the error quotes the name: "./…"
		{[]string{"rm", "./" + missing}, exitUsage},
	} {
		out, _, code := ringctl(t, append(tc.args, "-o", "json")...)
		var f failureJSON
		if err := json.Unmarshal([]byte(out), &f); err != nil || code != tc.code || f.Exit != code || f.Error == "" || strings.Count(out, "\n") != 1 {
			t.Errorf("%v -o json: exit %d, stdout %q (%v): want exit %d and one line of JSON saying the error and the exit code", tc.args, code, out, err, tc.code)
		}
		if name := tc.args[len(tc.args)-1]; !strings.Contains(f.Error, name) {
			t.Errorf("%v -o json: error %q does not name %q as given", tc.args, f.Error, name)
		}
		if i := strings.IndexFunc(out, isTerminalControl); i >= 0 {
			t.Errorf("%v -o json: stdout %q holds a raw control character at %d", tc.args, out, i)
		}
	}
}

// isTerminalControl: a rune a terminal may act on, which no output of
// ringctl may carry raw (JSON escapes the C0 controls itself).
func isTerminalControl(r rune) bool { return r < 0x20 && r != '\n' || r >= 0x7f && r <= 0x9f }

// TestJSONDocumentsEscapeWhatATerminalActsOn: a name is anyone's to choose
// in /dev/shm, and encoding/json leaves DEL and the C1 controls (U+009B is
// a CSI) raw: ls -o json, and the failure line, printed them to the
// terminal where sayf escaped them (a reviewer). They come out as \u00XX,
// the same string to a JSON reader.
func TestJSONDocumentsEscapeWhatATerminalActsOn(t *testing.T) {
	dir := t.TempDir()
	name := "ringctl-test-\u009b31m-\x7f-" + strconv.Itoa(os.Getpid())
	if err := os.WriteFile(filepath.Join(dir, name), []byte("not a ring"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"ls", dir, "--all"},
		{"stat", filepath.Join(dir, name+"-missing")},
	} {
		out, _, _ := ringctl(t, append(args, "-o", "json")...)
		if i := strings.IndexFunc(out, isTerminalControl); i >= 0 {
			t.Errorf("%v -o json: stdout %q holds a raw control character at %d", args, out, i)
		}
		var doc any
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Errorf("%v -o json: %q is not JSON: %v", args, out, err)
		}
		if !strings.Contains(fmt.Sprint(doc), name) {
			t.Errorf("%v -o json: %q does not name %q", args, out, name)
		}
	}
}

// TestLsOfADanglingSymbolicLinkSaysItIsALink: ls of a symbolic link that
// leads nowhere lists it as not a ring, a link, as stat does, not as a
// name with no file (a note of an earlier stop: "no such ring").
func TestLsOfADanglingSymbolicLinkSaysItIsALink(t *testing.T) {
	name := fmt.Sprintf("ringctl-test-dangling-%d", os.Getpid())
	path := filepath.Join(ringstat.ShmDir, name)
	if err := os.Symlink(path+"-nowhere", path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(path) })
	for _, arg := range []string{name, path} {
		out, errs, code := ringctl(t, "ls", arg)
		if code != exitBadFile || !strings.Contains(out, "not-a-ring: a symbolic link") {
			t.Errorf("ls %s of a dangling link: exit %d, stdout:\n%s\nstderr:\n%s\nwant exit %d and not-a-ring: a symbolic link", arg, code, out, errs, exitBadFile)
		}
	}
}

// TestLsJSONSaysWhatItCouldNotList: ls -o json of a directory that is not
// there exits 1 and says so in the document, not only on stderr: a script
// reading stdout took {"rings": []} for an empty directory (a black-box
// tester).
func TestLsJSONSaysWhatItCouldNotList(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "not-there")
	var ls lsJSON
	code := ringctlJSON(t, &ls, "ls", missing)
	if code != exitFailed || len(ls.Errors) != 1 || !strings.Contains(ls.Errors[0], "ls "+missing+": no such file or directory") {
		t.Errorf("ls -o json %s: exit %d, errors %q; want exit %d and the missing directory named", missing, code, ls.Errors, exitFailed)
	}
}

// TestLsSaysHowManyFilesItCouldNotRead: ls of a directory by a user who
// cannot read the rings in it (another user's, mode 0600) printed an empty
// list, exit 0, as for an empty directory (a black-box tester). It now says
// on stderr and in the JSON document's hidden_unreadable how many files it did not
// show; --all lists them. Runs ls as uid 65534 through setpriv(1).
func TestLsSaysHowManyFilesItCouldNotRead(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	dir := publicDir(t, "ringctl-ls-", 0o755)
	r, err := ring.Create(filepath.Join(dir, "ring"), ring.Options{Kind: ring.SPSC, SlotSize: 8, Slots: 4})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	lsAsNobody := func(args ...string) (stdout []string, stderr string) {
		c := asNobody(t, "ls as another user", args...)
		return linesOf(t, c), c.Stderr()
	}
	out, errs := lsAsNobody("ls", dir, "-o", "json")
	var ls lsJSON
	if len(out) < 2 || out[len(out)-1] != "exit 0" || json.Unmarshal([]byte(strings.Join(out[:len(out)-1], "\n")), &ls) != nil ||
		len(ls.Rings) != 0 || ls.HiddenUnreadable != 1 || !strings.Contains(errs, "1 file not shown: they could not be read") {
		t.Errorf("ls -o json %s as another user: %q, stderr %q: want exit 0, no rings, hidden_unreadable 1, and a note on stderr", dir, out, errs)
	}
	out, _ = lsAsNobody("ls", dir, "--all")
	if len(out) != 3 || !strings.Contains(out[1], "unreadable") {
		t.Errorf("ls --all %s as another user: %q: want the file listed as unreadable", dir, out)
	}
}

// TestStatOfARingThisUserCannotOpenSaysWhatItDoesNotKnow: a ring of
// root's, mode 0600, whose producer role this process holds, looked at by
// uid 65534. ringctl could not open it, so who holds it is unknown: held
// and creator_alive are null in JSON, not false (ringprom leaves its
// shmring_ring_held series out), and its size, which stat(2) gives
// without a right to read the file, is the file's. It said held false and
// file_size 0: a monitor alerting on "nobody holds the ring" fired while
// a live process held it (a black-box tester).
func TestStatOfARingThisUserCannotOpenSaysWhatItDoesNotKnow(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	path := filepath.Join(publicDir(t, "ringctl-stat-", 0o755), "ring")
	r, err := ring.Create(path, ring.Options{Kind: ring.SPSC, SlotSize: 8, Slots: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	p, err := r.Producer()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	c := asNobody(t, "stat as another user", "stat", "-o", "json", path)
	out := linesOf(t, c)
	var doc map[string]any
	if len(out) < 2 || out[len(out)-1] != "exit 3" || json.Unmarshal([]byte(strings.Join(out[:len(out)-1], "\n")), &doc) != nil {
		t.Fatalf("stat -o json as another user: %q, stderr %q: want a JSON document, exit 3", out, c.Stderr())
	}
	for key, want := range map[string]any{"state": "unreadable", "held": nil, "creator_alive": nil, "closed": nil, "file_size": float64(fi.Size())} {
		if got, ok := doc[key]; !ok || got != want {
			t.Errorf("stat -o json as another user: %s = %v (present %v), want %v", key, got, ok, want)
		}
	}
	// The exporter, as the same user: the state and the size, no held.
	srv := asNobody(t, "serve as another user", "serve", "--listen", "127.0.0.1:0", "--ring", path)
	defer srv.Kill()
	line, err := srv.ReadLine()
	addr, found := strings.CutPrefix(line, "serving metrics at ")
	if err != nil || !found {
		t.Fatalf("serve as another user said %q, %v; stderr %q", line, err, srv.Stderr())
	}
	resp, err := http.Get(addr)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	metrics := string(body)
	if !strings.Contains(metrics, `shmring_ring_state{kind="",ring="`+path+`",state="unreadable"} 1`) ||
		!strings.Contains(metrics, fmt.Sprintf(`shmring_ring_file_size_bytes{kind="",ring="%s"} %d`, path, fi.Size())) ||
		strings.Contains(metrics, "shmring_ring_held") {
		t.Errorf("metrics of a ring this user cannot open:\n%s\nwant state unreadable, its file size, and no shmring_ring_held", metrics)
	}
}

// publicDir makes a directory of mode (0755: every user may list and
// enter it; 0777: and write it), which t.TempDir's 0700 parent is not,
// removed when the test ends: where a ring of root's meets another user.
func publicDir(t *testing.T, pattern string, mode os.FileMode) string {
	t.Helper()
	dir, err := os.MkdirTemp("", pattern)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, mode); err != nil {
		t.Fatal(err)
	}
	return dir
}

// linesOf is every line a child prints, once it has exited.
func linesOf(t *testing.T, c *proctest.Child) []string {
	t.Helper()
	var lines []string
	for {
		line, err := c.ReadLine()
		if err != nil {
			break
		}
		lines = append(lines, line)
	}
	if err := c.Wait(); err != nil {
		t.Fatal(err)
	}
	return lines
}
