package shm

import (
	"fmt"
	"math"
	"strconv"
)

// maxMapping is the longest mapping this process can hold: a mapping is a
// []byte, whose length is an int. On 386 and arm that is 2 GiB - 1 (also
// about the most one piece of a 32-bit address space offers); on 64-bit
// systems it is far above any ring. Without this check a 32-bit process
// would map a truncated length and the engine, which trusts the header's
// offsets, would write past the mapping.
const maxMapping = math.MaxInt

// Mappable says why size bytes cannot be mapped by this process
// (ErrTooBig), or nil.
func Mappable(size uint64) error { return mappable(size, maxMapping) }

func mappable(size, limit uint64) error {
	if size <= limit {
		return nil
	}
	return fmt.Errorf("%w: file size=%d, a mapping here holds at most %d bytes (%d-bit int)", ErrTooBig, size, limit, strconv.IntSize)
}
