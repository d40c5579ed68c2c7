//go:build linux

package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shmring/shmring/internal/launch"
	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/internal/ringstat"
	"github.com/shmring/shmring/layout"
	"github.com/shmring/shmring/ring"
)

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// actions is gc's or rm's verdict per ring name.
func actions(res removalsJSON) map[string]string {
	m := map[string]string{}
	for _, r := range res.Rings {
		m[filepath.Base(r.Name)] = r.Action
	}
	return m
}

// TestGcRemovesExactlyTheRingsWhoseHoldersAreDead: rings whose every
// holder (and creator) was killed with SIGKILL go; a ring with one live
// holder, even beside dead ones, stays; an idle ring whose creator is
// still running stays unless --idle; --dry-run removes nothing.
func TestGcRemovesExactlyTheRingsWhoseHoldersAreDead(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	dir := t.TempDir()
	at := func(name string) string { return filepath.Join(dir, name) }

	// dead-spsc and dead-bcast: every holder killed.
	var killed []*proctest.Child
	killed = append(killed, startPeer(t, at("dead-spsc"), "spsc", "producer", "create"),
		startPeer(t, at("dead-spsc"), "spsc", "consumer", "open"),
		startPeer(t, at("dead-bcast"), "broadcast", "producer", "create"),
		startPeer(t, at("dead-bcast"), "broadcast", "lossy", "open"))
	// held-spsc: a live producer. held-mpmc: one producer killed, the
	// consumer alive.
	startPeer(t, at("held-spsc"), "spsc", "producer", "create")
	killed = append(killed, startPeer(t, at("held-mpmc"), "mpmc", "producer", "create"))
	heldMPMC := startPeer(t, at("held-mpmc"), "mpmc", "consumer", "open")
	// idle: made by this (live) process, no role taken.
	r, err := ring.Create(at("idle"), ring.Options{Kind: ring.SPSC, SlotSize: 8, Slots: 4})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	for _, c := range killed {
		c.Kill()
		c.Wait()
	}

	var res removalsJSON
	if code := ringctlJSON(t, &res, "gc", dir, "--dry-run"); code != exitOK {
		t.Fatalf("gc --dry-run: exit %d", code)
	}
	want := map[string]string{"dead-spsc": "would-remove", "dead-bcast": "would-remove", "held-spsc": "kept", "held-mpmc": "kept", "idle": "kept"}
	if got := actions(res); !mapsEqual(got, want) {
		t.Fatalf("gc --dry-run: %v, want %v", got, want)
	}
	for name := range want {
		if !exists(at(name)) {
			t.Fatalf("gc --dry-run removed %s", name)
		}
	}

	out, _, code := ringctl(t, "gc", dir)
	for name, w := range want {
		if gone := !exists(at(name)); gone != (w == "would-remove") {
			t.Errorf("after gc: %s removed=%v, want %v\n%s", name, gone, w == "would-remove", out)
		}
	}
	if code != exitOK || !strings.Contains(out, "removed") {
		t.Errorf("gc: exit %d\n%s", code, out)
	}

	heldMPMC.Kill()
	heldMPMC.Wait()
	if code := ringctlJSON(t, &res, "gc", dir, "--idle"); code != exitOK {
		t.Fatalf("gc --idle: exit %d", code)
	}
	want = map[string]string{"held-spsc": "kept", "held-mpmc": "removed", "idle": "removed"}
	if got := actions(res); !mapsEqual(got, want) {
		t.Errorf("gc --idle once the MPMC consumer was killed: %v, want %v", got, want)
	}
	if !exists(at("held-spsc")) || exists(at("held-mpmc")) || exists(at("idle")) {
		t.Errorf("after gc --idle: held-spsc must stay, held-mpmc and idle go")
	}
}

func mapsEqual(a, b map[string]string) bool {
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

func TestRmWarnsAboutAHeldRingAndKeepsIt(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	dir := t.TempDir()
	held, dead := filepath.Join(dir, "held"), filepath.Join(dir, "dead")
	startPeer(t, held, "spsc", "producer", "create")
	c := startPeer(t, dead, "broadcast", "producer", "create")
	c.Kill()
	c.Wait()

	out, errs, code := ringctl(t, "rm", held, dead)
	if code != exitHeld || !strings.Contains(errs, "warning: "+held+" not removed: held by a live process") || !exists(held) {
		t.Errorf("rm of a held ring: exit %d, stderr %q, exists %v: want exit %d, a warning, the file kept", code, errs, exists(held), exitHeld)
	}
	if exists(dead) || !strings.Contains(out, "removed "+dead) {
		t.Errorf("rm of a dead ring beside it: exists %v, stdout %q: want it removed", exists(dead), out)
	}

	var res removalsJSON
	if code := ringctlJSON(t, &res, "rm", held, "--force"); code != exitOK || exists(held) || actions(res)["held"] != "removed" || !strings.Contains(res.Rings[0].Reason, "held by a live process") {
		t.Errorf("rm --force of a held ring: exit %d %+v exists %v: want it removed, with the warning", code, res, exists(held))
	}

	_, errs, code = ringctl(t, "rm", filepath.Join(dir, "nothing"))
	if code != exitFailed || !strings.Contains(errs, "no such ring") {
		t.Errorf("rm of a missing ring: exit %d %q, want %d and 'no such ring'", code, errs, exitFailed)
	}
	other := filepath.Join(dir, "notes.txt")
	os.WriteFile(other, []byte("not a ring"), 0o600)
	_, errs, code = ringctl(t, "rm", other)
	if code != exitBadFile || !exists(other) || !strings.Contains(errs, "not a ring file") {
		t.Errorf("rm of a file that is not a ring: exit %d %q exists %v: want %d, kept", code, errs, exists(other), exitBadFile)
	}
	if _, _, code := ringctl(t, "rm", "--force", other); code != exitOK || exists(other) {
		t.Errorf("rm --force of a file that is not a ring: exit %d, exists %v: want it removed", code, exists(other))
	}
}

// TestRmKeepsAFileWithoutAWholeHeaderUnlessForced: an empty file (a
// creator that has not sized its ring yet) or one shorter than a header
// has no magic to say it is a ring: rm keeps it and exits 3, --force
// removes it.
func TestRmKeepsAFileWithoutAWholeHeaderUnlessForced(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"wttools-empty", nil},
		{"wttools-short", []byte(layout.Magic)},
	} {
		path := filepath.Join(dir, tc.name)
		if err := os.WriteFile(path, tc.data, 0o600); err != nil {
			t.Fatal(err)
		}
		_, errs, code := ringctl(t, "rm", path)
		if code != exitBadFile || !exists(path) || !strings.Contains(errs, "--force removes it anyway") {
			t.Errorf("rm of a %d-byte file: exit %d %q exists %v: want %d, kept", len(tc.data), code, errs, exists(path), exitBadFile)
		}
		if _, _, code := ringctl(t, "rm", "--force", path); code != exitOK || exists(path) {
			t.Errorf("rm --force of a %d-byte file: exit %d, exists %v: want it removed", len(tc.data), code, exists(path))
		}
	}
}

// TestRmForceRemovesWhatIsNotARingButNeverADirectory: a symbolic link, a
// FIFO and a socket at a ring's name are kept with the advice that --force
// removes them, and --force does (a link itself, never the ring it leads
// to); a directory and a process's descriptor link are refused with or
// without --force, in words, never with the advice nor a bare errno.
func TestRmForceRemovesWhatIsNotARingButNeverADirectory(t *testing.T) {
	dir := t.TempDir()
	at := func(name string) string { return filepath.Join(dir, name) }
	r, err := ring.Create(at("target"), ring.Options{Kind: ring.SPSC, SlotSize: 8, Slots: 4})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	if err := os.Symlink(at("target"), at("link")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(at("fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: at("sock"), Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	if err := os.Mkdir(at("dir"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"link", "fifo", "sock"} {
		_, errs, code := ringctl(t, "rm", at(name))
		if code != exitBadFile || !exists(at(name)) || !strings.Contains(errs, "--force removes it anyway") {
			t.Errorf("rm of a %s: exit %d %q exists %v: want %d, kept, the advice", name, code, errs, exists(at(name)), exitBadFile)
		}
		if _, errs, code := ringctl(t, "rm", "--force", at(name)); code != exitOK || exists(at(name)) {
			t.Errorf("rm --force of a %s: exit %d %q exists %v: want it removed", name, code, errs, exists(at(name)))
		}
	}
	if !exists(at("target")) {
		t.Errorf("rm --force of a symbolic link removed the ring it led to")
	}

	f, err := os.Open(at("target"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, c := range []struct{ path, want string }{
		{at("dir"), "a directory: ringctl does not remove directories"},
		{fmt.Sprintf("/proc/self/fd/%d", f.Fd()), "a process's descriptor link, not a name of the ring: removing it would remove nothing; the ring file it leads to is " + at("target")},
	} {
		for _, args := range [][]string{{"rm", c.path}, {"rm", "--force", c.path}} {
			_, errs, code := ringctl(t, args...)
			if code != exitFailed || !strings.Contains(errs, c.want) || strings.Contains(errs, "--force") {
				t.Errorf("%v: exit %d %q: want %d and %q, no advice of --force", args, code, errs, exitFailed, c.want)
			}
		}
	}
	if !exists(at("dir")) || !exists(at("target")) {
		t.Errorf("the directory or the ring behind the descriptor link was removed")
	}
}

// TestGcBrokenListsButNeverRemovesAnEmptyFile: an empty file may be a ring
// whose creator died before sizing it (stat: not-ready), or any other
// program's file in /dev/shm: nothing in it tells which. gc --broken lists
// one, old or new, as kept, saying why and how to remove it by name, and
// removes nothing but rings; gc without --broken does not look at them.
// So with a file shorter than a ring header that starts with the magic, or
// with part of it: gc --broken removed a file holding "S", "SHM" or the
// magic and 92 more bytes as a corrupt ring, where rm keeps it without
// --force (a black-box tester).
func TestGcBrokenListsButNeverRemovesAnEmptyFile(t *testing.T) {
	dir := t.TempDir()
	at := func(name string) string { return filepath.Join(dir, name) }
	old := time.Now().Add(-5 * time.Minute)
	for name, data := range map[string]string{"empty-old": "", "empty-new": "", "notes-old": "not a ring",
		"s-old": "S", "shm-old": "SHM", "magic-short-old": layout.Magic + strings.Repeat("x", 92)} {
		if err := os.WriteFile(at(name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(name, "-old") {
			if err := os.Chtimes(at(name), old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	var res removalsJSON
	if code := ringctlJSON(t, &res, "gc", dir, "--dry-run"); code != exitOK ||
		!mapsEqual(actions(res), map[string]string{"magic-short-old": "kept"}) {
		t.Errorf("gc --dry-run: exit %d %v: want only the one with the magic looked at, and kept", code, actions(res))
	}
	if code := ringctlJSON(t, &res, "gc", dir, "--broken"); code != exitOK ||
		!mapsEqual(actions(res), map[string]string{"empty-old": "kept", "empty-new": "kept", "magic-short-old": "kept"}) {
		t.Errorf("gc --broken: exit %d %v: want both empty files and the short one with the magic listed and kept", code, actions(res))
	}
	for _, r := range res.Rings {
		if !strings.Contains(r.Reason, "rm --force") {
			t.Errorf("gc --broken keeps %s saying %q, want how to remove it", r.Name, r.Reason)
		}
	}
	for _, name := range []string{"empty-old", "empty-new", "notes-old", "s-old", "shm-old", "magic-short-old"} {
		if !exists(at(name)) {
			t.Errorf("gc --broken removed %s, a file that is not surely a ring", name)
		}
	}
}

// TestABrokenRingAProcessStillHoldsIsHeld: a ring truncated under a live
// holder keeps the holder's locks, which are the kernel's and not the
// file's: stat says held, ls's HOLDERS says so although the roles can no
// longer be read, and gc --broken --dry-run keeps it, as gc --broken then
// does. They used to say "held: no", "-" and would-remove. (From a
// black-box tester.)
func TestABrokenRingAProcessStillHoldsIsHeld(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	dir := t.TempDir()
	path := filepath.Join(dir, "cut")
	startPeer(t, path, "spsc", "producer", "create")
	if err := os.Truncate(path, 4096); err != nil {
		t.Fatal(err)
	}
	out, _, _ := ringctl(t, "stat", path)
	if !strings.Contains(out, "truncated") || !regexp.MustCompile(`held:\s+yes`).MatchString(out) {
		t.Errorf("stat of a held ring truncated under its holder: want truncated and held: yes:\n%s", out)
	}
	out, _, _ = ringctl(t, "ls", path)
	if !regexp.MustCompile(`\sheld\s+truncated`).MatchString(out) {
		t.Errorf("ls of a held ring truncated under its holder: want HOLDERS held:\n%s", out)
	}
	var res removalsJSON
	if code := ringctlJSON(t, &res, "gc", dir, "--broken", "--dry-run"); code != exitOK || actions(res)["cut"] != "kept" {
		t.Errorf("gc --broken --dry-run: exit %d %+v: want the held ring kept", code, res)
	}
	if code := ringctlJSON(t, &res, "gc", dir, "--broken"); code != exitOK || actions(res)["cut"] != "kept" || !exists(path) {
		t.Errorf("gc --broken: exit %d %+v: want the held ring kept", code, res)
	}
}

// TestGcKeepsARingAProcessHasOpenThoughItsCreatorIsGone: the creator's pid
// is its number in its own PID namespace, so "no such pid here" proves
// nothing; a ring whose roles were all closed, whose creator was killed,
// and which another process still has open (a Ring with no role, as a
// process in another container would) is kept, and goes once that process
// is gone too. gc removed it, and took a process in another PID namespace
// for gone. (From a black-box tester.)
func TestGcKeepsARingAProcessHasOpenThoughItsCreatorIsGone(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	path := filepath.Join(t.TempDir(), "open")
	creator := startPeer(t, path, "spsc", "producer", "create")
	opener := startPeer(t, path, "spsc", "consumer", "open")
	tell(t, creator, "close")
	tell(t, opener, "close") // the Ring stays open in the process, with no role
	creator.Kill()
	creator.Wait()
	var res removalsJSON
	if code := ringctlJSON(t, &res, "gc", filepath.Dir(path)); code != exitOK || actions(res)["open"] != "kept" || !exists(path) || !strings.Contains(res.Rings[0].Reason, "has the file open") {
		t.Fatalf("gc with a process holding the ring open: exit %d, %+v, exists %v: want it kept, saying why", code, res, exists(path))
	}
	opener.Kill()
	opener.Wait()
	// A process that has the file open only to read it (ringctl tail,
	// stat --watch, a monitor) can use nothing of it: the ring is dead all
	// the same. It read as idle, and gc kept it, for as long as someone
	// watched it (a black-box tester).
	observer := exec.Command("sh", "-c", `exec 3<"$1"; echo ready; exec sleep 600`, "sh", path)
	observer.Stdin = nil
	stdout, err := observer.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := observer.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { observer.Process.Kill(); observer.Wait() })
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("observer: %q, %v", line, err)
	}
	// In a PID namespace other than the first (a container), nobody's
	// having the file open cannot be told: the ring stays.
	var ns syscall.Stat_t
	want := "removed"
	if syscall.Stat("/proc/self/ns/pid", &ns) != nil || ns.Ino != 0xEFFFFFFC {
		want = "kept"
	}
	if code := ringctlJSON(t, &res, "gc", filepath.Dir(path)); code != exitOK || actions(res)["open"] != want || exists(path) != (want == "kept") {
		t.Errorf("gc once no process has the ring open but one reading it, and its creator is gone: exit %d, %+v, exists %v: want it %s", code, res, exists(path), want)
	}
}

// mapper maps the file at its first argument, closes its descriptor, says
// "ready" and holds the mapping until stdin ends: read-only, as an
// observer (ringctl tail) maps a ring, or with a second argument "rw"
// writable, as a process that uses the ring with no descriptor open does
// (shmring's own clients keep theirs).
func mapper() int {
	a := proctest.Args()
	flag, prot := os.O_RDONLY, syscall.PROT_READ
	if len(a) > 1 && a[1] == "rw" {
		flag, prot = os.O_RDWR, syscall.PROT_READ|syscall.PROT_WRITE
	}
	f, err := os.OpenFile(a[0], flag, 0)
	if err != nil {
		return fail("open: %v", err)
	}
	mem, err := syscall.Mmap(int(f.Fd()), 0, 4096, prot, syscall.MAP_SHARED)
	f.Close()
	if err != nil {
		return fail("mmap: %v", err)
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	runtime.KeepAlive(mem)
	return 0
}

// TestGcKeepsARingAProcessHasOnlyMapped: a process that mapped a ring
// writable and closed its descriptor uses it as much as one that keeps the
// descriptor: gc keeps the ring while the mapping lasts. It looked only at
// descriptors, called the ring dead, and removed it. (From a black-box
// tester.)
func TestGcKeepsARingAProcessHasOnlyMapped(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	var ns syscall.Stat_t
	if syscall.Stat("/proc/self/ns/pid", &ns) != nil || ns.Ino != 0xEFFFFFFC {
		t.Skip("outside the first PID namespace gc keeps such a ring anyway (the creator may live elsewhere): nothing to tell apart")
	}
	path := filepath.Join(t.TempDir(), "mapped")
	creator := startPeer(t, path, "spsc", "producer", "create")
	m := proctest.Start(t, "mapper", path, "rw")
	m.Expect("ready")
	tell(t, creator, "close")
	creator.Kill()
	creator.Wait()
	var res removalsJSON
	if code := ringctlJSON(t, &res, "gc", filepath.Dir(path)); code != exitOK || actions(res)["mapped"] != "kept" || !exists(path) {
		t.Fatalf("gc with a process holding only a mapping of the ring: exit %d, %+v, exists %v: want it kept", code, res, exists(path))
	}
	m.Kill()
	m.Wait()
	if code := ringctlJSON(t, &res, "gc", filepath.Dir(path)); code != exitOK || actions(res)["mapped"] != "removed" || exists(path) {
		t.Errorf("gc once the mapping is gone: exit %d, %+v, exists %v: want it removed", code, res, exists(path))
	}
}

// TestGcCountsARingGoneMeanwhileAsNoFailure: a dead ring that another gc
// (or its owner) removed between this gc's look and its removal is gone,
// not a failure: two gc runs at once both exited 1 (a black-box tester).
func TestGcCountsARingGoneMeanwhileAsNoFailure(t *testing.T) {
	var f gcFlags
	s := &ringstat.Snapshot{Name: "x", Path: filepath.Join(t.TempDir(), "x"), State: ringstat.Dead}
	if rm := f.collect(s, time.Now()); rm.Action != "gone" {
		t.Fatalf("gc of a ring removed meanwhile: %+v, want action gone", rm)
	}
}

// supervisedRingAfterAKill makes a ring whose creator (the supervisor it
// returns) gave its role up and keeps the Ring open, and whose worker was
// killed holding the other role.
func supervisedRingAfterAKill(t *testing.T) (string, *proctest.Child) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "supervised")
	supervisor := startPeer(t, path, "spsc", "consumer", "create")
	tell(t, supervisor, "close") // gives its role up, keeps the Ring open
	worker := startPeer(t, path, "spsc", "producer", "open")
	worker.Kill()
	worker.Wait()
	return path, supervisor
}

// TestGcKeepsARingAProcessStillHasOpenAfterAHolderDied: a process that
// created a ring and still has it open (a supervisor that gives the roles
// to workers) keeps it idle when a worker holding a role is killed, and gc
// leaves it; once that process is gone too the ring is dead and gc removes
// it, though a read-only observer (here a process that maps it read-only,
// as ringctl tail does) still looks at it. gc used to remove it at once, so
// that the supervisor's next worker found no ring by its name (a black-box
// tester); an observer must not keep a crashed ring from gc (a reviewer).
func TestGcKeepsARingAProcessStillHasOpenAfterAHolderDied(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	path, supervisor := supervisedRingAfterAKill(t)

	var s ringstat.Snapshot
	ringctlJSON(t, &s, "stat", path)
	observer := proctest.Start(t, "mapper", path)
	observer.Expect("ready")
	if s.State != ringstat.Idle || !strings.Contains(s.Problem, "died without closing") || !strings.Contains(s.Problem, "open for writing") {
		t.Errorf("a killed holder beside a process with the file open: state %q (%s), want idle, saying both", s.State, s.Problem)
	}
	var res removalsJSON
	if code := ringctlJSON(t, &res, "gc", filepath.Dir(path)); code != exitOK || actions(res)["supervised"] != "kept" || !exists(path) {
		t.Fatalf("gc: exit %d %+v, exists %v: want the ring kept", code, res, exists(path))
	}

	supervisor.Kill()
	supervisor.Wait()
	ringctlJSON(t, &s, "stat", path)
	if s.State != ringstat.Dead {
		t.Errorf("once the process with the file open is gone too: state %q (%s), want dead", s.State, s.Problem)
	}
	if code := ringctlJSON(t, &res, "gc", filepath.Dir(path)); code != exitOK || actions(res)["supervised"] != "removed" || exists(path) {
		t.Errorf("gc: exit %d %+v, exists %v: want the ring removed", code, res, exists(path))
	}
}

// TestGcInAnotherPIDNamespaceKeepsASupervisedRing: gc run in a PID
// namespace of its own (a container's) cannot see the supervisor that
// keeps a ring open after a worker holding a role was killed, and so keeps
// the ring, saying why; it removed it as dead (a black-box tester). The
// child runs under unshare(1) with a /proc of its own, which needs root.
func TestGcInAnotherPIDNamespaceKeepsASupervisedRing(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	if os.Geteuid() != 0 {
		t.Skip("needs root, to run gc in a PID namespace of its own")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skipf("needs unshare(1): %v", err)
	}
	path, _ := supervisedRingAfterAKill(t)

	cmd := proctest.Command(t, "ringctl", "gc", "-o", "json", filepath.Dir(path))
	cmd.Args = append([]string{unshare, "--pid", "--fork", "--mount-proc"}, cmd.Args...)
	cmd.Path = unshare
	// The child cannot see this process in its namespace: it must not
	// take its parent for gone.
	cmd.Env = slices.DeleteFunc(cmd.Env, func(e string) bool { return strings.HasPrefix(e, launch.ParentEnv+"=") })
	c := proctest.StartCommand(t, "gc in a PID namespace of its own", cmd)
	var out strings.Builder
	for {
		line, err := c.ReadLine()
		if err != nil {
			t.Fatalf("no exit code: %v\n%s\n%s", err, out.String(), c.Stderr())
		}
		if strings.HasPrefix(line, "exit ") {
			break
		}
		out.WriteString(line + "\n")
	}
	if err := c.Wait(); err != nil {
		t.Fatal(err)
	}
	var res removalsJSON
	if err := json.Unmarshal([]byte(out.String()), &res); err != nil {
		t.Fatalf("gc -o json: %v\n%s", err, out.String())
	}
	if actions(res)["supervised"] != "kept" || !exists(path) {
		t.Fatalf("gc in a PID namespace of its own: %+v, exists %v: want the ring kept", res, exists(path))
	}
	if !strings.Contains(res.Rings[0].Reason, "cannot see every process") {
		t.Errorf("gc kept the ring saying %q, want why", res.Rings[0].Reason)
	}
}

// TestRmSaysWhatItCannotTell: a name no ring can have is a bad command
// line (exit 2, as stat says) and nothing named beside it is removed; a
// ring this user cannot read is kept (exit 3) saying so, where rm said it
// had no whole header and that --force would remove it. (From a black-box
// tester.) The unreadable case runs rm as uid 65534 through setpriv(1).
func TestRmSaysWhatItCannotTell(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	name := fmt.Sprintf("ringctl-rm-%d", os.Getpid())
	r, err := ring.Create(name, ring.Options{Kind: ring.SPSC, SlotSize: 8, Slots: 4})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	t.Cleanup(func() { ring.Remove(name) })
	path := filepath.Join(ringstat.ShmDir, name)

	for _, bad := range []string{"../x", ".", "rel/x"} {
		_, errs, code := ringctl(t, "rm", name, bad)
		if code != exitUsage || !exists(path) || !strings.Contains(errs, bad) {
			t.Errorf("rm %s %s: exit %d %q, ring kept %v: want exit %d naming %s, nothing removed", name, bad, code, errs, exists(path), exitUsage, bad)
		}
	}

	c := asNobody(t, "rm as another user", "rm", name)
	line, err := c.ReadLine()
	if err != nil {
		t.Fatalf("no exit code: %v\n%s", err, c.Stderr())
	}
	if err := c.Wait(); err != nil {
		t.Fatal(err)
	}
	if line != fmt.Sprintf("exit %d", exitBadFile) || !exists(path) || !strings.Contains(c.Stderr(), "cannot be read") || strings.Contains(c.Stderr(), "no whole ring header") {
		t.Errorf("rm of a ring this user cannot read: %q, stderr %q, kept %v: want exit %d, kept, saying it cannot be read", line, c.Stderr(), exists(path), exitBadFile)
	}

	// With --force, where this user may unlink it (a directory it may
	// write, not sticky), it goes: rm failed opening it to probe its locks
	// (a black-box tester).
	unreadable := filepath.Join(publicDir(t, "ringctl-rm-", 0o777), "ring")
	if r, err = ring.Create(unreadable, ring.Options{Kind: ring.SPSC, SlotSize: 8, Slots: 4}); err != nil {
		t.Fatal(err)
	}
	r.Close()
	c = asNobody(t, "rm --force as another user", "rm", "--force", unreadable)
	removed, _ := c.ReadLine()
	if line, err = c.ReadLine(); err != nil || removed != "removed "+unreadable || line != "exit 0" || exists(unreadable) {
		t.Errorf("rm --force of a ring this user cannot read but may unlink: %q (%v), stderr %q, exists %v: want exit 0, removed", line, err, c.Stderr(), exists(unreadable))
	}
	if err := c.Wait(); err != nil {
		t.Fatal(err)
	}
}

// TestGcDryRunKeepsADescriptorLinkAsGcDoes: gc of a /proc/PID/fd directory
// finds a memfd ring through its holder's descriptor link, which no
// removal can remove. --dry-run said it would remove it (idle, --idle),
// and gc itself then failed on it, exit 1 (a black-box tester): both now
// keep it, saying why.
func TestGcDryRunKeepsADescriptorLinkAsGcDoes(t *testing.T) {
	r, err := ring.Create("gc-dry-run-link", ring.Options{Kind: ring.SPSC, SlotSize: 8, Slots: 4, Memfd: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	link := fmt.Sprintf("/proc/self/fd/%d", r.File().Fd())
	for _, dry := range []bool{true, false} {
		args := []string{"gc", "/proc/self/fd", "--idle"}
		if dry {
			args = append(args, "--dry-run")
		}
		var res removalsJSON
		code := ringctlJSON(t, &res, args...)
		var got *removal
		for i := range res.Rings {
			if res.Rings[i].Path == link {
				got = &res.Rings[i]
			}
		}
		if code != exitOK || got == nil || got.Action != "kept" || !strings.Contains(got.Reason, "descriptor link") {
			t.Errorf("%v: exit %d, the memfd ring's link %+v: want exit 0 and it kept, saying it is a descriptor link", args, code, got)
		}
	}
}
