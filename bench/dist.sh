#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/dist.sh [BUILD_DIR]: the distributed analyses (src/dist, doc/dist.md):
# `reel analyze syscalls --engine URL` through `reel worker`s and a real
# nats-server (Debian's, dist/nats-server.conf, a private store, a free
# loopback port). Prints, as bench/run.sh:
#
#   bench NAME reel=VALUE peer=VALUE unit=UNIT speedup=X
#
# 1. A kernel trace of BENCH_DIST_CHUNKS [20] chunks: bench/syscall-load
#    (as bench/analyze.sh) under `enable-rotation --size BENCH_DIST_CHUNK
#    [4M]`; the first BENCH_DIST_CHUNKS archived chunks are the input; and a
#    small trace (syscall-load mix 500 2, no rotation).
# 2. dist_dispatch_overhead: the small trace's chunk given BENCH_DIST_CHUNKS
#    times (the map is short: what the broker adds shows), (engine with 1
#    worker - local -j 1) / chunks, wall time, best of BENCH_DIST_REPS [5]
#    runs of each, interleaved: what a chunk costs to go through the broker
#    (task out, partial encoded, sent, decoded), the same maps and reduce
#    on both sides. reel= with libnats's "send as soon as possible" (Reel's
#    setting), peer= without it (REEL_NATS_SEND_ASAP=0, libnats 3.4.1's
#    default: it waits about 1 ms before each buffered write). Target: under
#    5 ms. dist_chunk_round_trip: the same runs measured by the batch
#    itself (REEL_DIST_DEBUG), from its tasks published to the reduce done,
#    per chunk: the round trips alone, the map of that chunk included.
# 3. dist_2_workers: the big chunks through the engine with 2 workers
#    against 1 (wall seconds, best of BENCH_DIST_REPS). Target: 1.7x or more
#    (on a machine with 2 free CPUs). The worker's log gives the mean map,
#    result and ack times of a big chunk.
#
# Root only, with tracefs and nats-server: otherwise a SKIPPED line and exit
# status 0. Everything under a mktemp -d directory in /tmp, every process
# stopped by pid, all removed on any exit. Exit status 1 when a run fails or
# the engine and the local run disagree.
# shellcheck disable=SC2317 # cleanup runs through trap
set -euo pipefail

build=${1:-build-release}
nchunks=${BENCH_DIST_CHUNKS:-20}
chunk=${BENCH_DIST_CHUNK:-4M}
reps=${BENCH_DIST_REPS:-5}
tracefs=/sys/kernel/tracing
src=$(cd "$(dirname "$0")/.." && pwd)

source "$src/bench/reeld-bench.sh"
bench_require "distributed analyses benchmark" bench/syscall-load src/cli/reel src/sessiond/reeld
if ! command -v nats-server >/dev/null; then
	echo "SKIPPED: distributed analyses benchmark: no nats-server (apt-get install nats-server)"
	exit 0
fi
reel=$build/src/cli/reel

bench_private reel-distbench
pids=()
bench_cleanup_extra() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
}

calc() { awk "BEGIN { printf \"$1\", $2 }"; }

echo "# Reel distributed analyses, $(date -u +%Y-%m-%dT%H:%M:%SZ), Linux $(uname -r), $(nproc) CPUs, nats-server $(nats-server --version | sed 's/.*v//')"
echo "# CPU load before the run (1-minute average): $(cut -d' ' -f1 /proc/loadavg)"

# ---- the trace ------------------------------------------------------------
start_reeld
r create big --output "$tmp/big" >/dev/null
r enable-channel -k channel0 --subbuf-size 1M --num-subbuf 32 >/dev/null
r enable-event -k sched_switch,sched_wakeup,sched_process_fork,sched_process_exec >/dev/null
r enable-event -k --syscall -a >/dev/null
r enable-rotation --size "$chunk" >/dev/null
r start >/dev/null
rounds=20000
while :; do
	"$build/bench/syscall-load" mix "$rounds" 2 >/dev/null
	n=$(find "$tmp/big/archives" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | wc -l)
	[[ $n -gt $nchunks ]] && break
done
r stop >/dev/null
r destroy >/dev/null
# a small trace: the same chunk $nchunks times is the dispatch's test (the
# map is short; what the broker adds shows)
r create small --output "$tmp/small" >/dev/null
r enable-channel -k channel0 --subbuf-size 256k --num-subbuf 8 >/dev/null
r enable-event -k sched_switch,sched_wakeup,sched_process_fork,sched_process_exec >/dev/null
r enable-event -k --syscall -a >/dev/null
r start >/dev/null
"$build/bench/syscall-load" mix 500 2 >/dev/null
r stop >/dev/null
r destroy >/dev/null
kill -TERM "$reeld_pid"
wait "$reeld_pid" || { echo "# reeld exited with an error"; exit 1; }
reeld_pid=
mapfile -t chunks < <(for d in "$tmp"/big/archives/*; do echo "${d##*-} $d/kernel"; done | sort -n | head -"$nchunks" | cut -d' ' -f2)
"$reel" analyze syscalls --json --quiet -j 2 "${chunks[@]}" >"$tmp/info.json"
events=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["events"])' "$tmp/info.json")
echo "# input: ${#chunks[@]} chunks, $events events, $(du -shc "${chunks[@]}" | tail -1 | cut -f1) on disk"
small=()
for _ in $(seq "$nchunks"); do small+=("$tmp/small/kernel"); done
"$reel" analyze syscalls --json --quiet -j 1 "$tmp/small/kernel" >"$tmp/small.json"
sevents=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["events"])' "$tmp/small.json")
echo "# dispatch input: one chunk of $sevents events, $nchunks times"

# ---- the broker and the workers -------------------------------------------
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url=nats://127.0.0.1:$port
nats-server -c "$src/dist/nats-server.conf" -p "$port" -sd "$tmp/nats" >"$tmp/nats.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done

workers=()
start_worker() { # start_worker NAME [ENV=VALUE...]
	local name=$1
	shift
	env "$@" "$reel" worker --engine "$url" 2>"$tmp/worker-$name.log" &
	pids+=($!)
	workers+=($!)
	for _ in $(seq 100); do grep -qs "taking tasks" "$tmp/worker-$name.log" && return 0; sleep 0.05; done
	echo "# worker $name did not start:"; sed 's/^/#   /' "$tmp/worker-$name.log"; return 1
}
stop_workers() {
	local p
	for p in "${workers[@]}"; do kill -TERM "$p"; wait "$p" || true; done
	workers=()
}

# best REPS CMD...: the fastest wall time of REPS runs, seconds; stdout of the last in $tmp/best.out
best() {
	local n=$1 i b='' t0 t1 s
	shift
	for i in $(seq "$n"); do
		t0=$EPOCHREALTIME
		"$@" >"$tmp/best.out" 2>"$tmp/best.err" || { echo "# FAILED: $*" >&2; sed 's/^/#   /' "$tmp/best.err" >&2; return 1; }
		t1=$EPOCHREALTIME
		s=$(calc %.6f "$t1 - $t0")
		if [[ -z $b ]] || awk "BEGIN { exit !($s < $b) }"; then b=$s; fi
	done
	echo "$b"
}

status=0
an=("$reel" analyze syscalls --quiet --json)
"${an[@]}" -j 1 "${chunks[@]}" >"$tmp/local.out"
"${an[@]}" -j 1 "${small[@]}" >"$tmp/small.out"
# pairs PREFIX ENV...: REPS rounds of (local -j 1, engine), interleaved so
# that a change of the machine's load hits both; the best of each to
# PREFIX.local and PREFIX.engine
pairs() {
	local o=$1 in=chunks ref=$tmp/local.out i l e
	shift
	if [[ $1 == small ]]; then in=small ref=$tmp/small.out; shift; fi
	local -n input=$in
	for i in $(seq "$reps"); do
		l=$(best 1 "${an[@]}" -j 1 "${input[@]}")
		e=$(best 1 env "$@" "${an[@]}" --engine "$url" "${input[@]}")
		cmp -s "$tmp/best.out" "$ref" || { echo "# WARNING: the engine and -j 1 disagree"; status=1; }
		if [[ ! -f $o.local ]] || awk "BEGIN { exit !($l < $(cat "$o.local")) }"; then echo "$l" >"$o.local"; fi
		if [[ ! -f $o.engine ]] || awk "BEGIN { exit !($e < $(cat "$o.engine")) }"; then echo "$e" >"$o.engine"; fi
	done
}

# roundtrip ENV...: the batch run's own clock (REEL_DIST_DEBUG), from its
# tasks published to the reduce done, per chunk, best of REPS: the chunks'
# round trips through the broker and the worker, without the process's
# start, connection and clean-up
roundtrip() {
	local i v b=''
	for i in $(seq "$reps"); do
		v=$(env "$@" REEL_DIST_DEBUG=1 "${an[@]}" --engine "$url" "${small[@]}" 2>&1 >/dev/null |
			awk -v n="$nchunks" '/tasks published/ { a = $3 } /: reduced/ { b = $3 } END { printf "%.3f", (b - a) / n }')
		if [[ -z $b ]] || awk "BEGIN { exit !($v < $b) }"; then b=$v; fi
	done
	echo "$b"
}

start_worker asap
pairs "$tmp/asap" small REEL_NATS_SEND_ASAP=1
rt=$(roundtrip REEL_NATS_SEND_ASAP=1)
pairs "$tmp/one" REEL_NATS_SEND_ASAP=1
start_worker asap2
pairs "$tmp/two" REEL_NATS_SEND_ASAP=1
stop_workers
start_worker noasap REEL_NATS_SEND_ASAP=0
pairs "$tmp/noasap" small REEL_NATS_SEND_ASAP=0
rt_no=$(roundtrip REEL_NATS_SEND_ASAP=0)
stop_workers
local1=$(cat "$tmp/asap.local") asap=$(cat "$tmp/asap.engine")
local_no=$(cat "$tmp/noasap.local") noasap=$(cat "$tmp/noasap.engine")
one=$(cat "$tmp/one.engine") two=$(cat "$tmp/two.engine")

n=${#chunks[@]}
# the worker's side of it, per task (its log): publishing the result (encode, send, the server's ack) and acking the task
grep -h ": done, [0-9]\{5,\} events" "$tmp/worker-asap.log" | sed 's/.*(map \([0-9.]*\), result \([0-9.]*\) (\([0-9]*\) bytes), ack \([0-9.]*\)).*/\1 \2 \3 \4/' |
	awk '{ m += $1; r += $2; b += $3; a += $4; k++ } END { if (k) printf "# worker, the big chunks, mean of %d tasks: map %.1f ms, result %.2f ms (messages of %.0f bytes on average; partials over 1 MB go as a file), ack %.2f ms\n", k, m / k, r / k, b / k, a / k }'
ov=$(calc %.3f "($asap - $local1) * 1000 / $n")
ov_no=$(calc %.3f "($noasap - $local_no) * 1000 / $n")
echo "# the small chunk x $n: local -j 1: $local1 s, engine with 1 worker: $asap s; without send-asap: local $local_no s, engine $noasap s (best of $reps, interleaved)"
echo "# the $n big chunks: local -j 1: $(cat "$tmp/one.local") s, engine with 1 worker: $one s; 2 workers: $two s (local beside it: $(cat "$tmp/two.local") s)"
echo "# dispatch overhead per chunk: $ov ms (target < 5 ms); without send-asap: $ov_no ms"
echo "bench dist_dispatch_overhead reel=$ov peer=$ov_no unit=ms/chunk speedup=$(calc %.2f "($ov > 0.001 && $ov_no > 0) ? $ov_no / $ov : 0")"
echo "# a chunk's round trip (task out to its partial reduced, the batch's clock): $rt ms; without send-asap: $rt_no ms"
echo "bench dist_chunk_round_trip reel=$rt peer=$rt_no unit=ms/chunk speedup=$(calc %.2f "$rt_no / $rt")"
echo "bench dist_2_workers reel=$two peer=$one unit=s speedup=$(calc %.2f "$one / $two")"
exit $status
