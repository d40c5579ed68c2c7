//go:build linux

// Command ringbench measures the shmring rings beside a pipe, a POSIX
// message queue, unix stream and datagram sockets, TCP loopback and a Go
// channel, on one machine, in one run.
//
//	ringbench [run] [flags]        the SPSC ring (copying and zero-copy; default, spin, sleep waits) beside the rest
//	ringbench mpmc [flags]         many producers and consumers on one MPMC or MPSC ring
//	ringbench broadcast [flags]    one producer to N readers of a broadcast ring
//	ringbench frames [flags]       the frame job: mixed sizes, 8 MiB frames against memcpy, 64 KiB round trips
//	ringbench limits               this machine's ceilings, in Go and C
//	ringbench env                  the machine header
//	ringbench compare A.json B.json  two --json files of one mode (run, or mpmc), result by result
//	ringbench plot --json FILE --out DIR  latency curves and throughput of a run --json file
//
// run prints a table, and on request a --json file, --bench lines for
// benchstat and --hgrm percentile files; --sizes sweeps message sizes,
// mix:LO-HI among them a mixed run (each message's length drawn from its
// sequence number, log-uniform from LO to HI bytes), --touch=ends measures
// a transport without the ends' fill and check of every byte,
// --reps repeats every test interleaved, --cpus pins each side, --rate adds
// a fixed-rate workload timed from each message's intended send time (with
// --workloads, name fixedrate there), and
// --ceiling gives every figure as a ratio to the limits.
//
// Every measurement runs its peers the same way (peers.go): child processes
// (this binary in a role, through internal/launch) or goroutines, all
// attached before the names are removed and the start gate opens, each
// reporting one JSON result. They move internal/codec messages through
// internal/medium, whatever the transport and shape. A lost, repeated,
// reordered or corrupted message fails the run with a non-zero exit.
// "ringbench <command> --help" gives the method of each table.
//
// When not to use this: to compare numbers from different runs. Absolute
// figures depend on where the host places the processes (see the
// core-to-core fingerprint); compare ratios from one run.
package main
