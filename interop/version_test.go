package interop

// Layout version 3 added the end unit. A ring file of version 2 (as the Go
// package wrote it before: FileSize without the end unit) is a version
// error for the C and Python openers, as for Go's, and a file the current
// ring.Create made opens in both.

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/layout"
	"github.com/shmring/shmring/ring"
)

func TestOpenersRefuseVersion2AndOpenVersion3(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	dir := t.TempDir()
	for _, o := range []ring.Options{
		{Kind: ring.SPSC, SlotSize: 64, Slots: 1024},
		{Kind: ring.Broadcast, SlotSize: 64, Slots: 16, MaxReaders: 4},
	} {
		v3 := filepath.Join(dir, o.Kind.String()+"-v3")
		r, err := ring.Create(v3, o)
		if err != nil {
			t.Fatal(err)
		}
		r.Close()
		v2 := filepath.Join(dir, o.Kind.String()+"-v2")
		if err := os.WriteFile(v2, version2File(t, v3), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			path string
			want int
		}{{v3, vOK}, {v2, vVersion}} {
			if got, err := goOpenVerdict(c.path, ring.OpenOptions{}); got != c.want {
				t.Fatalf("%s: Go says %d (%v), want %d: the test is wrong", filepath.Base(c.path), got, err, c.want)
			}
			for _, lang := range []string{"c", "python"} {
				if got := verdictOf(t, lang, c.path); got != c.want {
					t.Errorf("%s: %s opener says %d, want %d", filepath.Base(c.path), lang, got, c.want)
				}
			}
		}
	}
}

// version2File is the version-2 file of the ring at v3: the same header
// with Version 2 and FileSize ending at the last slot (no end unit), its
// checksum made good, and the file that long.
func version2File(t *testing.T, v3 string) []byte {
	b, err := os.ReadFile(v3)
	if err != nil {
		t.Fatal(err)
	}
	h, err := layout.Decode(b[:layout.HeaderSize])
	if err != nil {
		t.Fatal(err)
	}
	size := h.SlotOffset(h.SlotCount) // the end of the slots: version 2's FileSize
	le := binary.LittleEndian
	le.PutUint32(b[layout.VersionOffset:], 2)
	le.PutUint64(b[layout.FileSizeOffset:], size)
	le.PutUint32(b[layout.ChecksumOffset:], layout.Checksum(b))
	return b[:size]
}
