#!/usr/bin/env bash
# Runs the ring's Go benchmarks of an earlier commit and of the working tree
# alternately, round by round, so that both see the same machine: the
# before/after comparison of BENCHMARKS.md section 10 (MPMC and broadcast
# figures across the engine's rework). Prints every benchmark line, tagged.
#
#   scripts/bench-ab.sh [rounds=3] [benchtime=1s] [base=a38cf7c] [regex]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
benchtime="${2:-1s}"
base="${3:-a38cf7c}"
regex="${4:-MPMCThroughputCrossProcess/(1P1C|4P1C)/kind=(mpmc|mpsc)$|MPMCPingPongCrossProcess/kind=mpmc|BroadcastFanOutAcrossProcesses/policy=(lossless|lossy)/readers=(1|4)/}"
work=$(mktemp -d)
trap 'git worktree remove --force "$work/base" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git worktree add --detach "$work/base" "$base" >/dev/null 2>&1
(cd "$work/base" && go test -c -o "$work/base.test" ./ring/)
go test -c -o "$work/head.test" ./ring/
echo "go: $(go version); cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); base: $base; head: $(git rev-parse --short HEAD)$(git diff --quiet || echo '+dirty')"
for round in $(seq 1 "$rounds"); do
	for side in base head; do
		"$work/$side.test" -test.run '^$' -test.bench "$regex" -test.benchtime "$benchtime" 2>&1 |
			grep -E '^Benchmark' | sed "s/^/round=$round $side /"
	done
done
