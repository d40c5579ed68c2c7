// Command ringbench measures the shmring SPSC ring beside a pipe, a unix stream
// socket, TCP loopback and a Go channel, on the same machine, in the same run.
//
// Each transport is measured twice:
//
//   - throughput: the parent process sends fixed-size messages, one message per
//     send call, for a fixed duration; a child process receives them, one
//     message per receive call, and reports how many it received in its
//     measurement window (its clock, after a warm-up);
//   - round trip: the parent sends one message, the child echoes it, and the
//     parent records the time from send to the end of the receive in an HDR
//     histogram.
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
