#!/usr/bin/env bash
# Measures what the boundary checks cost on the hot path: the fault guard
# (runtime/debug.SetPanicOnFault and a deferred recover on every call that
# touches the mapping), the end-mark check after every copied message, and
# the stale-view counters. It builds the ring package's test binary at a
# baseline revision from before them and at the work tree, then runs the
# 8-byte cross-process stream and the 64-byte spinning round trip with the
# two binaries alternating, round after round, and prints each round's
# ratio. Not part of CI.
#
#   scripts/bench-guard.sh [rounds=5] [benchtime=1s] [baseline=1ea83b9]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-5}"
benchtime="${2:-1s}"
base="${3:-1ea83b9}"
work=$(mktemp -d)
trap 'git worktree remove --force "$work/base" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git worktree add --detach "$work/base" "$base" >/dev/null 2>&1
mkdir -p "$work/base/scripts/guardcost"
cp scripts/guardcost/guardcost_test.go "$work/base/scripts/guardcost/"
(cd "$work/base" && go test -c -o "$work/base.test" ./ring/ && go test -c -o "$work/base-call.test" ./scripts/guardcost/)
go test -c -o "$work/guard.test" ./ring/
go test -c -o "$work/guard-call.test" ./scripts/guardcost/
bench='ThroughputCrossProcess/size=8/batch=1$|PingPongCrossProcess/wait=spin$'
field() { # benchmark-name-pattern unit: the number before unit
	awk -v pat="$1" -v unit="$2" '$0 ~ pat { for (i = 2; i <= NF; i++) if ($i == unit) { print $(i-1); exit } }'
}
echo "go: $(go version); cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); baseline: $base; head: $(git rev-parse --short HEAD)$(git diff --quiet || echo '+dirty')"
summary="$work/summary"
for round in $(seq 1 "$rounds"); do
	out_b=$("$work/base.test" -test.run '^$' -test.bench "$bench" -test.benchtime "$benchtime" 2>&1)
	out_g=$("$work/guard.test" -test.run '^$' -test.bench "$bench" -test.benchtime "$benchtime" 2>&1)
	tb=$(echo "$out_b" | field 'CrossProcess/size=8/batch=1-' msgs/s)
	tg=$(echo "$out_g" | field 'CrossProcess/size=8/batch=1-' msgs/s)
	rb=$(echo "$out_b" | field 'PingPongCrossProcess/wait=spin-' rtt-p50-ns)
	rg=$(echo "$out_g" | field 'PingPongCrossProcess/wait=spin-' rtt-p50-ns)
	cb=$("$work/base-call.test" -test.run '^$' -test.bench . -test.benchtime "$benchtime" 2>&1 | field 'OneGoroutine-' ns/send+recv)
	cg=$("$work/guard-call.test" -test.run '^$' -test.bench . -test.benchtime "$benchtime" 2>&1 | field 'OneGoroutine-' ns/send+recv)
	awk -v r="$round" -v tb="$tb" -v tg="$tg" -v rb="$rb" -v rg="$rg" -v cb="$cb" -v cg="$cg" 'BEGIN {
		printf "round %d: 8-byte stream %.1f M msg/s without, %.1f M with (%.3fx); 64-byte spinning RTT p50 %d ns without, %d ns with (%.3fx); one Send+Recv %.1f ns without, %.1f ns with (+%.1f ns)\n",
			r, tb / 1e6, tg / 1e6, tg / tb, rb, rg, rg / rb, cb, cg, cg - cb }'
	echo "$tb $tg $rb $rg $cb $cg" >>"$summary"
done
# Medians over the rounds: the host moves the vCPUs between placements,
# so single rounds swing both ways; the median of each ratio is the figure.
awk '{ ts[NR] = $2 / $1; rt[NR] = $4 / $3; pc[NR] = $6 - $5 }
function median(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
END { n = NR; printf "median of %d rounds: stream %.3fx, spinning RTT %.3fx, +%.1f ns per Send+Recv\n", n, median(ts, n), median(rt, n), median(pc, n) }' "$summary"
