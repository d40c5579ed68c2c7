// Command ringbridge carries a shmring ring's messages over NATS to
// another machine, and back into a ring there:
//
//	ringbridge out RING SUBJECT   # on the producer's host: ring → NATS
//	ringbridge in SUBJECT RING    # on the readers' host:   NATS → ring
//
// Both rings must exist (ringbridge opens them; it does not create them).
// out reads RING as its consumer, or, on a broadcast ring, as a reader
// with --policy lossless (the producer waits for the bridge) or lossy (it
// does not; what the bridge missed is counted). in publishes into RING as
// its producer, and ends RING's stream when it stops.
//
// --url, --creds, --nkey, --user/--password, --token and --tls-ca,
// --tls-cert, --tls-key select and authenticate the server as nats.go
// does. --jetstream STREAM goes through a JetStream stream: at-least-once,
// with acknowledgements, resuming after a restart (out numbers on from the
// stream's last message; in resumes at its durable consumer, --durable).
//
// ringbridge prints "ready" on stdout once it forwards, its counters on
// stderr every --progress and when it stops, and stops cleanly on SIGINT
// or SIGTERM: what it took from a ring it still delivers, and what it
// received it still writes, within --drain-timeout (what is left then is
// an error, status 1: over core NATS in says how many messages it could
// not write and counts them as dropped; over JetStream they stay
// unacknowledged, for the next run); told
// to stop while it connects, it stops at once, with status 0. out also stops, with
// status 0, when RING's producer ends the stream and everything is
// delivered. --connect-timeout bounds the first connection, every --url
// tried. Errors (a missing ring, an unreachable or refusing server,
// a ring file removed or shrunk while it runs) exit with status 1 and one
// line on stderr; a bad flag or argument (an unknown flag, a --batch below
// 1, a negative period, a subject NATS cannot carry) with status 2.
package main
