package layout_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/shmring/shmring/layout"
	"github.com/shmring/shmring/ring"
)

// Reading a ring file's header as a tool in another language would: one
// private copy of its first HeaderSize bytes, decoded and checked, then
// the geometry taken from the decoded Header, never from the file again.
func ExampleDecode() {
	dir, err := os.MkdirTemp("", "example-layout-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	r, err := ring.Create(filepath.Join(dir, "quotes"), ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 1024})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()

	f, err := os.Open(r.Path())
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, layout.HeaderSize)
	if _, err := f.ReadAt(buf, 0); err != nil {
		log.Fatal(err)
	}
	h, err := layout.Decode(buf)
	if err != nil {
		log.Fatal(err) // layout.ErrMagic, ErrVersion, ErrGeometry, ErrChecksum, ...
	}
	fmt.Println(h.Kind, h.SlotSize, h.SlotCount, h.SlotsOffset%layout.PadUnit == 0)
	// Output: spsc 64 1024 true
}
