#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/analyze.sh [BUILD_DIR]: `reel analyze syscalls` (src/analysis) on a
# kernel trace recorded by the real reeld, beside LTTng-analyses'
# lttng-syscallstats. Prints, as bench/run.sh:
#
#   bench NAME reel=VALUE peer=VALUE unit=UNIT speedup=X
#
# 1. A rotated kernel trace of at least BENCH_AN_EVENTS [10000000] events:
#    bench/syscall-load (2 threads of getppid, read, openat+close) under
#    `enable-event -k sched_switch,sched_wakeup,sched_process_fork,
#    sched_process_exec` and `--syscall -a`, with `enable-rotation --size
#    BENCH_AN_CHUNK [16M]`: a dozen chunks or so.
# 2. analyze_syscalls_events_per_s: `reel analyze syscalls --quiet -j 1` on
#    it (best of BENCH_AN_REPS [3]), beside lttng-syscallstats, which is too
#    slow for that trace: it runs on a smaller one of about 200k events
#    recorded the same way, and its rate (events/s, wall time with Python's
#    start-up) is extrapolated to the big one.
# 3. analyze_syscalls_parallel: `-j 2` against `-j 1` on the big trace (wall
#    seconds, best of BENCH_AN_REPS), and the number of chunks and their
#    sizes in events (a chunk is mapped by one thread: the largest bounds
#    the speedup).
# 4. Peak RSS (/usr/bin/time -v) of each run, and the trace's size.
# 5. analyze_io_sqlite: `reel analyze io --quiet -j 2 --sqlite DB` on the
#    big trace (its I/O log: every read, openat and close a row of the
#    syscall table, every fd interval a row of the fd table) against the
#    same run without --sqlite (wall seconds, best of BENCH_AN_REPS).
#
# Root only, with tracefs: otherwise a SKIPPED line and exit status 0. Its
# own REEL_RUNDIR and traces under a mktemp -d directory in /tmp; the daemon
# is stopped by pid and leaves no tracefs instance; all removed on any exit.
# Exit status 1 when a run fails, or the trace has lost events.
# shellcheck disable=SC2317 # cleanup runs through trap
set -euo pipefail

build=${1:-build-release}
want_events=${BENCH_AN_EVENTS:-10000000}
chunk=${BENCH_AN_CHUNK:-16M}
reps=${BENCH_AN_REPS:-3}
tracefs=/sys/kernel/tracing

source "$(dirname "${BASH_SOURCE[0]}")/reeld-bench.sh"
bench_require "analyses benchmark" bench/syscall-load src/cli/reel src/sessiond/reeld
[[ -x /usr/bin/time ]] || { echo "bench/analyze.sh: /usr/bin/time is needed (package time)" >&2; exit 1; }

bench_private reel-anbench

status=0
calc() { awk "BEGIN { printf \"$1\", $2 }"; }

# record NAME ROUNDS [ROTATION_SIZE]: the syscall loop traced into $tmp/NAME.
record() {
	local name=$1 out=$tmp/$1
	r create "$name" --output "$out" >/dev/null
	r enable-channel -k -s "$name" channel0 --subbuf-size 1M --num-subbuf 32 >/dev/null
	r enable-event -k -s "$name" sched_switch,sched_wakeup,sched_process_fork,sched_process_exec >/dev/null
	r enable-event -k -s "$name" --syscall -a >/dev/null
	[[ -z ${3:-} ]] || r enable-rotation -s "$name" --size "$3" >/dev/null
	r start "$name" >/dev/null
	"$build/bench/syscall-load" mix "$2" 2 >/dev/null
	r stop "$name" >/dev/null
	r destroy "$name" >/dev/null
}

# timed OUT_PREFIX CMD...: wall seconds (with /usr/bin/time's own start) to OUT_PREFIX.s, peak RSS (KB) to
# OUT_PREFIX.kb, stdout to OUT_PREFIX.out.
timed() {
	local o=$1 t0 t1
	shift
	t0=$EPOCHREALTIME
	/usr/bin/time -f "%M" -o "$o.time" "$@" >"$o.out" 2>"$o.err" || {
		echo "# FAILED: $*"
		sed 's/^/#   /' "$o.err" | tail -5
		return 1
	}
	t1=$EPOCHREALTIME
	# wall time to the microsecond (time's %e has two decimals)
	calc %.6f "$t1 - $t0" >"$o.s"
	tail -1 "$o.time" >"$o.kb"
}

# best OUT_PREFIX REPS CMD...: the fastest of REPS runs (its RSS with it).
best() {
	local o=$1 n=$2 i b='' bkb=''
	shift 2
	for i in $(seq "$n"); do
		timed "$o.$i" "$@" || return 1
		if [[ -z $b ]] || awk "BEGIN { exit !($(cat "$o.$i.s") < $b) }"; then
			b=$(cat "$o.$i.s")
			bkb=$(cat "$o.$i.kb")
		fi
	done
	echo "$b" >"$o.s"
	echo "$bkb" >"$o.kb"
	cp "$o.1.out" "$o.out"
}

json_field() { python3 -c "import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }

echo "# Reel analyses, $(date -u +%Y-%m-%dT%H:%M:%SZ), Linux $(uname -r), $(nproc) CPUs ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1))"
echo "# CPU load before the run (1-minute average): $(cut -d' ' -f1 /proc/loadavg)"

start_reeld || exit 1
# syscall-load: 2 threads x 4 syscalls x 2 events a round, plus the rest of
# the machine
rounds=$(( want_events * 21 / 20 / 16 ))
record big "$rounds" "$chunk"
small_rounds=12500
record small "$small_rounds"
kill -TERM "$reeld_pid"
wait "$reeld_pid" || { echo "# reeld exited with an error"; status=1; }
left=$(find "$tracefs/instances" -maxdepth 1 -name "reel-$reeld_pid-*" | wc -l)
reeld_pid=
[[ $left == 0 ]] || { echo "# WARNING: reeld left $left tracefs instances"; status=1; }

timed "$tmp/info" "$build/src/cli/reel" analyze syscalls --json --quiet -j 2 "$tmp/big" || exit 1
events=$(json_field "$tmp/info.out" events)
chunks=$(json_field "$tmp/info.out" chunks)
lost=$(json_field "$tmp/info.out" lost_events)
sizes=$(for c in "$tmp"/big/archives/*/kernel "$tmp"/big/kernel; do
	[[ -f $c/metadata ]] || continue
	"$build/src/cli/reel" analyze syscalls --json --quiet -j 1 "$c" >"$tmp/c.json" && json_field "$tmp/c.json" events
done | tr '\n' ' ')
echo "# trace: $events events, $chunks chunks (events each: $sizes), $(du -sh "$tmp/big" | cut -f1) on disk, $lost lost"
if [[ $events -lt $want_events ]]; then
	echo "# WARNING: fewer events than the $want_events asked for"
	status=1
fi
[[ $lost == 0 ]] || { echo "# WARNING: the trace lost events"; status=1; }

best "$tmp/j1" "$reps" "$build/src/cli/reel" analyze syscalls --quiet -j 1 "$tmp/big" || exit 1
best "$tmp/j2" "$reps" "$build/src/cli/reel" analyze syscalls --quiet -j 2 "$tmp/big" || exit 1
cmp -s "$tmp/j1.out" "$tmp/j2.out" || { echo "# WARNING: -j 1 and -j 2 disagree"; status=1; }
# The best -j 2 can do with these chunks: each thread takes the next chunk
# when it is free (time proportional to events).
bound=$(echo "$sizes" | awk '{ a = 0; b = 0; t = 0
	for (i = 1; i <= NF; i++) { t += $i; if (a <= b) a += $i; else b += $i }
	printf "%.2f", t / (a > b ? a : b) }')
echo "# -j 2 bound by the chunks' sizes (one thread per chunk): ${bound}x"
j1=$(cat "$tmp/j1.s"); j2=$(cat "$tmp/j2.s")
echo "# reel analyze syscalls --quiet -j 1: $j1 s (best of $reps), peak RSS $(cat "$tmp/j1.kb") KB; -j 2: $j2 s, peak RSS $(cat "$tmp/j2.kb") KB"
rate=$(calc %.0f "$events / $j1")

if command -v lttng-syscallstats >/dev/null; then
	timed "$tmp/sinfo" "$build/src/cli/reel" analyze syscalls --json --quiet "$tmp/small" || exit 1
	sevents=$(json_field "$tmp/sinfo.out" events)
	# LTTng-analyses runs on the system's Python, whatever the caller's PATH
	timed "$tmp/lss" env PATH="/usr/bin:$PATH" lttng-syscallstats "$tmp/small/kernel" || exit 1
	ls=$(cat "$tmp/lss.s")
	prate=$(calc %.0f "$sevents / $ls")
	echo "# lttng-syscallstats on a smaller trace of $sevents events (same workload): $ls s, peak RSS $(cat "$tmp/lss.kb") KB; its rate ($prate events/s) extrapolated: $(calc %.0f "$events / $prate") s for the big trace"
	echo "bench analyze_syscalls_events_per_s reel=$rate peer=$prate unit=events/s speedup=$(calc %.1f "$rate / $prate")"
else
	echo "SKIPPED: lttng-syscallstats not installed (python3-lttnganalyses)"
	echo "bench analyze_syscalls_events_per_s reel=$rate peer=0 unit=events/s speedup=0"
fi
best "$tmp/io" "$reps" "$build/src/cli/reel" analyze io --quiet -j 2 "$tmp/big" || exit 1
best "$tmp/iosql" "$reps" "$build/src/cli/reel" analyze io --quiet -j 2 --sqlite "$tmp/big.db" "$tmp/big" || exit 1
cmp -s "$tmp/io.out" "$tmp/iosql.out" || { echo "# WARNING: io's report differs with --sqlite"; status=1; }
rows=$(python3 -c "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); print(*(c.execute(f'SELECT count(*) FROM {t}').fetchone()[0] for t in ('syscall', 'fd')))" "$tmp/big.db")
io=$(cat "$tmp/io.s"); iosql=$(cat "$tmp/iosql.s")
echo "# reel analyze io --quiet -j 2: $io s, peak RSS $(cat "$tmp/io.kb") KB; with --sqlite: $iosql s, peak RSS $(cat "$tmp/iosql.kb") KB; database: $(du -h "$tmp/big.db" | cut -f1), syscall and fd rows: $rows"
echo "bench analyze_io_sqlite reel=$iosql peer=$io unit=s speedup=$(calc %.2f "$io / $iosql")"
echo "bench analyze_syscalls_parallel reel=$j2 peer=$j1 unit=s speedup=$(calc %.2f "$j1 / $j2")"
# memory: bounded by the chunks mapped at once, not the trace (-j 1: one)
echo "bench analyze_syscalls_peak_rss reel=$(cat "$tmp/j2.kb") peer=$(cat "$tmp/j1.kb") unit=KB speedup=$(calc %.2f "$(cat "$tmp/j1.kb") / $(cat "$tmp/j2.kb")")"
exit "$status"
