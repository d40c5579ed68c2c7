#!/usr/bin/env bash
# What the in-file counters and the latency telemetry cost (BENCHMARKS.md
# section 11). Each round runs, one after the other so that all see the same
# minutes of this machine: the engine before them (base: no counters in the
# file), and the work tree with telemetry off, sampled (one message in 1024)
# and on every message (SHMRING_BENCH_TELEMETRY). The workloads: the 8-byte
# cross-process stream (one Send/Recv per message), the 64-byte spinning
# round trip across processes, and one Send plus one Recv on one goroutine
# with 8- and 64-byte messages (scripts/guardcost: the per-call cost with
# nothing else in the way, the steadiest figure on a loaded machine).
# Prints every benchmark line, tagged, then the medians of the ratios to
# base. Every round runs base first: when the machine's load drifts
# during a run, that order biases the ratios (BENCHMARKS.md section 12
# shows one such run and the order-balanced pairs that undid it).
#
#   scripts/bench-counters.sh [rounds=5] [benchtime=1s] [base=69a2300]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-5}"
benchtime="${2:-1s}"
base="${3:-69a2300}"
work=$(mktemp -d)
trap 'git worktree remove --force "$work/base" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git worktree add --detach "$work/base" "$base" >/dev/null 2>&1
mkdir -p "$work/base/scripts/guardcost"
cp scripts/guardcost/guardcost_test.go scripts/guardcost/unguarded_test.go "$work/base/scripts/guardcost/"
printf 'package guardcost\n\nimport "github.com/shmring/shmring/ring"\n\nfunc telemetry(*ring.Options) {}\n' >"$work/base/scripts/guardcost/telemetry_test.go"
(cd "$work/base" && go test -c -o "$work/base.test" ./ring/ && go test -c -o "$work/base-call.test" ./scripts/guardcost/)
go test -c -o "$work/head.test" ./ring/
go test -c -o "$work/head-call.test" ./scripts/guardcost/
bench='ThroughputCrossProcess/size=8/batch=1$|PingPongCrossProcess/wait=spin/size=64$'
echo "go: $(go version); cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); nproc: $(nproc); kernel: $(uname -r); base: $base; head: $(git rev-parse --short HEAD)$(git diff --quiet || echo '+dirty')"
for round in $(seq 1 "$rounds"); do
	for side in base off sampled all; do
		bin=head every=0
		case $side in
		base) bin=base ;;
		sampled) every=1024 ;;
		all) every=1 ;;
		esac
		echo "round=$round $side loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
		for b in "$bin" "$bin-call"; do
			pat=$bench
			[ "$b" = "$bin-call" ] && pat=.
			SHMRING_BENCH_TELEMETRY=$every "$work/$b.test" -test.run '^$' -test.bench "$pat" -test.benchtime "$benchtime" 2>&1 |
				grep -E '^Benchmark' | sed "s/^/round=$round $side /"
		done
	done
done | tee "$work/out"
# Medians over the rounds of each variant's ratio to base in the same round.
awk '
function val(unit,   i) { for (i = 4; i <= NF; i++) if ($i == unit) return $(i-1); return "" }
/^round=/ && /Benchmark/ {
	split($1, r, "="); side = $2; name = $3; sub(/-[0-9]+$/, "", name)
	if (name ~ /ThroughputCrossProcess/) { m = "stream8 msgs/s"; v = val("msgs/s") }
	else if (name ~ /PingPong/) { m = "rtt64 p50-ns"; v = val("rtt-p50-ns") }
	else if (name ~ /OneGoroutine64$/) { m = "call64 ns"; v = val("ns/send+recv") }
	else { m = "call8 ns"; v = val("ns/send+recv") }
	x[r[2], side, m] = v; metrics[m] = 1; n = r[2] > n ? r[2] : n
}
function median(a, k,   i, j, t) { for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2 }
END {
	printf "medians of %d rounds, each the ratio to base in the same round, and the difference (variant minus base)\n", n
	for (m in metrics) for (s = 1; s <= 3; s++) {
		side = s == 1 ? "off" : s == 2 ? "sampled" : "all"; k = 0; delete a; delete b
		for (i = 1; i <= n; i++) if (x[i, "base", m] != "" && x[i, side, m] != "") { k++; a[k] = x[i, side, m] / x[i, "base", m]; b[k] = x[i, side, m] - x[i, "base", m] }
		if (k) printf "  %-15s %-8s ratio %.3f  diff %+.1f\n", m, side, median(a, k), median(b, k)
	}
}' "$work/out"
