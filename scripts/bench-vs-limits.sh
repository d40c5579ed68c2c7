#!/usr/bin/env bash
# Measures the SPSC ring beside this machine's physical limits, interleaved in
# one run, and prints each acceptance ratio per round. The limits come from
# `ringbench limits` (its C probes need cc, or $CC); not part of CI.
#
#   scripts/bench-vs-limits.sh [rounds=3] [benchtime=2s]
#
# Each round: the references (ringbench limits: cache-line round trip, SPSC
# ring of plain stores, futex ping-pong, pipe round trip, the C figures where
# a compiler is found, else the Go ones), the pipe's one-way throughput
# (ringbench run), the Go benchmarks (unpinned: on two vCPUs, pinning a Go
# process's loop thread leaves its runtime threads fighting the other side for
# the same CPU and made every figure several times worse), and a cache-line
# fingerprint before and after. Compare only rounds whose fingerprints agree:
# the host moves the two vCPUs between placements 3-10x apart.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
benchtime="${2:-2s}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/ringbench" ./cmd/ringbench
go test -c -o "$work/ring.test" ./ring/

field() { # pattern unit: the number before unit on the first line matching pattern
	awk -v pat="$1" -v unit="$2" '$0 ~ pat { for (i = 2; i <= NF; i++) if ($i == unit) { print $(i-1); exit } }'
}
ref() { # lines key: the C figure of reference key, else the Go one
	local c
	c=$(echo "$1" | field "ref=$2/lang=c" "$3")
	if [ -n "$c" ]; then echo "$c"; else echo "$1" | field "ref=$2/lang=go" "$3"; fi
}
fingerprint() { "$work/ringbench" limits --c=false --duration 300ms --bench | field 'ref=cacheline/lang=go' ns/rtt; }

for round in $(seq 1 "$rounds"); do
	echo "=== round $round"
	fp1=$(fingerprint)
	lim=$("$work/ringbench" limits --duration 500ms --bench)
	c1=$(ref "$lim" spsc msgs/s)
	cl=$(ref "$lim" cacheline ns/rtt)
	fx=$(ref "$lim" futex ns/rtt)
	pipertt=$(ref "$lim" pipe ns/rtt)
	pipetput=$("$work/ringbench" run --transports=pipe --workloads=throughput --reps=1 --duration=1s --fingerprint=false --bench 2>/dev/null |
		field 'transport=pipe/workload=throughput' msgs/s)
	gob=$("$work/ring.test" -test.run '^$' -test.benchtime "$benchtime" \
		-test.bench 'ThroughputCrossProcess/size=(8|64)/batch=1$|ChannelBaseline/size=64$|PingPongCrossProcess' 2>&1)
	fp2=$(fingerprint)
	echo "$gob" | grep -E '^Benchmark' || true
	g8=$(echo "$gob" | field 'CrossProcess/size=8/batch=1-' msgs/s)
	g64=$(echo "$gob" | field 'CrossProcess/size=64/batch=1-' msgs/s)
	ch=$(echo "$gob" | field 'ChannelBaseline/size=64-' msgs/s)
	spin=$(echo "$gob" | field 'PingPongCrossProcess/wait=spin-' rtt-p50-ns)
	sleep=$(echo "$gob" | field 'PingPongCrossProcess/wait=sleep-' rtt-p50-ns)
	echo "fingerprint: cache-line RTT ${fp1} ns before, ${fp2} ns after"
	echo "limits: SPSC ring of plain stores ${c1} msg/s; cache-line RTT ${cl} ns; futex ping-pong ${fx} ns; pipe RTT ${pipertt} ns, ${pipetput} msg/s"
	awk -v g8="$g8" -v c1="$c1" -v g64="$g64" -v ch="$ch" -v pt="$pipetput" \
		-v spin="$spin" -v cl="$cl" -v sl="$sleep" -v fx="$fx" -v prtt="$pipertt" 'BEGIN {
		printf "ring 64B vs pipe throughput:        %8.1fx  (want >= 100)\n", g64 / pt
		printf "ring 64B vs Go channel throughput:  %8.2fx  (want >= 3)\n", g64 / ch
		printf "ring 8B vs SPSC plain-store ring:   %8.2fx  (want >= 0.8)\n", g8 / c1
		printf "spinning RTT vs cache-line RTT:     %8.2fx  (want <= 1.5)\n", spin / cl
		printf "spinning RTT vs pipe RTT:           %8.1fx lower (want >= 25)\n", prtt / spin
		printf "sleeping RTT vs futex ping-pong:    %8.2fx  (want <= 1.3)\n", sl / fx
	}'
done
