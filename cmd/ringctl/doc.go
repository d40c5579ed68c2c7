//go:build linux

// Command ringctl is the operator's tool for shmring rings: it lists and
// inspects ring files, follows their messages, removes the dead ones, checks
// what the machine offers, and exports metrics, all from outside. It takes no
// role and never writes into a ring it inspects: it opens ring files
// read-only, maps only what it reads (PROT_READ), and tells live holders from
// dead ones with the kernel's open-file-description locks (F_OFD_GETLK), as
// the engine does.
//
//	ringctl ls [NAME|DIR|FILE...]   every ring: kind, geometry, size, creator, age, holders, state
//	ringctl stat NAME [--watch]     header, cursors, backlog, roles with liveness, lag, counters; rates with --watch
//	ringctl readers NAME            a broadcast ring's reader table (other kinds: the consumer side)
//	ringctl tail NAME [-n N]        messages as they are published: text, hex, or JSON lines (base64)
//	ringctl rm NAME...              remove rings, refusing a held one, a file without a whole header or one it cannot read (--force)
//	ringctl gc [DIR...] [--dry-run] remove every dead ring (--idle, --broken widen it)
//	ringctl doctor                  /dev/shm, futex, membarrier, OFD locks, memfd, huge pages, THP, memlock, container
//	ringctl serve --listen ADDR     Prometheus /metrics for the rings found (package ringprom)
//
// Every command but serve takes -o json (tail: -o text|hex|json; serve
// answers scrapes in Prometheus's formats). A name without a slash is a
// file in /dev/shm; an absolute path is any ring file. A memfd ring has no
// name: stat, readers and tail reach it through a holder's descriptor,
// /proc/PID/fd/N (the only link they follow); ls does not list it. tail
// reads slot rings and record rings alike.
//
// # States
//
// ok (a live process holds a role), idle (nobody does; no holder died and
// the creator is still running or a process has the file open for writing
// or mapped writable, as one that holds a Ring does (a read-only reader
// such as tail does not count),
// or, from a PID namespace that does not see every process, that cannot be
// told; or a holder died and a process has the file open for writing, as
// one that holds a Ring does), stuck (a live holder cannot go on: its peer
// died, or the ring is full and nobody consumes it), dead (nobody holds a
// role, and a holder died without closing and no process has the file open
// for writing, or the creator is gone and no process has the file open for
// writing or mapped writable), not-ready, truncated, corrupt,
// foreign-version, and with ls --all not-a-ring and unreadable.
//
// An MPMC or MPSC consumer entry reads "left" when its holder closed it
// holding messages it had not released, which the next consumer delivers,
// and also when its Ring's Close closed it, which leaves the entry so
// whatever it holds.
//
// # Exit codes
//
//	0  fine
//	1  failed: no such ring, an I/O error, a removal that failed, doctor found something rings need missing
//	2  bad command line
//	3  a file read is not a sound ring (corrupt, truncated, foreign version, not ready, not a ring, unreadable)
//	4  rm left in place a ring that a live process holds
//
// # What the file does not say
//
// Each role's holder stores its counters (ring.Stats) in the file every 64
// messages (or MiB) and before it sleeps, so while a role streams, stat's
// figures for it trail by fewer than 64 messages; the cursors, and the lag they
// imply, are exact. A ring created without telemetry has no latency
// figures. tail shows a message only when it copied it whole, and SPSC
// and MPMC slots are reused as soon as consumers release them: of consumers
// that keep up, tail sees only the messages it catches in passing, and
// reports the rest as gaps.
//
// # Record rings
//
// A record ring's positions count bytes: ls shows its geometry as capacity
// and largest message (512B<=64B), stat its cursors, backlog and lags in
// bytes with the producer's next sequence number (how many messages it
// published), and its counters (messages, bytes, ...) as every ring's.
// tail walks a record ring's headers and names each message by its
// sequence number, counting gaps in messages.
package main
