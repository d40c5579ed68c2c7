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
//	shmring_ring_held                         1 while some live process holds a lock on the file; absent for a
//	                                          file this process cannot open (state unreadable): not known
//	shmring_ring_slots, shmring_ring_slot_size_bytes, shmring_ring_file_size_bytes
//	shmring_ring_created_timestamp_seconds
//	shmring_ring_published_total              the producer's frontier (cursor, MPMC Tail)
//	shmring_ring_consumed_total               the consumers' frontier (SPSC cursor, MPMC Head); not broadcast
//	shmring_ring_slowest_reader_cursor        broadcast: the slowest live attached reader's position, a gauge, at most a ring behind
//	                                          (a reader joining at Oldest moves it back)
//	shmring_ring_backlog_messages             published and not yet consumed, at most what the ring holds
//	shmring_ring_closed                       1 once the stream ended
//	shmring_role_live{role,entry}             1 while a live process holds the role's lock
//	shmring_role_attached{role,entry}         1 while the role's state word says attached (attached and not live: its holder died)
//	shmring_role_left{role,entry}             1 for an MPMC/MPSC consumer entry closed with messages it had not released, or closed by its Ring's Close (which leaves the entry so whatever it holds), until another consumer reaps it
//	shmring_role_cursor{role,entry}           the role's own position
//	shmring_role_lag_messages{role,entry}     messages published and not yet consumed by the role; a
//	                                          broadcast reader's only while its entry is attached (an
//	                                          entry its reader closed has no lag: nobody goes on from it)
//	shmring_role_<counter>_total{role,entry}  the counters each role's holder stores in the file
//	                                          (LAYOUT.md section 16.2): messages, bytes, full, empty,
//	                                          sleeps, wakes, skipped, repaired, redelivered, lapped,
//	                                          missed, evicted, bad_entries; and a reader's received
//	shmring_ring_telemetry_sample_every       one message in this many is stamped (telemetry rings)
//	shmring_role_latency_seconds{role,entry}  a consumer's or reader's commit-to-receive latency: a
//	                                          native histogram (schema 2, the file's own buckets) with
//	                                          classic buckets at every power of two from 2^-27 s to 64 s
//	shmring_role_latency_bad_stamps_total     sampled messages whose stamp was garbage
//
// A record ring (LAYOUT.md section 17) counts positions in bytes: its
// published, consumed and cursor metrics are bytes, and in place of the
// slot geometry, the backlog and the lags it has
//
//	shmring_ring_capacity_bytes, shmring_ring_max_message_bytes
//	shmring_ring_sequenced_messages_total     the producer's next sequence number (messages published)
//	shmring_ring_backlog_bytes                bytes published and not yet consumed
//	shmring_role_lag_bytes{role,entry}        bytes published and not yet consumed by the role
//
// Its counters (messages, bytes, ...) are exported as every ring's.
//
// Counters count since the role's holder took the role (a new holder
// starts them at zero, which Prometheus reads as a counter reset). A
// holder stores them every 64 messages (or MiB) and before it sleeps, so
// while it streams they trail its own figures by fewer than 64 messages.
//
// What it cannot read it cannot export: a directory it may not list
// exports nothing, and in a directory it lists only the files it may
// open for reading (a ring is 0600 unless created otherwise: run the
// exporter as the rings' user, or give the rings a group and the exporter
// that group). A ring named on its own (Options.Names) that it cannot
// open is exported with state unreadable.
//
// The package does not import package ring, and package ring does not import
// Prometheus: an application that does not want this package does not link it.
//
// # When not to use this
//
// For figures at every message (an exact count per message): the counters
// in the file are stored every 64 messages (or MiB); export ring.Stats from the
// process that owns the handle instead.
package ringprom
