//go:build linux

// Command ringbench measures the shmring SPSC ring (copying and zero-copy
// paths; default, spin and sleep wait strategies) beside a pipe, a POSIX
// message queue, unix stream and datagram sockets, TCP loopback and a Go
// channel, on the same machine, in the same run.
//
//	ringbench [run] [flags]        measure (the default command); --help lists the flags
//	ringbench mpmc [flags]         many producers and consumers on one MPMC or MPSC ring
//	ringbench broadcast [flags]    one producer to N readers of a broadcast ring
//	ringbench limits               this machine's ceilings, in Go and C
//	ringbench env                  the machine header
//	ringbench compare A.json B.json
//	ringbench plot --json FILE --out DIR
//
// run writes a table on stdout, and on request a --json file (every
// repetition, the machine, the flags), --bench lines in Go's benchmark format
// for benchstat (the table then goes to stderr) and --hgrm percentile files.
// --sizes sweeps message sizes (8 B to 64 MiB): a ring gets fewer slots for
// large messages (--link-bytes), a pipe or stream socket carries one message
// with as many write(2)/read(2) calls as the kernel needs, and a queue or
// datagram socket that cannot hold one message whole is skipped, with the
// reason. --reps repeats every test, interleaved, and reports the median and
// range; --cpus A,B pins each side's loop; --rate adds the fixed-rate
// workload, timed from each message's intended send time.
//
// ringbench limits measures this machine's ceilings (a cache-line round
// trip, an SPSC ring of plain stores, memcpy, a futex ping-pong, a pipe round
// trip; in Go, and in C when cc is found); run --ceiling prints them first
// and every figure as a ratio to them.
//
// Every measurement runs its peers the same way (peers.go): child processes
// (this binary again, in a role, through internal/launch) or goroutines,
// all attached before the parent removes the ring names and opens the start
// gate, each reporting one JSON result. They move messages through one
// interface, internal/medium, whatever the transport and the shape (1:1,
// N:M, 1:N), and every message is an internal/codec message: sequence
// number, producer, send time, and either a payload the receiver checks
// byte by byte (one producer) or a CRC-32C (several producers, lossy
// readers). A lost, repeated, reordered or corrupted message makes the run
// fail with a non-zero exit; the mpmc parent also checks exactly-once per
// producer, and broadcast's that each lossy reader's received + missed
// equals what was published. Run "ringbench <command> --help" for the
// method of each table.
//
// When not to use this: ringbench compares transports on one machine in one
// run. Its absolute figures depend on where the host places the two processes
// (see the core-to-core fingerprint it prints); compare ratios from one run,
// not numbers from different runs.
package main
