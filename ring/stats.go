package ring

// Stats are one handle's counters, kept in the process (never in the shared
// file, so counting costs no coherence traffic).
type Stats struct {
	Messages uint64 // messages committed (producer) or released (consumer)
	Bytes    uint64 // payload bytes in those messages
	Sleeps   uint64 // futex sleeps while waiting for the other side
	Wakes    uint64 // FUTEX_WAKE calls made for a sleeping other side
	Full     uint64 // producer: claims that found the ring full
	Empty    uint64 // consumer: receives that found the ring empty
}
