package ring

import (
	"encoding/binary"
	"os"
	"testing"

	"github.com/shmring/shmring/layout"
)

// plantRing writes, at path, what a squatter or a buggy creator would: a
// valid, ready header for the ring p describes and its end mark, in a file
// of the header's FileSize that is otherwise sparse (no page between them
// allocated), with the given mode.
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
	mark := binary.LittleEndian.AppendUint64(nil, layout.EndMark)
	if _, err := f.WriteAt(mark, int64(hdr.EndOffset)); err != nil { // as a creator does (LAYOUT.md section 2)
		t.Fatal(err)
	}
	if err := f.Chmod(mode); err != nil {
		t.Fatal(err)
	}
	return hdr
}
