// Package ringprom exports what shmring ring files hold as Prometheus
// metrics: a prometheus.Collector that reads every ring it is pointed at on
// each scrape, from outside (no role taken, nothing written), as
// `ringctl stat` does.
//
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(ringprom.NewCollector(ringprom.Options{Dirs: []string{"/dev/shm"}}))
//	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// Every series carries the labels ring (the name it is opened by) and kind
// (spsc, mpmc, mpsc, broadcast; empty when the header could not be read);
// role series add role (producer, consumer, reader) and entry (its index in
// the participant or reader table).
//
//	shmring_ring_state{state}                 1 for the ring's state (ok, idle, stuck, dead, corrupt, ...)
//	shmring_ring_held                         1 while some live process holds a lock on the file
//	shmring_ring_slots, shmring_ring_slot_size_bytes, shmring_ring_file_size_bytes
//	shmring_ring_created_timestamp_seconds
//	shmring_ring_published_total              the producer's frontier (cursor, MPMC Tail)
//	shmring_ring_consumed_total               the consumers' frontier (cursor, MPMC Head, slowest reader)
//	shmring_ring_backlog_messages             published and not yet consumed
//	shmring_ring_closed                       1 once the stream ended
//	shmring_role_live{role,entry}             1 while a live process holds the role's lock
//	shmring_role_attached{role,entry}         1 while the role's state word says attached (attached and not live: its holder died)
//	shmring_role_cursor{role,entry}           the role's own position
//	shmring_role_lag_messages{role,entry}     messages published and not yet consumed by the role
//	shmring_role_<counter>_total{role,entry}  the counters the file holds: messages and repaired (MPMC
//	                                          entries), received and missed (broadcast readers)
//
// Counters count since the role's holder took its entry (a new holder
// starts them at zero, which Prometheus reads as a counter reset).
//
// The package does not import package ring, and package ring does not import
// Prometheus: an application that does not want this package does not link it.
//
// # When not to use this
//
// For counters the engine keeps in each process (ring.Stats: sleeps, wakes,
// full and empty events): export those from the process that owns the
// handle.
package ringprom
