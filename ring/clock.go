package ring

import _ "unsafe" // go:linkname

// nanotime is the runtime's monotonic clock: CLOCK_MONOTONIC through the
// vDSO on Linux, a clock every process on the machine shares, so a stamp
// one process takes is comparable with another's reading (LAYOUT.md
// section 16.3). time.Now would read the wall clock as well and cost
// twice as much. runtime.nanotime is one of the symbols the runtime keeps
// open to go:linkname for packages outside it.
//
//go:linkname nanotime runtime.nanotime
func nanotime() int64
