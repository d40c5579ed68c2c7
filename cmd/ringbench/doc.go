// Command ringbench measures the shmring SPSC ring (copying and zero-copy
// paths; default, spin and sleep wait strategies) beside a pipe, a POSIX
// message queue, unix stream and datagram sockets, TCP loopback and a Go
// channel, on the same machine, in the same run.
//
//	ringbench [run] [flags]        measure (the default command); --help lists the flags
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
// When not to use this: ringbench compares transports on one machine in one
// run. Its absolute figures depend on where the host places the two processes
// (see the core-to-core fingerprint it prints); compare ratios from one run,
// not numbers from different runs.
package main
