package ring

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/shmring/shmring/layout"
)

// A 32-bit process (386, arm) maps at most math.MaxInt32 bytes in one
// piece: the limit checkMapping enforces there. Checked here with that
// limit on any system.
func TestGeometryBeyondA32BitMappingIsRefused(t *testing.T) {
	const limit = math.MaxInt32
	tests := []struct {
		name string
		size uint64
		ok   bool
	}{
		{"a small ring fits", 74368, true},
		{"exactly the limit fits", limit, true},
		{"one byte more does not", limit + 1, false},
		{"4 GiB does not", 4 << 30, false},
		{"4 GiB + 1 MiB (what a truncating conversion would map as 1 MiB) does not", 4<<30 + 1<<20, false},
		{"the layout's largest file does not", layout.MaxFileSize, false},
	}
	for _, tt := range tests {
		err := checkMapping(tt.size, limit)
		if (err == nil) != tt.ok {
			t.Errorf("%s: checkMapping(%d, %d) = %v, want ok=%v", tt.name, tt.size, uint64(limit), err, tt.ok)
		}
	}
	if strconv.IntSize == 64 {
		if err := checkMapping(layout.MaxFileSize, maxMapping); err != nil {
			t.Errorf("on a 64-bit system the layout's largest file must fit a mapping: %v", err)
		}
	}
}

// On a 32-bit system, the real thing: a ring over 4 GiB is refused by
// Create (ErrInvalid, no file left) and, planted as a sparse file, by Open
// (ErrFileTooBig, nothing mapped), even when MaxFileSize allows it.
func TestGeometryBeyondTheAddressSpaceIsRefusedOn32Bit(t *testing.T) {
	if strconv.IntSize != 32 {
		t.Skipf("on a %d-bit system every ring the layout allows fits a mapping (TestGeometryBeyondA32BitMappingIsRefused checks the limit); run with GOARCH=386", strconv.IntSize)
	}
	big := Options{Kind: SPSC, SlotSize: 1 << 20, Slots: 1 << 12} // 4 GiB + 4 MiB + a little
	name := uniqueName(t)
	r, err := Create(name, big)
	if err == nil {
		r.Close()
		Remove(name)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("Create of a 4 GiB ring on a 32-bit system = %v, want ErrInvalid", err)
	}
	if _, err := os.Lstat(filepath.Join(shmDir, name)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused Create left a file behind (%v)", err)
	}
	if _, err := newHeapRing(name, big); !errors.Is(err, ErrInvalid) {
		t.Errorf("a 4 GiB heap ring on a 32-bit system = %v, want ErrInvalid", err)
	}

	path := filepath.Join(shmDir, name)
	plantRing(t, path, layout.Params{Kind: SPSC, SlotSize: 1 << 20, SlotCount: 1 << 12}, 0o600)
	defer os.Remove(path)
	openRefused(t, "a 4 GiB ring on a 32-bit system", name, OpenOptions{MaxFileSize: 1 << 40}, ErrFileTooBig)
}
