#!/usr/bin/env bash
# Ways of handing 8 MiB frames between two processes by copying them in and
# out of shared memory (scripts/framepipe/csrc/frame_pipeline.c), beside one
# copy alone and the ring's Send/Recv, interleaved in one run (BENCHMARKS.md
# 11.4). Needs cc with AVX2 (x86-64); not part of CI.
#
#   scripts/bench-frame-pipeline.sh [rounds=6]
#
# Each round, with ringbench's cache-line fingerprint (compare only rounds
# whose placements agree):
#   - one 8 MiB copy alone, glibc memcpy (m) and Go's kind of copy (n);
#   - frames handed over whole through 2, 3 and 8 frame buffers (n n: Go's
#     copy on both sides, as Send and Recv do);
#   - frames streamed in 256 KiB pieces through 2 and 3 contiguous frame
#     buffers (64 and 96 pieces), with Go's kind of copy (n n) and with
#     ordinary stores (a a), and split across a 2 MiB ring (8 pieces, a a);
#   - ringbench's shmring and shmring-rec, 8 MiB, --touch ends (Send/Recv).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-6}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"${CC:-cc}" -O2 -mavx2 -Wall -o "$work/frame_pipeline" scripts/framepipe/csrc/frame_pipeline.c
go build -o "$work/ringbench" ./cmd/ringbench
for r in $(seq 1 "$rounds"); do
	echo "## round $r"
	for cfg in "copy m" "copy n" "whole 2 n n" "whole 3 n n" "whole 8 n n" \
		"chunk 262144 64 n n" "chunk 262144 96 n n" "chunk 262144 64 a a" "chunk 262144 96 a a" "chunk 262144 8 a a"; do
		# shellcheck disable=SC2086 # cfg is the probe's arguments
		echo "$cfg: $("$work/frame_pipeline" $cfg 2>&1 | tr '\n' ' ')"
	done
	"$work/ringbench" run --transports shmring,shmring-rec --size 8M --touch ends --workloads throughput \
		--reps 1 --duration 1s 2>/dev/null | grep -E '^placement|^ +shmring'
done
