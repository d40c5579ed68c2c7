// Package fuzz holds the black-box, cross-package fuzz targets of shmring:
// everything that reads bytes another process wrote, driven through the
// public API of package ring as a hostile or broken peer would drive it.
// The package has no code of its own; it is all tests.
//
// # What is fuzzed where
//
//	target                       package  what the input is
//	FuzzOpen                     fuzz     a whole ring file, written to /dev/shm and opened
//	FuzzHostileMapping           fuzz     writes into a live ring's mapping, between ring operations
//	FuzzOps                      ring     a sequence of ring operations, checked against a FIFO model
//	FuzzDecode                   layout   a header, decoded by layout.Decode
//
// FuzzOpen writes its input as a file under /dev/shm (a fresh name for each
// input, removed afterwards) and calls ring.OpenWith with a short timeout.
// Whatever Open accepts is then used: the consumer role with TryReceive,
// TryRecv and a short-deadline Receive, then the producer role with
// TrySend. Nothing may panic, and every error must be one of the ring's
// sentinels (errors.Is) or the context's. Its seeds are a real ring file
// made by ring.Create, with messages in it, and corruptions of it.
//
// FuzzHostileMapping creates a real ring, takes both roles in this process,
// sends a few messages, and maps the file a second time (MAP_SHARED). The
// input is a program: ring operations (TrySend, TryRecv, Receive and Send
// with short deadlines, ReceiveBatch with At, ClaimBatch, Release, closing
// and re-taking roles) interleaved with writes of arbitrary bytes at
// arbitrary offsets (modulo the file size) of the second mapping — the
// control words, the slot lengths, the payloads, the header. The engine
// must never panic or touch memory outside the mapping (a fault would kill
// the fuzzing process), and must report garbage as ErrCorrupt or another
// sentinel.
//
// FuzzOps (ring/fuzz_test.go, inside package ring so it can use heap
// rings) decodes its input into a ring geometry (1, 2, 4 or 8 slots of 1 to
// 64 bytes, on the heap or in a mapped file) and a sequence of operations
// — TrySend, TryRecv, TryClaim with Commit or Abort, ClaimBatch and
// CommitBatch, SendBatch, TryReceive, Receive and ReceiveBatch with At and
// Release, Producer and Consumer Close and re-take — and compares every
// result with a FIFO queue of capacity Slots: ErrFull exactly when the
// model is full, ErrEmpty exactly when it is empty, the same payloads in
// the same order, ErrClosed after a Close.
//
// # Running
//
// `go test ./...` runs every target's seed corpus (the f.Add seeds and the
// files under each package's testdata/fuzz/<Target>/) as ordinary tests.
// Fuzzing proper is opt-in and runs one target at a time, named by an
// anchored regular expression (no target's name is a prefix of another's
// in the same package, but anchoring keeps it so as targets are added):
//
//	go test -run='^$' -fuzz='^FuzzOpen$' -fuzztime=10s ./fuzz/
//	go test -run='^$' -fuzz='^FuzzHostileMapping$' -fuzztime=10s ./fuzz/
//	go test -run='^$' -fuzz='^FuzzOps$' -fuzztime=10s ./ring/
//	go test -run='^$' -fuzz='^FuzzDecode$' -fuzztime=10s ./layout/
//
// CI (.ci/run) runs each for FUZZTIME, ten seconds by default. A long run
// is the same command with a longer -fuzztime (for example 1h); the targets
// need nothing but a writable /dev/shm with room for a few small files.
// Before it adds an input that found new coverage, the fuzzer minimizes it
// for up to -fuzzminimizetime (60 s by default), and the exec counter stands
// still meanwhile; on a small machine pass -fuzzminimizetime=200x (say) to
// spend the time fuzzing instead. Per core, FuzzOps runs over ten thousand
// inputs a second, FuzzOpen a few thousand, and FuzzHostileMapping several
// hundred, since its blocking calls wait out short deadlines.
//
// A crasher is written under the package's testdata/fuzz/<Target>/; keep
// it there (commit it) only once the bug it shows is fixed, so that it
// guards against the bug's return in every `go test ./...`.
//
// The targets remove the ring files they make, but a fuzzing process killed
// mid-input can leave a file named /dev/shm/shmring-test-fuzz-* behind
// (CI's leftover check reports it); such files are safe to delete.
//
// # When not to use this
//
// Unit-level fuzzers of one package's internals sit beside that code (as
// layout's FuzzDecode and ring's FuzzOps do), not here; this package is
// for what crosses a process boundary.
package fuzz
