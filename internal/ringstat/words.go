package ringstat

import (
	"encoding/binary"
	"sync/atomic"
	"unsafe"
)

// words is where the control area's live words are read from: the
// read-only mapping of a ring file, or (for tests and the fuzzer) bytes.
// Offsets are file offsets; the caller never asks past the control area,
// whose size the validated header gives.
type words interface {
	u32(off uint64) uint32
	u64(off uint64) uint64
}

// byteWords reads words from a private copy of the file's first bytes.
type byteWords []byte

func (b byteWords) u32(off uint64) uint32 { return binary.LittleEndian.Uint32(b[off:]) }
func (b byteWords) u64(off uint64) uint64 { return binary.LittleEndian.Uint64(b[off:]) }

// mappedWords reads the live words of a read-only shared mapping with single
// atomic loads: a cursor another process stores while it is read is seen
// whole, before or after, never torn (LAYOUT.md section 1). Every offset it
// is given is a multiple of the word's size (layout's align test), and the
// mapping starts on a page, so the loads are aligned.
type mappedWords []byte

func (m mappedWords) u32(off uint64) uint32 {
	_ = m[off+3]
	return atomic.LoadUint32((*uint32)(unsafe.Pointer(&m[off])))
}

func (m mappedWords) u64(off uint64) uint64 {
	_ = m[off+7]
	return atomic.LoadUint64((*uint64)(unsafe.Pointer(&m[off])))
}

// loadFence orders every load before it (a payload copy) before every load
// after it (the re-check of a slot's sequence), on every architecture: an
// atomic read-modify-write, here on a word of our own, is a full barrier
// (LAYOUT.md section 14.6 asks for one; an acquire load is not enough).
func loadFence() { fenceWord.Add(1) }

var fenceWord atomic.Uint64
