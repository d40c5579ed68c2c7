#!/usr/bin/env bash
# Measures the SPSC ring beside this machine's physical limits, interleaved in
# one run, and prints each acceptance ratio per round. Needs gcc and the
# probes in ../shared/limits (the CI machine's copy); not part of CI.
#
#   scripts/bench-vs-limits.sh [rounds=3] [benchtime=2s]
#
# Each round: a cache-line placement fingerprint, the C probes, the Go
# benchmarks (unpinned: on two vCPUs, pinning a Go process's loop thread
# leaves its runtime threads fighting the other side for the same CPU and
# made every figure several times worse), and a second fingerprint. Compare only rounds whose fingerprints
# agree: the host moves the two vCPUs between placements 3-10x apart.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
benchtime="${2:-2s}"
limits="${LIMITS:-../shared/limits}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$limits"/. "$work"/
(
	cd "$work"
	gcc -O2 -pthread pingpong.c -o pingpong
	gcc -O2 -pthread spsc_ring.c -o spsc_ring
	gcc -O2 futex_lat.c -o futex_lat
	gcc -O2 ipc_pp.c -o ipc_pp
)
go test -c -o "$work/ring.test" ./ring/

field() { # pattern: print the number before the unit $2 on the line matching $1
	awk -v pat="$1" -v unit="$2" '$0 ~ pat { for (i = 2; i <= NF; i++) if ($i == unit) { print $(i-1); exit } }'
}
resultnum() { # RESULT line, the number after the word $1
	awk -v w="$1" '/^RESULT/ { for (i = 1; i < NF; i++) if ($i == w) { gsub(/,/, "", $(i+1)); print $(i+1); exit } }'
}

for round in $(seq 1 "$rounds"); do
	echo "=== round $round"
	fp1=$("$work/pingpong" 0.3 | resultnum median)
	c1=$("$work/spsc_ring" -p -r 3 -n 50000000 | awk '/^RESULT/ { for (i=1;i<NF;i++) if ($i=="median") { print $(i+1); exit } }')
	c64=$("$work/spsc_ring" -p -b 64 -r 3 -n 200000000 | awk '/^RESULT/ { for (i=1;i<NF;i++) if ($i=="median") { print $(i+1); exit } }')
	cl=$("$work/pingpong" 0.5 | resultnum median)
	fx=$("$work/futex_lat" 2000 1 | awk '/ping-pong/ { for (i=1;i<NF;i++) if ($i=="median") { print $(i+1); exit } }')
	pipe=$("$work/ipc_pp" pipe -t 1 | awk '/^RESULT/ { for (i=NF-1;i>=1;i--) if ($i=="median" && $(i+1)!="of") m=$(i+1); for (i=1;i<NF;i++) if ($i=="one-way") { print m, $(i+1); exit } }')
	gob=$("$work/ring.test" -test.run '^$' -test.benchtime "$benchtime" \
		-test.bench 'ThroughputCrossProcess/size=(8|64)/batch=(1|64)$|ChannelBaseline/size=64$|PingPongCrossProcess' 2>&1)
	fp2=$("$work/pingpong" 0.3 | resultnum median)
	echo "$gob" | grep -E '^Benchmark' || true
	g8=$(echo "$gob" | field 'CrossProcess/size=8/batch=1-' msgs/s)
	g8b=$(echo "$gob" | field 'CrossProcess/size=8/batch=64-' msgs/s)
	g64=$(echo "$gob" | field 'CrossProcess/size=64/batch=1-' msgs/s)
	ch=$(echo "$gob" | field 'ChannelBaseline/size=64-' msgs/s)
	spin=$(echo "$gob" | field 'PingPongCrossProcess/wait=spin-' rtt-p50-ns)
	sleep=$(echo "$gob" | field 'PingPongCrossProcess/wait=sleep-' rtt-p50-ns)
	read -r pipertt pipetput <<<"$pipe"
	echo "fingerprint: cache-line RTT ${fp1} ns before, ${fp2} ns after"
	echo "C ring 8B per message ${c1} M msg/s, -b 64 ${c64} M msg/s; cache-line RTT ${cl} ns; futex ping-pong ${fx} us; pipe ${pipetput} M msg/s, RTT ${pipertt} us"
	awk -v g8="$g8" -v c1="$c1" -v g8b="$g8b" -v c64="$c64" -v g64="$g64" -v ch="$ch" -v pt="$pipetput" \
		-v spin="$spin" -v cl="$cl" -v sl="$sleep" -v fx="$fx" -v prtt="$pipertt" 'BEGIN {
		printf "ring 64B vs pipe throughput:        %8.1fx  (want >= 100)\n", g64 / (pt * 1e6)
		printf "ring 64B vs Go channel throughput:  %8.2fx  (want >= 3)\n", g64 / ch
		printf "ring 8B vs C ring, per message:     %8.2fx  (want >= 0.8)\n", g8 / (c1 * 1e6)
		printf "ring 8B batch 64 vs C ring -b 64:   %8.2fx  (want >= 0.8)\n", g8b / (c64 * 1e6)
		printf "spinning RTT vs cache-line RTT:     %8.2fx  (want <= 1.5)\n", spin / cl
		printf "spinning RTT vs pipe RTT:           %8.1fx lower (want >= 25)\n", prtt * 1000 / spin
		printf "sleeping RTT vs futex ping-pong:    %8.2fx  (want <= 1.3)\n", sl / (fx * 1000)
	}'
done
