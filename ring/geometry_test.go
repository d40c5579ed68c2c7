//go:build linux

package ring

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/shmring/shmring/internal/shm"
	"github.com/shmring/shmring/layout"
)

// On a 32-bit system, the real thing: a ring over 4 GiB is refused by
// Create (ErrInvalid, no file left) and, planted as a sparse file, by Open
// (ErrFileTooBig, nothing mapped), even when MaxFileSize allows it.
func TestGeometryBeyondTheAddressSpaceIsRefusedOn32Bit(t *testing.T) {
	if strconv.IntSize != 32 {
		t.Skipf("on a %d-bit system every ring the layout allows fits a mapping (internal/shm TestGeometryBeyondA32BitMappingIsRefused checks the limit); run with GOARCH=386", strconv.IntSize)
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
	if _, err := os.Lstat(filepath.Join(shm.Dir, name)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused Create left a file behind (%v)", err)
	}
	if _, err := newHeapRing(name, big); !errors.Is(err, ErrInvalid) {
		t.Errorf("a 4 GiB heap ring on a 32-bit system = %v, want ErrInvalid", err)
	}

	path := filepath.Join(shm.Dir, name)
	plantRing(t, path, layout.Params{Kind: SPSC, SlotSize: 1 << 20, SlotCount: 1 << 12}, 0o600)
	defer os.Remove(path)
	openRefused(t, "a 4 GiB ring on a 32-bit system", name, OpenOptions{MaxFileSize: 1 << 40}, ErrFileTooBig)
}
