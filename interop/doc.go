// Package interop holds the cross-language tests: the C library in c/ and
// the Python package in python/ against Go rings, each side a process of
// its own. It has no code of its own beyond this comment; everything is in
// its tests, which `go test ./...` runs.
//
// The tests need a C compiler (cc, or $CC) and python3 on the PATH, and fail
// (they do not skip) when either is missing: a clean checkout that passes
// `go test ./...` has shown that both other languages work. They build the
// C library and its test programs into a temporary directory, and run
// python3 with PYTHONPATH pointing at python/.
//
// What they check:
//
//   - integrity: at least 10^6 messages carrying sequence numbers and
//     CRC-32C in each direction (Go → C consumer, C producer → Go, Go →
//     C broadcast readers lossless and lossy with exact miss accounting,
//     Go → Python consumer and broadcast readers);
//   - peer death: a producer or consumer of either language killed with
//     SIGKILL is reported by its peer of the other language, and a new
//     process of either language takes its role over;
//   - bad input: every single-byte corruption of a header, truncated and
//     foreign files and version-3 files are refused by the C and Python
//     openers with the verdict package layout gives; names, symlinks,
//     owners, modes and the size cap get the verdict ring.OpenWith gives;
//     a randomised hostile peer drives the C consumer and readers built
//     with -fsanitize=address,undefined;
//   - truncation: a file cut inside its last slot under a C or Python
//     consumer (and grown back) is reported as truncated and no damaged
//     message is delivered; every read checks the end mark; the C SIGBUS
//     guard catches the faults of library calls and no others;
//   - layout version 4: Go's rings of every kind, with and without
//     telemetry, open with the counter area and end unit where layout puts
//     them; record rings are refused as unsupported, and so is producing
//     on a ring with telemetry, while consuming and reading from one work;
//   - c/shmring.h and python/shmring/_layout.py hold package layout's
//     constants.
//
// SHMRING_LONG=1 scales the streams up tenfold.
package interop
