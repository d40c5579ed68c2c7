//go:build linux

package fuzz

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"github.com/shmring/shmring/layout"
)

// An ownMapping is where a Ring maps its file in this process, found in
// /proc/self/maps, and its data area within. A slice a read hands out in
// place must lie in the data area: the counter area and the end unit after
// it are mapped too, so touching a slice that runs into them does not
// fault, and only its address tells.
type ownMapping struct {
	start, end   uintptr // the whole mapping
	dataLo, data uintptr // the data area: [dataLo, dataLo+data)
}

// findOwnMapping finds the Ring's mapping of the file at path: the one at
// file offset 0 that is not other (the test's own, hostile mapping).
func findOwnMapping(path string, other []byte, hdr layout.Header) (ownMapping, error) {
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return ownMapping{}, err
	}
	for line := range strings.SplitSeq(string(maps), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || f[2] != "00000000" {
			continue
		}
		if name := strings.Join(f[5:], " "); name != path && name != path+" (deleted)" {
			continue
		}
		lo, _, ok := strings.Cut(f[0], "-")
		start, err := strconv.ParseUint(lo, 16, 64)
		if !ok || err != nil {
			return ownMapping{}, fmt.Errorf("/proc/self/maps line %q", line)
		}
		if uintptr(start) == uintptr(unsafe.Pointer(unsafe.SliceData(other))) {
			continue
		}
		return ownMapping{start: uintptr(start), end: uintptr(start) + uintptr(hdr.FileSize),
			dataLo: uintptr(start) + uintptr(hdr.SlotsOffset), data: uintptr(hdr.SlotCount)}, nil
	}
	return ownMapping{}, fmt.Errorf("no mapping of %s but the test's own in /proc/self/maps", path)
}

// inData checks that m, if it points into the mapping (a copy does not),
// lies wholly in the data area.
func (o ownMapping) inData(m []byte) error {
	if len(m) == 0 {
		return nil
	}
	p := uintptr(unsafe.Pointer(unsafe.SliceData(m)))
	if p < o.start || p >= o.end {
		return nil // a copy
	}
	if p < o.dataLo || p-o.dataLo+uintptr(len(m)) > o.data {
		return fmt.Errorf("%d bytes at offset %d of the file: outside the data area [%d, %d)",
			len(m), p-o.start, o.dataLo-o.start, o.dataLo-o.start+o.data)
	}
	return nil
}
