//go:build linux

// Command ringbench measures the shmring SPSC ring (copying and zero-copy
// paths; default, spin and sleep wait strategies) beside a pipe, a POSIX
// message queue, unix stream and datagram sockets, TCP loopback and a Go
// channel, on the same machine, in the same run.
//
//	ringbench [run] [flags]        measure (the default command); --help lists the flags
//	ringbench mpmc [flags]         many producers and consumers on one MPMC or MPSC ring
//	ringbench broadcast [flags]    one producer to N readers of a broadcast ring
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
// Each transport is measured by these workloads:
//
//   - throughput: the parent process sends fixed-size messages, one message per
//     send call, for a fixed duration; a child process receives them, one
//     message per receive call, and reports how many it received in its
//     measurement window (its clock, after a warm-up);
//   - round trip: the parent sends one message, the child echoes it, and the
//     parent records the time from send to the end of the receive in an HDR
//     histogram;
//   - fixed rate (--rate): round trips due on a schedule, each timed from
//     when it was due, so a stall shows in every message it delayed
//     (no coordinated omission).
//
// The parent re-executes its own binary as the child; the environment variable
// SHMRING_BENCH_CHILD selects the child's role. The Go channel is the
// in-process reference: there the "child" is a goroutine.
//
// Every message carries its sequence number and a pattern derived from it in
// every other byte. The receiver checks each byte of each message, and the
// parent checks that the receiver got exactly what was sent; a lost, repeated,
// reordered or corrupted message makes the run fail with a non-zero exit.
//
// # mpmc
//
// ringbench mpmc measures an MPMC ring (--kind mpsc: MPSC) for each shape of
// P producers and C consumers (--producers, --consumers; by default 1P1C,
// 2P2C and 4P1C, for mpsc 1P1C, 2P1C and 4P1C), in one run, --reps times
// interleaved:
//
//   - throughput: P producer and C consumer child processes on one ring;
//     producers send for --duration, and the rate is every message the
//     consumers received over the span from the first one's first message to
//     the last one's end of stream;
//   - the same P+C workers as goroutines of one process, over the ring and
//     over one shared buffered Go channel (pooled buffers: copy in, copy out);
//   - round trip: P clients, one request outstanding each, send requests with
//     the send time embedded (time.Now().UnixNano(), one clock for all
//     processes) into a request ring; C servers echo them into a reply ring;
//     any client takes any reply and records now minus the embedded time in an
//     HDR histogram (mpsc: one SPSC reply ring per client, as an MPSC ring has
//     one consumer);
//   - once per run, an SPSC ring 1P1C across processes, as the baseline.
//
// The table gives each medium's messages per second and round-trip
// percentiles, and ratios: ring (processes and goroutines) vs the channel,
// ring vs SPSC. --json writes every repetition. Messages carry producer id,
// per-producer sequence number, send time and a CRC-32C (multimsg.go).
// Consumers check every checksum and each producer's order (every number,
// when there is one consumer); the parent checks exactly-once, producer by
// producer, by count, last number and a digest of the numbers. A kind whose
// engine is not in the build is skipped with the reason.
//
// # broadcast
//
// ringbench broadcast measures fan-out from one producer (the parent) to N
// reader child processes for each --readers count (1, 2 and 4 by default):
// over a broadcast ring whose readers are --policy lossless, lossy, or mixed
// (even readers lossless, odd lossy), and over one unix stream socket per
// reader, to each of which the producer writes every message. It reports
// the producer's messages per second, each reader's received count, lag
// (sampled), laps and missed messages from a flat-out pass, and latency
// percentiles from a second pass paced at --rate messages per second (each
// message stamped with the time it was due, so readers that keep up show
// wake-up and copy cost rather than queueing), merged over readers, with
// ring vs socket ratios. Lossless readers check every sequence number in order and
// every checksum; lossy ones check order and checksum, and the parent checks
// received + missed == published for each.
//
// The children of both subcommands are this binary again, in the roles
// "mpmc-worker" and "broadcast-reader", with their settings as JSON in
// SHMRING_BENCH_CONFIG; mpmc workers start together when the parent writes
// "go" to their standard input.
//
// When not to use this: ringbench compares transports on one machine in one
// run. Its absolute figures depend on where the host places the two processes
// (see the core-to-core fingerprint it prints); compare ratios from one run,
// not numbers from different runs.
package main
