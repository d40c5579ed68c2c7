//go:build linux

package interop

// Layout version 4 added the counter area between the slots and the end
// unit (and record rings and telemetry: flags_test.go). A ring file of
// version 3 (as the Go package wrote it before: the end unit right after
// the slots) is a version error for the C and Python openers, as for Go's,
// and a file the current ring.Create made opens in both, with the counter
// area and the end unit where package layout puts them.

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/layout"
	"github.com/shmring/shmring/ring"
)

func TestOpenersRefuseVersion3AndOpenVersion4(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		o    ring.Options
	}{
		{"spsc", ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 1024}},
		{"broadcast", ring.Options{Kind: ring.Broadcast, SlotSize: 64, Slots: 16, MaxReaders: 4}},
		{"mpmc", ring.Options{Kind: ring.MPMC, SlotSize: 64, Slots: 16, MaxProducers: 3, MaxConsumers: 2}},
		// The slots end 128 bytes short of 64 KiB: the two counter blocks
		// push the end unit a whole EndAlign further than version 3 had it.
		{"spsc-blocks-past-a-page", ring.Options{Kind: ring.SPSC, SlotSize: 64784, Slots: 1}},
		// The stamps (one per slot) take the end unit a page further.
		{"spsc-telemetry", ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 8192, Telemetry: ring.Telemetry{SampleEvery: 1}}},
		{"broadcast-telemetry", ring.Options{Kind: ring.Broadcast, SlotSize: 64, Slots: 4096, MaxReaders: 3, Telemetry: ring.Telemetry{SampleEvery: 4}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			v4 := filepath.Join(dir, c.name+"-v4")
			r, err := ring.Create(v4, c.o)
			if err != nil {
				t.Fatal(err)
			}
			r.Close()
			h := headerOf(t, v4)
			v3 := filepath.Join(dir, c.name+"-v3")
			if err := os.WriteFile(v3, version3File(t, v4, h), 0o600); err != nil {
				t.Fatal(err)
			}
			if got, err := goOpenVerdict(v3, ring.OpenOptions{}); got != vVersion {
				t.Fatalf("version 3: Go says %d (%v), want %d: the test is wrong", got, err, vVersion)
			}
			want := fmt.Sprintf("ok kind=%d slots=%d flags=%d counters=%d end=%d file=%d", h.Kind, h.SlotCount,
				binary.LittleEndian.Uint32(fileHeader(t, v4)[layout.FlagsOffset:]), h.CountersOffset, h.EndOffset, h.FileSize)
			for _, lang := range []string{"c", "python"} {
				if got := verdictOf(t, lang, v3); got != vVersion {
					t.Errorf("version 3: %s opener says %d, want %d", lang, got, vVersion)
				}
				if got := runLines(t, lang, "open", v4); len(got) != 1 || got[0] != want {
					t.Errorf("version 4: %s opener says %q, want %q", lang, got, want)
				}
			}
		})
	}
}

func fileHeader(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b[:layout.HeaderSize]
}

// version3File is the version-3 file of the ring at v4: the same header
// with Version 3 and FileSize without the counter area (the end unit at the
// first EndAlign boundary after the slots), its checksum made good, and the
// file that long.
func version3File(t *testing.T, v4 string, h layout.Header) []byte {
	b, err := os.ReadFile(v4)
	if err != nil {
		t.Fatal(err)
	}
	end := (h.SlotOffset(h.SlotCount) + layout.EndAlign - 1) &^ (layout.EndAlign - 1)
	size := end + layout.EndSize
	le := binary.LittleEndian
	le.PutUint32(b[layout.VersionOffset:], 3)
	le.PutUint32(b[layout.FlagsOffset:], 0) // version 3 had no flags
	le.PutUint64(b[layout.FileSizeOffset:], size)
	le.PutUint32(b[layout.ChecksumOffset:], layout.Checksum(b))
	out := make([]byte, size)
	copy(out, b[:min(uint64(len(b)), size)])
	binary.LittleEndian.PutUint64(out[end:], layout.EndMark)
	return out
}
