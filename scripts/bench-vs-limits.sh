#!/usr/bin/env bash
# Measures the SPSC ring beside this machine's physical limits, interleaved in
# one run, and prints each acceptance ratio per round (BENCHMARKS.md sections
# 1 and 10). The limits come from `ringbench limits` (its C probes need cc, or
# $CC; the C figure is used where there is one); not part of CI.
#
#   scripts/bench-vs-limits.sh [rounds=3] [benchtime=2s]
#
# Each round, with a cache-line fingerprint before and after (compare only
# rounds whose fingerprints agree: the host moves the two vCPUs between
# placements 3-10x apart):
#   - the references (ringbench limits): cache-line round trip, SPSC ring of
#     plain stores publishing each message and once per 64, futex ping-pong,
#     64-byte pipe round trip;
#   - the pipe's one-way rate and its 64 KiB round trip (ringbench run);
#   - the Go benchmarks, unpinned (on two vCPUs, pinning a Go process's loop
#     thread leaves its runtime threads fighting the other side for the same
#     CPU): 8- and 64-byte streams one call per message, 8-byte batches of 64,
#     and the cross-process round trips (spinning 8 and 64 B, sleeping 64 B,
#     default wait 64 B and 64 KiB, with futex sleeps per round trip);
#   - under contention: two busy-looping processes started on the two cores,
#     then the ring's and a pipe's 64-byte round trip with the default wait
#     (ringbench run, interleaved), median and p99.9.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
benchtime="${2:-2s}"
work=$(mktemp -d)
busy=()
cleanup() {
	for pid in "${busy[@]}"; do kill "$pid" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT
go build -o "$work/ringbench" ./cmd/ringbench
go test -c -o "$work/ring.test" ./ring/

field() { # pattern unit: the number before unit on the first line matching pattern
	awk -v pat="$1" -v unit="$2" '$0 ~ pat { for (i = 2; i <= NF; i++) if ($i == unit) { print $(i-1); exit } }'
}
ref() { # lines key unit: the C figure of reference key, else the Go one
	local c
	c=$(echo "$1" | field "ref=$2/lang=c" "$3")
	if [ -n "$c" ]; then echo "$c"; else echo "$1" | field "ref=$2/lang=go" "$3"; fi
}
fingerprint() { "$work/ringbench" limits --c=false --duration 300ms --bench | field 'ref=cacheline/lang=go' ns/rtt; }
rb() { "$work/ringbench" run --reps=1 --duration=1s --fingerprint=false --bench "$@" 2>/dev/null; }

for round in $(seq 1 "$rounds"); do
	echo "=== round $round"
	fp1=$(fingerprint)
	lim=$("$work/ringbench" limits --duration 500ms --bench)
	c1=$(ref "$lim" spsc msgs/s)
	c64=$(ref "$lim" spsc64 msgs/s)
	cl=$(ref "$lim" cacheline ns/rtt)
	fx=$(ref "$lim" futex ns/rtt)
	pipertt=$(ref "$lim" pipe ns/rtt)
	pipetput=$(rb --transports=pipe --workloads=throughput | field 'transport=pipe/workload=throughput' msgs/s)
	pipe64k=$(rb --transports=pipe --workloads=pingpong --size=65536 | field 'transport=pipe/workload=pingpong' rtt-p50-ns)
	gob=$("$work/ring.test" -test.run '^$' -test.benchtime "$benchtime" \
		-test.bench 'ThroughputCrossProcess/size=(8|64)/batch=1$|ThroughputCrossProcess/size=8/batch=64$|ChannelBaseline/size=64$|^BenchmarkPingPongCrossProcess' 2>&1)
	echo "$gob" | grep -E '^Benchmark' || true

	# Contention: two busy loops, then both transports' round trips.
	busy=()
	for _ in 1 2; do
		sh -c 'while :; do :; done' &
		busy+=($!)
	done
	cont=$(rb --transports=shmring,pipe --workloads=pingpong --size=64 --reps=3)
	for pid in "${busy[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait "${busy[@]}" 2>/dev/null || true
	busy=()
	echo "$cont" | grep -E '^Benchmark' || true
	fp2=$(fingerprint)

	g8=$(echo "$gob" | field 'CrossProcess/size=8/batch=1-' msgs/s)
	g8b=$(echo "$gob" | field 'CrossProcess/size=8/batch=64-' msgs/s)
	g64=$(echo "$gob" | field 'CrossProcess/size=64/batch=1-' msgs/s)
	ch=$(echo "$gob" | field 'ChannelBaseline/size=64-' msgs/s)
	spin8=$(echo "$gob" | field 'PingPongCrossProcess/wait=spin/size=8-' rtt-p50-ns)
	spin64=$(echo "$gob" | field 'PingPongCrossProcess/wait=spin/size=64-' rtt-p50-ns)
	sleep=$(echo "$gob" | field 'PingPongCrossProcess/wait=sleep/size=64-' rtt-p50-ns)
	big=$(echo "$gob" | field 'PingPongCrossProcess/wait=default/size=65536-' rtt-p50-ns)
	bigsl=$(echo "$gob" | field 'PingPongCrossProcess/wait=default/size=65536-' sleeps/op)
	# ringbench prints one line per repetition: the middle one of the three.
	cr50=$(echo "$cont" | awk '/transport=shmring\// { for (i = 2; i <= NF; i++) if ($i == "rtt-p50-ns") print $(i-1) }' | sort -n | sed -n 2p)
	cr999=$(echo "$cont" | awk '/transport=shmring\// { for (i = 2; i <= NF; i++) if ($i == "rtt-p99.9-ns") print $(i-1) }' | sort -n | sed -n 2p)
	cp50=$(echo "$cont" | awk '/transport=pipe\// { for (i = 2; i <= NF; i++) if ($i == "rtt-p50-ns") print $(i-1) }' | sort -n | sed -n 2p)
	cp999=$(echo "$cont" | awk '/transport=pipe\// { for (i = 2; i <= NF; i++) if ($i == "rtt-p99.9-ns") print $(i-1) }' | sort -n | sed -n 2p)

	echo "fingerprint: cache-line RTT ${fp1} ns before, ${fp2} ns after"
	echo "limits: SPSC ring of plain stores ${c1} msg/s, batches of 64 ${c64} msg/s; cache-line RTT ${cl} ns; futex ping-pong ${fx} ns; pipe RTT ${pipertt} ns (64 B), ${pipe64k} ns (64 KiB), ${pipetput} msg/s"
	echo "contention (two busy loops): ring RTT p50 ${cr50} ns, p99.9 ${cr999} ns; pipe RTT p50 ${cp50} ns, p99.9 ${cp999} ns"
	awk -v g8="$g8" -v c1="$c1" -v g8b="$g8b" -v c64="$c64" -v g64="$g64" -v ch="$ch" -v pt="$pipetput" \
		-v spin8="$spin8" -v spin64="$spin64" -v cl="$cl" -v sl="$sleep" -v fx="$fx" -v prtt="$pipertt" \
		-v big="$big" -v bigsl="$bigsl" -v p64k="$pipe64k" \
		-v cr50="$cr50" -v cr999="$cr999" -v cp50="$cp50" -v cp999="$cp999" 'BEGIN {
		printf "ring 64B vs pipe throughput:          %8.1fx  (want >= 100)\n", g64 / pt
		printf "ring 64B vs Go channel throughput:    %8.2fx  (want >= 3)\n", g64 / ch
		printf "ring 8B vs SPSC plain-store ring:     %8.2fx  (want >= 0.8)\n", g8 / c1
		printf "ring 8B batch 64 vs ring, batches 64: %8.2fx  (want >= 0.8)\n", g8b / c64
		printf "spinning RTT 8B vs cache-line RTT:    %8.2fx  (want <= 1.5)\n", spin8 / cl
		printf "spinning RTT 64B vs cache-line RTT:   %8.2fx  (want <= 2)\n", spin64 / cl
		printf "spinning RTT vs pipe RTT:             %8.1fx lower (want >= 25)\n", prtt / spin64
		printf "sleeping RTT vs futex ping-pong:      %8.2fx  (want <= 1.0)\n", sl / fx
		printf "64 KiB default RTT vs pipe 64 KiB:    %8.2fx  (want <= 0.7), %.2f sleeps per round trip (want <= 1)\n", big / p64k, bigsl
		printf "contended RTT vs pipe, median:        %8.2fx  (want <= 1)\n", cr50 / cp50
		printf "contended RTT vs pipe, p99.9:         %8.2fx  (want <= 1)\n", cr999 / cp999
	}'
done
