package interop

// Bad input at the openers: the C and Python openers give every corrupted,
// truncated, foreign or untrustworthy file the verdict the Go side gives it,
// and accept none of them.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/layout"
	"github.com/shmring/shmring/ring"
)

// Verdicts, as the C library's codes (python/tests/interop.py maps its
// exceptions onto the same numbers).
const (
	vOK       = 0
	vInvalid  = -1
	vNotExist = -2
	vNotReady = -3
	vVersion  = -4
	vUnsafe   = -5
	vMagic    = -6
	vGeometry = -7
	vChecksum = -8
	vReady    = -9
	vShort    = -10
	vSize     = -11
	vCorrupt  = -12
	// vTruncated: shorter than its header says (Go: ErrTruncated).
	vTruncated = -25
	// vFileTooBig: over the opener's cap (Go: ErrFileTooBig).
	vFileTooBig = -26
	// vUnsupported: a valid ring the C or Python library does not handle
	// (a record ring; the producer role of a ring with telemetry).
	vUnsupported = -27
	// vPeerDead: the other side's process died (Go: ErrPeerDead).
	vPeerDead = -19
	// vShortBuf: the caller's buffer is too small; the message stays.
	vShortBuf = -22
)

// goVerdict is what the Go opener decides about a file's bytes (ring's
// awaitHeader, then layout.Decode, then the size check), as a code.
func goVerdict(file []byte) int {
	switch {
	case len(file) == 0:
		return vNotReady // an empty file is a creator that has not sized it yet
	case len(file) < layout.HeaderSize:
		return vShort
	}
	h := file[:layout.HeaderSize]
	switch ready := binary.LittleEndian.Uint32(h[layout.ReadyOffset:]); {
	case ready == 0:
		if m := string(h[:layout.MagicSize]); m == layout.Magic || m == string(make([]byte, layout.MagicSize)) {
			return vNotReady
		}
		return vMagic
	case ready != layout.ReadyValue:
		return vReady
	}
	hdr, err := layout.Decode(h)
	switch {
	case errors.Is(err, layout.ErrMagic):
		return vMagic
	case errors.Is(err, layout.ErrVersion):
		return vVersion
	case errors.Is(err, layout.ErrGeometry):
		return vGeometry
	case errors.Is(err, layout.ErrChecksum):
		return vChecksum
	case err != nil:
		panic(err)
	}
	switch {
	case uint64(len(file)) < hdr.FileSize:
		return vTruncated
	case uint64(len(file)) != hdr.FileSize:
		return vSize
	}
	return vOK
}

// run runs one of the languages' interop programs to completion and returns
// its stdout lines.
func runLines(t *testing.T, lang string, args ...string) []string {
	t.Helper()
	c := start(t, lang, args...)
	var lines []string
	for {
		line, err := c.ReadLine()
		if err != nil {
			break
		}
		lines = append(lines, line)
	}
	if err := c.Wait(); err != nil {
		t.Fatalf("%s %q died: %v\n%s\nsaid %q", lang, args, err, c.Stderr(), lines)
	}
	return lines
}

// TestEverySingleByteHeaderCorruptionIsRefused changes each of the 128
// header bytes of a ring file to each of its 255 other values and has the C
// and Python openers open it: each must refuse it, with the verdict package
// layout gives those bytes (magic, version, geometry, checksum, ready word).
func TestEverySingleByteHeaderCorruptionIsRefused(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	kinds := []ring.Options{
		{Kind: ring.SPSC, SlotSize: 64, Slots: 16},
		{Kind: ring.Broadcast, SlotSize: 64, Slots: 16, MaxReaders: 4},
		{Kind: ring.MPMC, SlotSize: 64, Slots: 16, MaxProducers: 2, MaxConsumers: 2},
		// Version 4's Flags word: telemetry and its shift, and a record
		// ring, whose corruptions are corrupt, never "unsupported".
		{Kind: ring.SPSC, SlotSize: 64, Slots: 16, Telemetry: ring.Telemetry{SampleEvery: 4}},
		{Kind: ring.Broadcast, Records: true, Capacity: 4096, MaxReaders: 2},
	}
	for i, o := range kinds {
		for _, lang := range []string{"c", "python"} {
			t.Run(fmt.Sprintf("%d-%v/%s", i, o.Kind, lang), func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "ring")
				r, err := ring.Create(path, o)
				if err != nil {
					t.Fatal(err)
				}
				r.Close()
				file, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				lines := runLines(t, lang, "corrupt", path)
				if want := layout.HeaderSize * 255; len(lines) != want {
					t.Fatalf("%d verdicts, want %d", len(lines), want)
				}
				counts := map[int]int{}
				for _, line := range lines {
					var off, val, got int
					if _, err := fmt.Sscanf(line, "%d %d %d", &off, &val, &got); err != nil {
						t.Fatalf("line %q: %v", line, err)
					}
					bad := bytes.Clone(file)
					bad[off] = byte(val)
					want := goVerdict(bad)
					if want == vOK || got != want {
						t.Errorf("byte %d = %#02x: %s opener says %d, Go says %d", off, val, lang, got, want)
					}
					counts[got]++
				}
				t.Logf("%s: verdicts by code: %v", lang, counts)
			})
		}
	}
}

// TestTruncatedAndForeignFilesAreRefused: files that are not rings, or rings
// cut short or grown, get Go's verdict from both openers.
func TestTruncatedAndForeignFilesAreRefused(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	dir := t.TempDir()
	valid := filepath.Join(dir, "valid")
	r, err := ring.Create(valid, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 64})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	ringBytes, err := os.ReadFile(valid)
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.ReadFile(cInterop(t))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"empty":                 {},
		"one byte":              ringBytes[:1],
		"half a header":         ringBytes[:64],
		"header, no slots":      ringBytes[:layout.HeaderSize],
		"slots cut short":       ringBytes[:len(ringBytes)-8],
		"grown by a page":       append(bytes.Clone(ringBytes), make([]byte, 4096)...),
		"text":                  bytes.Repeat([]byte("not a ring, just text\n"), 200),
		"an executable":         exe,
		"zeros, ready word set": append(append(make([]byte, layout.ReadyOffset), 0x52, 0x44, 0x59, 0x21), make([]byte, 4096)...),
	}
	for what, b := range files {
		path := filepath.Join(dir, strings.ReplaceAll(what, " ", "-"))
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		want := goVerdict(b)
		if want == vOK {
			t.Fatalf("%s: Go accepts it; the test is wrong", what)
		}
		for _, lang := range []string{"c", "python"} {
			if got := verdictOf(t, lang, path); got != want {
				t.Errorf("%s: %s opener says %d, Go says %d", what, lang, got, want)
			}
		}
	}
	for _, lang := range []string{"c", "python"} {
		if got := verdictOf(t, lang, valid); got != vOK {
			t.Errorf("the valid ring: %s opener says %d", lang, got)
		}
	}
}

// verdictOf opens path with a language's opener and returns its code.
func verdictOf(t *testing.T, lang, path string, opts ...string) int {
	t.Helper()
	lines := runLines(t, lang, append([]string{"open", path}, opts...)...)
	if len(lines) != 1 {
		t.Fatalf("%s open %s: %q", lang, path, lines)
	}
	if strings.HasPrefix(lines[0], "ok ") {
		return vOK
	}
	code, err := strconv.Atoi(strings.Fields(lines[0])[0])
	if err != nil {
		t.Fatalf("%s open %s: %q", lang, path, lines[0])
	}
	t.Logf("%s %s: %s", lang, filepath.Base(path), lines[0])
	return code
}

// TestCNullArgumentsAreEInvalid: every public call of the C library given a
// NULL where it needs a pointer (or shmring_open_fd a negative
// descriptor) returns SHMRING_EINVAL (-1) instead of crashing the process; the calls that return a value give zero (NULL
// info, zero stats, lag and missed), and the close calls take NULL as
// free(3) does (0). And shmring_errdetail names an empty
// receive, not the misuse before it.
func TestCNullArgumentsAreEInvalid(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	name := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 8})
	c := start(t, "c", "nulls", name)
	for {
		line, err := c.ReadLine()
		if err != nil {
			t.Fatalf("the C library died on a NULL argument after the calls above: %v\n%s", err, c.Stderr())
		}
		if line == "done" {
			break
		}
		call, code, _ := strings.Cut(line, " ")
		if call == "detail" {
			if code != "ring: empty" {
				t.Errorf("shmring_errdetail after an empty receive that followed a misuse = %q, want \"ring: empty\"", code)
			}
			continue
		}
		if call == "closes" { // the header: as free(3) takes NULL
			if code != "0 0 0" {
				t.Errorf("the close calls of a NULL handle = %q, want 0 0 0", code)
			}
			continue
		}
		if want := "-1"; call != "zero" && code != want {
			t.Errorf("%s with a NULL argument = %s, want %s (SHMRING_EINVAL)", call, code, want)
		}
		if call == "zero" && code != "1 0" {
			t.Errorf("the value calls of a NULL handle are not all zero: %q", line)
		}
	}
	if err := c.Wait(); err != nil {
		t.Fatal(err)
	}
}

// TestCRingClosedBeforeItsHandles: shmring_close before the role handles'
// closes leaves them working on the mapping, which goes with the last of
// them, and opens no new handle (it unmapped under them, and the handle's
// close then crashed the process with SIGSEGV: a black-box tester).
func TestCRingClosedBeforeItsHandles(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	name := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 8})
	got := runLines(t, "c", "closeorder", name)
	want := []string{"handles after the ring's close 0 0 after", "new handle after the ring's close 1", "closes 0 0"}
	if !slices.Equal(got, want) {
		t.Fatalf("the C program said %q, want %q", got, want)
	}
}

// awaitOpenedBy waits until child has path open (a link in /proc/PID/fd
// names it), or has ended. The bound is a hang guard.
func awaitOpenedBy(t *testing.T, child *proctest.Child, path string) {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/fd", child.Pid())
	for guard := time.Now().Add(time.Minute); time.Now().Before(guard); time.Sleep(time.Millisecond) {
		select {
		case <-child.Done():
			return
		default:
		}
		links, _ := os.ReadDir(dir)
		for _, l := range links {
			if target, err := os.Readlink(filepath.Join(dir, l.Name())); err == nil && target == path {
				return
			}
		}
	}
	t.Fatalf("process %d never opened %s", child.Pid(), path)
}

// TestCOpenWaitsOutTheLongestTimeout: shmring_open with timeout_ns
// INT64_MAX waits for a creator that has not finished, as any long
// timeout does (the deadline overflowed, and it said ENOTREADY at once).
// The test marks the file ready only once the C side has the file open
// and, a while after, has said nothing.
func TestCOpenWaitsOutTheLongestTimeout(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	name := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 8})
	path := filepath.Join("/dev/shm", name)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ready := make([]byte, 4)
	if _, err := f.ReadAt(ready, layout.ReadyOffset); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(make([]byte, 4), layout.ReadyOffset); err != nil { // a creator at work
		t.Fatal(err)
	}
	c := start(t, "c", "open", name, "timeout=9223372036854775807")
	awaitOpenedBy(t, c, path)
	time.Sleep(50 * time.Millisecond) // with the overflow it has failed by now
	select {
	case <-c.Done():
		line, _ := c.ReadLine()
		t.Fatalf("shmring_open with timeout_ns INT64_MAX of a ring not ready yet returned at once: %q", line)
	default:
	}
	if _, err := f.WriteAt(ready, layout.ReadyOffset); err != nil {
		t.Fatal(err)
	}
	line, err := c.ReadLine()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(line, "ok ") {
		t.Fatalf("shmring_open with timeout_ns INT64_MAX of a ring made ready later = %q, want it open", line)
	}
	if err := c.Wait(); err != nil {
		t.Fatal(err)
	}
}
