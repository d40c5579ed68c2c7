package ring

import "sync/atomic"

// loadFence orders the loads before it before the loads after it: the
// seqlock reader's payload loads before its second seq load. amd64 does not
// reorder loads with loads (Intel SDM vol. 3A, "Memory Ordering in P6 and
// More Recent Processor Families"), so it is nothing.
func loadFence(*atomic.Uint64) {}
