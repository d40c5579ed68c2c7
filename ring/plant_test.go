package ring

import (
	"encoding/binary"
	"os"
	"testing"

	"github.com/shmring/shmring/layout"
)

// plantRing writes, at path, what a squatter or a buggy creator would: a
// valid, ready header for the ring p describes, in a file of the header's
// FileSize that is sparse (no page of it allocated), with the given mode.
// It returns the header; the caller removes the file.
func plantRing(t *testing.T, path string, p layout.Params, mode os.FileMode) layout.Header {
	t.Helper()
	hdr, err := layout.NewHeaderFor(p)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, layout.HeaderSize)
	hdr.Encode(buf)
	binary.LittleEndian.PutUint32(buf[layout.ReadyOffset:], layout.ReadyValue)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(buf, 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(int64(hdr.FileSize)); err != nil {
		t.Fatal(err)
	}
	if err := f.Chmod(mode); err != nil {
		t.Fatal(err)
	}
	return hdr
}
