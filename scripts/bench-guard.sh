#!/usr/bin/env bash
# Measures what the boundary checks cost on the hot path, two ways, round
# after round with everything alternating:
#
#   guard off ÷ on: one binary of the work tree, run with
#     SHMRING_BENCH_UNGUARDED=1 (Options.Unguarded: no fault guard on the
#     per-message calls) and without;
#   baseline ÷ now: the same benchmarks built at a baseline revision from
#     before the boundary work (no guard, no end mark, no stale-view counts).
#
# Each runs the 8-byte cross-process stream, the 64-byte spinning round trip
# and one Send+Recv on one goroutine, and the medians of the ratios close
# the report. Not part of CI.
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
printf 'package guardcost\n\nimport "github.com/shmring/shmring/ring"\n\nfunc unguarded(*ring.Options) {}\n' >"$work/base/scripts/guardcost/unguarded_test.go"
(cd "$work/base" && go test -c -o "$work/base.test" ./ring/ && go test -c -o "$work/base-call.test" ./scripts/guardcost/)
go test -c -o "$work/guard.test" ./ring/
go test -c -o "$work/guard-call.test" ./scripts/guardcost/
bench='ThroughputCrossProcess/size=8/batch=(1|64)$|PingPongCrossProcess/wait=spin(/size=64)?$'
field() { # benchmark-name-pattern unit: the number before unit
	awk -v pat="$1" -v unit="$2" '$0 ~ pat { for (i = 2; i <= NF; i++) if ($i == unit) { print $(i-1); exit } }'
}
echo "go: $(go version); cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); baseline: $base; head: $(git rev-parse --short HEAD)$(git diff --quiet || echo '+dirty')"
summary="$work/summary"
run() { # binary-prefix [VAR=value]: prints stream msgs/s, RTT p50 ns, ns per Send+Recv, batched stream msgs/s
	local out call env="${2:-}"
	out=$(env $env "$work/$1.test" -test.run '^$' -test.bench "$bench" -test.benchtime "$benchtime" 2>&1)
	call=$(env $env "$work/$1-call.test" -test.run '^$' -test.bench . -test.benchtime "$benchtime" 2>&1)
	echo "$(echo "$out" | field 'CrossProcess/size=8/batch=1-' msgs/s) $(echo "$out" | field 'PingPongCrossProcess/wait=spin(/size=64)?-' rtt-p50-ns) $(echo "$call" | field 'OneGoroutine-' ns/send+recv) $(echo "$out" | field 'CrossProcess/size=8/batch=64-' msgs/s)"
}
for round in $(seq 1 "$rounds"); do
	read -r bt br bc bb <<<"$(run base)"
	read -r ot or oc ob <<<"$(run guard SHMRING_BENCH_UNGUARDED=1)"
	read -r gt gr gc gb <<<"$(run guard)"
	echo "$bt $br $bc $ot $or $oc $gt $gr $gc $bb $ob $gb" >>"$summary"
	awk -v r="$round" -v bt="$bt" -v br="$br" -v bc="$bc" -v ot="$ot" -v or="$or" -v oc="$oc" -v gt="$gt" -v gr="$gr" -v gc="$gc" -v bb="$bb" -v ob="$ob" -v gb="$gb" 'BEGIN {
		printf "round %d (baseline, guard off, guard on): 8-byte stream M msg/s %.1f, %.1f, %.1f | batch-64 stream %.1f, %.1f, %.1f | spinning RTT p50 ns %d, %d, %d | one Send+Recv ns %.1f, %.1f, %.1f\n",
			r, bt / 1e6, ot / 1e6, gt / 1e6, bb / 1e6, ob / 1e6, gb / 1e6, br, or, gr, bc, oc, gc }'
done
# Medians over the rounds: the host moves the vCPUs between placements,
# so single rounds swing both ways; the median of each ratio is the figure.
awk '{ a[NR] = $7 / $4; b[NR] = $8 / $5; c[NR] = $9 - $6; d[NR] = $7 / $1; e[NR] = $8 / $2; f[NR] = $9 - $3; g[NR] = $12 / $11; h[NR] = $12 / $10 }
function median(x, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (x[j] < x[i]) { t = x[i]; x[i] = x[j]; x[j] = t }
	return n % 2 ? x[(n + 1) / 2] : (x[n / 2] + x[n / 2 + 1]) / 2 }
END { n = NR
	printf "median of %d rounds, guard on vs off (one binary): stream %.3fx, batch-64 stream %.3fx, spinning RTT %.3fx, %+.1f ns per Send+Recv\n", n, median(a, n), median(g, n), median(b, n), median(c, n)
	printf "median of %d rounds, now vs baseline:              stream %.3fx, batch-64 stream %.3fx, spinning RTT %.3fx, %+.1f ns per Send+Recv\n", n, median(d, n), median(h, n), median(e, n), median(f, n) }' "$summary"
