package ring

// Stats are one handle's counters. They are counted in the process, and
// stored in the ring file off the per-message path (every
// layout.FlushEvery messages or MiB of payload, whichever comes first,
// before every futex sleep and after it, on every wake and lap, on Stats
// and on Close) on a unit only this handle writes, so other processes can
// read them without taking a role (LAYOUT.md section 16; ringctl stat,
// package ringprom). A new holder of a role starts at zero.
type Stats struct {
	Messages uint64 // messages committed (producer) or released (consumer)
	Bytes    uint64 // payload bytes in those messages
	Sleeps   uint64 // futex sleeps while waiting for the other side
	// Wakes: FUTEX_WAKE calls made because the other side announced a
	// sleep. On a broadcast ring the readers share one announcement, and
	// a reader that stops waiting (a deadline, a cancel) leaves it for the
	// next publish to clear, since another may still sleep on it: that
	// publish makes a wake, counted here, that may find nobody asleep.
	Wakes uint64
	Full  uint64 // producer: claims that found the ring full
	Empty uint64 // consumer: receives that found the ring empty

	// MPMC and MPSC rings.
	// Skipped counts positions a consumer passed over because they carry
	// no message: claims aborted, the uncommitted rest of a batch, claims
	// dropped by a closing producer, and claims of producers that died
	// before committing (skipped by a repairer).
	Skipped     uint64
	Repaired    uint64 // slots this handle repaired for a peer whose liveness lock was gone, or took over from a consumer that closed leaving them (EntryLeft)
	Redelivered uint64 // consumer: messages delivered again after a consumer died holding them (or closed with them undelivered)

	// Broadcast rings.
	Lapped uint64 // lossy reader: times the producer overran it (ErrLapped returned)
	Missed uint64 // lossy reader: messages lost in those laps
	// Evicted: producer: lossless readers found dead (liveness lock gone)
	// while they held it back, and no longer waited for.
	Evicted uint64
	// BadEntries: producer: reader-table entries holding values no reader
	// writes (counted once per entry and incarnation), ignored.
	BadEntries uint64
}
