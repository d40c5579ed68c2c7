package shm

import (
	"math"
	"strconv"
	"testing"

	"github.com/shmring/shmring/layout"
)

// A 32-bit process (386, arm) maps at most math.MaxInt32 bytes in one
// piece: the limit mappable enforces there. Checked here with that
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
		err := mappable(tt.size, limit)
		if (err == nil) != tt.ok {
			t.Errorf("%s: mappable(%d, %d) = %v, want ok=%v", tt.name, tt.size, uint64(limit), err, tt.ok)
		}
	}
	if strconv.IntSize == 64 {
		if err := mappable(layout.MaxFileSize, maxMapping); err != nil {
			t.Errorf("on a 64-bit system the layout's largest file must fit a mapping: %v", err)
		}
	}
}
