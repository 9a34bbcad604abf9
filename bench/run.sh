#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/run.sh [BUILD_DIR]: run the same workloads through Reel and through
# LTTng-UST, in one run, and print one line per comparison:
#
#   bench NAME reel=VALUE peer=VALUE unit=UNIT speedup=X
#
# X > 1 means Reel is better by that factor: peer/reel for costs (ns/event,
# bytes), reel/peer for rates and ratios, (peer+1)/(reel+1) for counts of
# discarded events. Lines starting with "#" are for humans. When LTTng-UST
# (the tracebench-lttng binary, lttng, lttng-sessiond) is missing, Reel's
# numbers are printed with a "SKIPPED" line instead, and the exit status is 0.
# The exit status is 1 when babeltrace2 cannot read back a trace exactly.
#
# Reel runs twice: standalone (REEL_OUTPUT, an in-process consumer) and
# under its session daemon (reeld, controlled with reel, as LTTng is with
# lttng-sessiond); lines named daemon_* compare the latter with LTTng.
# Workload g times rotations (reel rotate / lttng rotate, each waiting for
# the chunk to be archived) while an application records paced at
# BENCH_RATE, BENCH_ROTATIONS [5] times.
# Workload f runs 10 applications at once, each emitting as fast as it can,
# with buffers large enough for all of them (BENCH_MULTI_EVENTS [1000000]
# events each): nothing should be discarded.
#
# BUILD_DIR (default build-release) is a meson build directory of this
# project, built with --buildtype=release. doc/benchmarks.md describes the
# workloads and records results. Sizes (defaults in brackets):
#   BENCH_EVENTS [10000000]  events per repetition of a; c runs 20x, b 1/5x,
#                            d 1/2x per thread
#   BENCH_REPS [5]           repetitions; the median is reported
#   BENCH_SECONDS [2]        duration of each sustained-throughput run (e)
#   BENCH_RATE [20000000]    events/s of the paced sustained run
#   BENCH_SUBBUF_SIZE [4M], BENCH_NUM_SUBBUF [8]: both tracers' buffers
# shellcheck disable=SC2317 # functions run through trap and variables
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${1:-build-release}
reel_bin=$build/bench/tracebench-reel
lttng_bin=$build/bench/tracebench-lttng
ctfstat=$here/ctfstat.py

events=${BENCH_EVENTS:-10000000}
reps=${BENCH_REPS:-5}
seconds=${BENCH_SECONDS:-2}
rate=${BENCH_RATE:-20000000}
subbuf=${BENCH_SUBBUF_SIZE:-4M}
nsubbuf=${BENCH_NUM_SUBBUF:-8}

if [[ ! -x $reel_bin ]]; then
	echo "bench/run.sh: $reel_bin not found: build $build first" >&2
	exit 1
fi
command -v python3 >/dev/null || { echo "bench/run.sh: python3 is needed" >&2; exit 1; }
# Tracing is configured here, never inherited.
unset REEL_OUTPUT REEL_EVENTS REEL_SUBBUF_SIZE REEL_NUM_SUBBUF REEL_OVERWRITE \
	REEL_SWITCH_TIMER_US REEL_CLOCK LTTNG_UST_REGISTER_TIMEOUT LTTNG_UST_BLOCKING_RETRY_TIMEOUT

# ---- private state, removed on exit -----------------------------------------------

tmp=$(mktemp -d "${TMPDIR:-/tmp}/reel-bench.XXXXXX")
sessiond_pid=
reeld_pid=
shm_before=$(echo /dev/shm/lttng-ust-wait-*)
cleanup() {
	local rc=$?
	set +e
	if [[ -n $sessiond_pid ]] && kill -0 "$sessiond_pid" 2>/dev/null; then
		# SIGTERM makes it stop its children (consumer daemons, run-as
		# helper); note them first in case one outlives it.
		local children
		children=$(pgrep -P "$sessiond_pid" 2>/dev/null | tr '\n' ' ')
		kill -TERM "$sessiond_pid" 2>/dev/null
		for _ in $(seq 50); do
			kill -0 "$sessiond_pid" 2>/dev/null || break
			sleep 0.1
		done
		# shellcheck disable=SC2086 # a list of pids
		kill -KILL "$sessiond_pid" $children 2>/dev/null
		wait "$sessiond_pid" 2>/dev/null
	fi
	if [[ -n $reeld_pid ]] && kill -0 "$reeld_pid" 2>/dev/null; then
		kill -TERM "$reeld_pid" 2>/dev/null
		wait "$reeld_pid" 2>/dev/null
	fi
	# LTTng-UST apps leave their wait shm files behind: remove the ones
	# this run created.
	local f
	for f in /dev/shm/lttng-ust-wait-*; do
		[[ -e $f && " $shm_before " != *" $f "* ]] && rm -f "$f"
	done
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- helpers --------------------------------------------------------------------------

# get KEY FILE: the value of KEY=VALUE in the result/ctfstat line of FILE.
get() {
	sed -n "s/^\(result\|ctfstat\) .*\<$1=\([^ ]*\).*/\2/p" "$2" | tail -n 1
}

# fmt FORMAT EXPR: floating-point arithmetic, printed with FORMAT.
fmt() {
	awk -v f="$1" "BEGIN { printf f, $2 }" </dev/null
}

# emit NAME REEL PEER UNIT lower|higher|count: the line that scripts parse.
emit() {
	local speedup
	case $5 in
	lower) speedup=$(fmt %.2f "($2 > 0 ? $3 / $2 : 0)") ;;
	higher) speedup=$(fmt %.2f "($3 > 0 ? $2 / $3 : 0)") ;;
	count) speedup=$(fmt %.2f "($3 + 1) / ($2 + 1)") ;;
	esac
	echo "bench $1 reel=$2 peer=$3 unit=$4 speedup=$speedup"
}

to_bytes() {
	case $1 in
	*[kK]) echo $((${1%?} * 1024)) ;;
	*[mM]) echo $((${1%?} * 1024 * 1024)) ;;
	*[gG]) echo $((${1%?} * 1024 * 1024 * 1024)) ;;
	*) echo $(($1)) ;;
	esac
}

# ---- layout ---------------------------------------------------------------------------

nproc=$(nproc)
cpu_a=$((nproc - 1))                 # the emitting thread
cpu_b=$((nproc > 1 ? nproc - 2 : 0)) # the tracers' helpers; workload d's second thread
# The tracers' own threads and daemons (Reel's consumer thread, LTTng's
# session and consumer daemons and its in-process listener threads) start
# confined to cpu_b, so that they never preempt the emitting thread on
# cpu_a; the emitting threads pin themselves.
helpers=()
if ((nproc >= 2)) && command -v taskset >/dev/null; then
	helpers=(taskset -c "$cpu_b")
fi

# Per-event workloads (a, b, d) are timed in chunks that fill a quarter of a
# CPU's buffers, with a pause before each for the consumer to write the
# previous one out at 200 MB/s or more (tracebench.c, "timed chunks"); 12
# and 60 bytes bound the size of an event of a and of b.
quarter=$(($(to_bytes "$subbuf") * nsubbuf / 4))
chunk_a=$((quarter / 12))
chunk_b=$((quarter / 60))
pause=$(((quarter / 200000) > 5 ? quarter / 200000 : 5))
events_b=$((events / 5))

# ---- LTTng availability ------------------------------------------------------------------

lttng_ok=1
lttng_why=
as_user=()
if [[ ! -x $lttng_bin ]]; then
	lttng_ok=0 lttng_why="$lttng_bin was not built (no lttng-ust found by pkg-config at meson setup)"
elif ! command -v lttng >/dev/null || ! command -v lttng-sessiond >/dev/null; then
	lttng_ok=0 lttng_why="lttng / lttng-sessiond not found (Debian: lttng-tools)"
elif [[ $(id -u) == 0 ]]; then
	# root's session daemon and root's lttng client always use the global
	# /var/run/lttng, shared with any other root daemon of the machine,
	# whatever LTTNG_HOME says. An unprivileged user's daemon lives entirely
	# under LTTNG_HOME: run the LTTng side as nobody, privately.
	if command -v setpriv >/dev/null; then
		as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
		chmod 755 "$tmp"
		if ! "${as_user[@]}" test -x "$lttng_bin"; then
			lttng_ok=0 lttng_why="$lttng_bin is not executable by uid 65534 (nobody)"
		fi
	else
		lttng_ok=0 lttng_why="running as root and setpriv(1) is missing"
	fi
fi
lttng_home=$tmp/lttng-home

lt() {
	LTTNG_HOME=$lttng_home "${as_user[@]}" lttng "$@"
}

start_sessiond() {
	mkdir -p "$lttng_home" "$tmp/lttng-traces"
	if ((${#as_user[@]})); then
		chown 65534:65534 "$lttng_home" "$tmp/lttng-traces"
	fi
	# In the foreground of a background job, so that $! is its pid.
	LTTNG_HOME=$lttng_home "${helpers[@]}" "${as_user[@]}" lttng-sessiond --no-kernel \
		>"$tmp/sessiond.log" 2>&1 &
	sessiond_pid=$!
	for _ in $(seq 100); do
		lt list >/dev/null 2>&1 && return 0
		kill -0 "$sessiond_pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "# lttng-sessiond did not start:"
	sed 's/^/#   /' "$tmp/sessiond.log"
	return 1
}

# ---- running the drivers -------------------------------------------------------------------
#
# X_run NAME MODE ARGS...: run the X driver with tracing on into a fresh
# directory; leaves the driver's output in $tmp/NAME.X and the packet scan
# of the trace in $tmp/NAME.X.ctf; for NAME check-*, also what babeltrace2
# read in $tmp/NAME.X.bt. X_app MODE ARGS...: the driver, tracing off.

finish() { # finish TRACE NAME TRACER
	python3 "$ctfstat" "$1" >"$tmp/$2.$3.ctf"
	if [[ $2 == check-* ]]; then
		if babeltrace2 "$1" -c sink.utils.counter >"$tmp/$2.$3.bt" 2>&1; then
			echo "rc=0" >>"$tmp/$2.$3.bt"
		else
			echo "rc=1" >>"$tmp/$2.$3.bt"
		fi
	fi
	rm -rf "$1"
}

reel_app() {
	"${helpers[@]}" "$reel_bin" "$@"
}

reel_run() {
	local name=$1 out=$tmp/trace-reel-$1
	shift
	REEL_OUTPUT=$out REEL_SUBBUF_SIZE=$subbuf REEL_NUM_SUBBUF=$nsubbuf \
		reel_app "$@" >"$tmp/$name.reel"
	finish "$out" "$name" reel
}

lttng_app() {
	LTTNG_HOME=$lttng_home LTTNG_UST_REGISTER_TIMEOUT=-1 "${helpers[@]}" "${as_user[@]}" \
		"$lttng_bin" "$@"
}

# Each run has a session of its own, with a channel sized like Reel's
# buffers; `lttng stop` returns when its data is on disk: timed, it is the
# counterpart of Reel's drain time.
lttng_run() {
	local name=$1 session=reelbench-$$-$1 out=$tmp/lttng-traces/$1
	shift
	lt create "$session" --output="$out" >/dev/null
	lt enable-channel -u -s "$session" --subbuf-size "$subbuf" --num-subbuf "$nsubbuf" c0 >/dev/null
	lt enable-event -u -s "$session" -c c0 'benchp:*' >/dev/null
	lt start "$session" >/dev/null
	lttng_app "$@" >"$tmp/$name.lttng"
	local t0 t1
	t0=$(date +%s.%N)
	lt stop "$session" >/dev/null
	t1=$(date +%s.%N)
	echo "result drain_s=$(fmt %.3f "$t1 - $t0")" >>"$tmp/$name.lttng"
	lt list "$session" >"$tmp/$name.lttng.list"
	lt destroy "$session" >/dev/null
	finish "$out" "$name" lttng
}

# Under Reel's session daemon: a private reeld (run directory and home in
# $tmp), one session per run, buffers as the others'.
reel_bin_dir=$build/src
reeld_rundir=$tmp/reeld-run
r() {
	REEL_RUNDIR=$reeld_rundir HOME=$tmp "$reel_bin_dir/cli/reel" "$@"
}

start_reeld() {
	REEL_RUNDIR=$reeld_rundir HOME=$tmp "${helpers[@]}" "$reel_bin_dir/sessiond/reeld" \
		--rundir "$reeld_rundir" >"$tmp/reeld.log" 2>&1 &
	reeld_pid=$!
	for _ in $(seq 100); do
		[[ -S $reeld_rundir/client.sock ]] && return 0
		kill -0 "$reeld_pid" 2>/dev/null || break
		sleep 0.05
	done
	echo "# reeld did not start:"
	sed 's/^/#   /' "$tmp/reeld.log"
	return 1
}

reeld_app() {
	REEL_RUNDIR=$reeld_rundir "${helpers[@]}" "$reel_bin" "$@"
}

reeld_run() {
	local name=$1 session=bench-$1 out=$tmp/trace-reeld-$1
	shift
	r create "$session" --output "$out" >/dev/null
	r enable-channel -u -s "$session" --subbuf-size "$subbuf" --num-subbuf "$nsubbuf" c0 >/dev/null
	r enable-event -u -s "$session" -c c0 'benchp:*' >/dev/null
	r start "$session" >/dev/null
	reeld_app "$@" >"$tmp/$name.reeld"
	local t0 t1
	t0=$(date +%s.%N)
	r stop "$session" >/dev/null 2>&1
	t1=$(date +%s.%N)
	echo "result drain_s=$(fmt %.3f "$t1 - $t0")" >>"$tmp/$name.reeld"
	r destroy "$session" >/dev/null
	finish "$out" "$name" reeld
}

# f: 10 applications at once through a daemon (reeld or lttng), each
# emitting BENCH_MULTI_EVENTS as fast as it can, with per-CPU buffers that
# hold all of them. multi_run TRACER.
multi_events=${BENCH_MULTI_EVENTS:-1000000}
multi_apps=10
multi_run() {
	local t=$1 out session=bench-multi-$$ i
	local multi_subbuf=4M multi_nsubbuf=$((((multi_apps * multi_events * 16 / nproc) >> 22) + 2))
	# A power of two, as both tracers want.
	local n=2
	while ((n < multi_nsubbuf)); do n=$((n * 2)); done
	multi_nsubbuf=$n
	if [[ $t == reeld ]]; then
		out=$tmp/trace-reeld-f
		r create "$session" --output "$out" >/dev/null
		r enable-channel -u -s "$session" --subbuf-size $multi_subbuf --num-subbuf $multi_nsubbuf c0 >/dev/null
		r enable-event -u -s "$session" -c c0 'benchp:*' >/dev/null
		r start "$session" >/dev/null
	else
		out=$tmp/lttng-traces/f
		lt create "$session" --output="$out" >/dev/null
		lt enable-channel -u -s "$session" --subbuf-size $multi_subbuf --num-subbuf $multi_nsubbuf c0 >/dev/null
		lt enable-event -u -s "$session" -c c0 'benchp:*' >/dev/null
		lt start "$session" >/dev/null
	fi
	local t0 pids=()
	t0=$(date +%s.%N)
	for ((i = 0; i < multi_apps; i++)); do
		${t}_app one_int -n "$multi_events" -r 1 -w 0 -c $((i % nproc)) >"$tmp/f.$t.$i" &
		pids+=($!)
	done
	wait "${pids[@]}"
	if [[ $t == reeld ]]; then
		r stop "$session" >/dev/null 2>&1
		r destroy "$session" >/dev/null
	else
		lt stop "$session" >/dev/null
		lt destroy "$session" >/dev/null
	fi
	local t1
	t1=$(date +%s.%N)
	echo "result emitted=$((multi_apps * multi_events)) seconds=$(fmt %.3f "$t1 - $t0")" >"$tmp/f.$t"
	echo "# f: $multi_apps apps x $multi_events events, buffers $multi_subbuf x $multi_nsubbuf per CPU" >"$tmp/f.$t.about"
	finish "$out" f "$t"
}

# g: rotations while an application records at full speed: each `rotate`
# is timed until it returns (the chunk archived: both tracers' rotate
# commands wait for it), and the application's slowest burst shows whether
# it stalled. rotation_run TRACER.
rotations=${BENCH_ROTATIONS:-5}
rotation_run() {
	local t=$1 session=bench-rot-$$ out i t0 t1
	if [[ $t == reeld ]]; then
		out=$tmp/trace-reeld-g
		r create "$session" --output "$out" >/dev/null
		r enable-channel -u -s "$session" --subbuf-size "$subbuf" --num-subbuf "$nsubbuf" c0 >/dev/null
		r enable-event -u -s "$session" -c c0 'benchp:*' >/dev/null
		r start "$session" >/dev/null
	else
		out=$tmp/lttng-traces/g
		lt create "$session" --output="$out" >/dev/null
		lt enable-channel -u -s "$session" --subbuf-size "$subbuf" --num-subbuf "$nsubbuf" c0 >/dev/null
		lt enable-event -u -s "$session" -c c0 'benchp:*' >/dev/null
		lt start "$session" >/dev/null
	fi
	${t}_app sustained -s $((rotations / 2 + 2)) -R "$rate" -c "$cpu_a" >"$tmp/g.$t" &
	local app=$!
	sleep 0.5
	: >"$tmp/g.$t.times"
	for ((i = 0; i < rotations; i++)); do
		t0=$(date +%s.%N)
		if [[ $t == reeld ]]; then
			r rotate "$session" >/dev/null
		else
			lt rotate "$session" >/dev/null
		fi
		t1=$(date +%s.%N)
		fmt %.3f "1000 * ($t1 - $t0)" >>"$tmp/g.$t.times"
		echo >>"$tmp/g.$t.times"
		sleep 0.3
	done
	wait "$app"
	if [[ $t == reeld ]]; then
		r stop "$session" >/dev/null 2>&1
		r destroy "$session" >/dev/null
	else
		lt stop "$session" >/dev/null
		lt destroy "$session" >/dev/null
	fi
	echo "result rotate_ms=$(sort -g "$tmp/g.$t.times" | sed -n "$((rotations / 2 + 1))p")" \
		"rotate_max_ms=$(sort -g "$tmp/g.$t.times" | tail -n 1)" >>"$tmp/g.$t"
	rm -rf "$out"
}

# run_all TRACER: every workload through one tracer.
run_all() {
	local run=$1_run
	$run a one_int -n "$events" -r "$reps" -w "$chunk_a" -k "$chunk_a" -p "$pause" -c "$cpu_a"
	$run b four_u64_str -n "$events_b" -r "$reps" -w "$chunk_b" -k "$chunk_b" -p "$pause" -c "$cpu_a"
	if ((nproc >= 2)); then
		$run d scaling -n "$((events / 2))" -r "$reps" -w "$chunk_a" -k "$chunk_a" -p "$pause" \
			-c "$cpu_a,$cpu_b"
	fi
	$run e_max sustained -s "$seconds" -R 0 -c "$cpu_a"
	$run e_paced sustained -s "$seconds" -R "$rate" -c "$cpu_a"
	if command -v babeltrace2 >/dev/null; then
		$run check-a one_int -n 100000 -r 1 -w 0 -c "$cpu_a"
		$run check-b four_u64_str -n 100000 -r 1 -w 0 -c "$cpu_a"
	fi
}

# ---- header ------------------------------------------------------------------------------------

cpu_model=$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)
hz=$(getconf CLK_TCK)

# busy_ticks: CPU time spent by everything on the machine so far, in ticks.
busy_ticks() {
	local _ u n s q sq st
	read -r _ u n s _ _ q sq st _ </proc/stat
	echo $((u + n + s + q + sq + st))
}
# our_ticks FILE: the CPU time of this script's finished children (bash's
# `times`, which must run in this shell, not in a subshell) and of the
# session daemon's process tree, in ticks, into FILE.
our_ticks() {
	local t pid
	times >"$tmp/times"
	t=$(tail -n 1 "$tmp/times" | awk -v hz="$hz" '{
		n = 0
		for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); n += a[1] * 60 + a[2] }
		printf "%d", n * hz }')
	if [[ -n $sessiond_pid ]]; then
		for pid in $sessiond_pid $(pgrep -P "$sessiond_pid" 2>/dev/null); do
			t=$((t + $(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$pid/stat" 2>/dev/null || echo 0)))
		done
	fi
	echo "$t" >"$1"
}

# How busy the machine is without us: other load skews every number.
b0=$(busy_ticks)
sleep 0.5
busy=$((($(busy_ticks) - b0) * 100 / (hz * nproc / 2)))
start_busy=$(busy_ticks) start_s=$(date +%s.%N)
our_ticks "$tmp/start-ticks"

echo "# Reel vs LTTng-UST, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -sr), $nproc CPUs (${cpu_model:-unknown})"
if ((lttng_ok)); then
	echo "# peer: LTTng-UST $(pkg-config --modversion lttng-ust 2>/dev/null || echo '?')," \
		"$(lttng --version | head -n 1)"
fi
echo "# buffers ${subbuf} x ${nsubbuf} per CPU for both; emitting thread on CPU $cpu_a," \
	"tracer helpers on CPU $cpu_b; median of $reps reps"
echo "# a: $events events/rep, b: $events_b, c: $((events * 20)), d: $((events / 2)) per thread;" \
	"a, b, d timed in chunks of $chunk_a (a, d) / $chunk_b (b) events after $pause ms pauses;" \
	"e: ${seconds} s unpaced, and paced at $rate events/s"
echo "# machine busy before the run: ${busy}% of all CPUs"
if ((nproc >= 2)); then
	reel_app baseline -n "$((events / 2))" -r "$reps" -w "$chunk_a" -k "$chunk_a" -p "$pause" \
		-c "$cpu_a,$cpu_b" >"$tmp/base"
	echo "# machine: d without a tracer (read the TSC, store 8 bytes) runs" \
		"$(get scaling "$tmp/base")x as fast on CPUs $cpu_a+$cpu_b as on CPU $cpu_a alone"
fi

# ---- the runs ------------------------------------------------------------------------------

run_all reel
reeld_ok=0
if [[ -x $reel_bin_dir/sessiond/reeld ]] && start_reeld; then
	reeld_ok=1
	reeld_run a one_int -n "$events" -r "$reps" -w "$chunk_a" -k "$chunk_a" -p "$pause" -c "$cpu_a"
	reeld_run b four_u64_str -n "$events_b" -r "$reps" -w "$chunk_b" -k "$chunk_b" -p "$pause" -c "$cpu_a"
	reeld_run e_max sustained -s "$seconds" -R 0 -c "$cpu_a"
	reeld_run e_paced sustained -s "$seconds" -R "$rate" -c "$cpu_a"
	if command -v babeltrace2 >/dev/null; then
		reeld_run check-a one_int -n 100000 -r 1 -w 0 -c "$cpu_a"
	fi
	multi_run reeld
	rotation_run reeld
fi
if ((lttng_ok)); then
	if start_sessiond; then
		run_all lttng
		multi_run lttng
		rotation_run lttng
	else
		lttng_ok=0 lttng_why="lttng-sessiond failed to start"
	fi
fi

# c: a disabled tracepoint costs about a cycle, so that the machine's drift
# over a minute shows; the two drivers take turns, three times, and the
# median of the three medians is kept.
for _ in 1 2 3; do
	reel_app disabled -n "$((events * 20))" -r "$reps" -c "$cpu_a" >>"$tmp/c.reel.all"
	if ((lttng_ok)); then
		lttng_app disabled -n "$((events * 20))" -r "$reps" -c "$cpu_a" >>"$tmp/c.lttng.all"
	fi
done
for t in reel lttng; do
	[[ -f $tmp/c.$t.all ]] || continue
	sed -n 's/.*ns_per_event=\([^ ]*\).*/\1/p' "$tmp/c.$t.all" | sort -g | sed -n 2p |
		sed 's/^/result ns_per_event=/' >"$tmp/c.$t"
done

# ---- report --------------------------------------------------------------------------------

# lost NAME TRACER: events the tracer counted as discarded in run NAME.
lost() { get discarded "$tmp/$1.$2.ctf"; }
# recorded NAME TRACER: events that reached the trace.
recorded() { echo $(($(get emitted "$tmp/$1.$2") - $(lost "$1" "$2"))); }

# The CPU time that neither this script's processes nor the session daemon
# used during the run: other load, plus the kernel's own work (writeback of
# the traces, interrupts), which is why it is never quite 0.
our_ticks "$tmp/end-ticks"
others=$((($(busy_ticks) - start_busy) - ($(cat "$tmp/end-ticks") - $(cat "$tmp/start-ticks"))))
other=$(fmt %.0f "100 * $others / ($hz * $nproc * ($(date +%s.%N) - $start_s))")
echo "# CPU time used by others during the run: ${other}% of all CPUs"
if ((busy > 10 || other > 10)); then
	echo "# warning: the machine was busy: expect noisy, pessimistic numbers"
fi

status=0
if ((reeld_ok)); then
	echo "# reeld a: $(get ns_per_event "$tmp/a.reeld") ns/event (discarded $(lost a reeld));" \
		"b: $(get ns_per_event "$tmp/b.reeld") ns/event (discarded $(lost b reeld))"
	for e in e_max e_paced; do
		echo "# reeld $e: emitted $(get emitted "$tmp/$e.reeld") in $(get seconds "$tmp/$e.reeld") s," \
			"recorded $(recorded $e reeld), discarded $(lost $e reeld);" \
			"on disk $(get drain_s "$tmp/$e.reeld") s after the loop"
	done
	cat "$tmp/f.reeld.about"
	echo "# reeld f: recorded $(recorded f reeld), discarded $(lost f reeld)," \
		"$(get seconds "$tmp/f.reeld") s from the first start to the trace on disk"
	read_back=$(sed -n 's/^ *\([0-9]*\) Event messages.*/\1/p' "$tmp/check-a.reeld.bt" 2>/dev/null | tail -n 1)
	if [[ -f $tmp/check-a.reeld.bt ]]; then
		if grep -q '^rc=1' "$tmp/check-a.reeld.bt" || [[ ${read_back:-x} != "$(recorded check-a reeld)" ]]; then
			echo "# ERROR: babeltrace2 read ${read_back:-no} events of reeld's check-a trace"
			status=1
		else
			echo "# reeld check-a: babeltrace2 read back all $read_back events"
		fi
	fi
fi
tracers=(reel)
((lttng_ok)) && tracers+=(lttng)
for t in "${tracers[@]}"; do
	echo "# $t a: $(get ns_per_event "$tmp/a.$t") ns/event" \
		"(min $(get min "$tmp/a.$t"), max $(get max "$tmp/a.$t"), discarded $(lost a "$t"));" \
		"b: $(get ns_per_event "$tmp/b.$t") ns/event (discarded $(lost b "$t"));" \
		"c: $(get ns_per_event "$tmp/c.$t") ns/call"
	if ((nproc >= 2)); then
		echo "# $t d: 1 thread $(get rate1 "$tmp/d.$t")/s, 2 threads $(get rate2 "$tmp/d.$t")/s;" \
			"each thread over its own running time, on CPUs $cpu_a,$cpu_b:" \
			"$(get rate2_each "$tmp/d.$t" | sed 's/,/ + /')/s; discarded $(lost d "$t")"
	fi
	for e in e_max e_paced; do
		echo "# $t $e: emitted $(get emitted "$tmp/$e.$t") in $(get seconds "$tmp/$e.$t") s" \
			"($(get rate "$tmp/$e.$t")/s), recorded $(recorded $e "$t"), discarded $(lost $e "$t");" \
			"on disk $(get drain_s "$tmp/$e.$t") s after the loop;" \
			"slowest burst of $(get burst "$tmp/$e.$t"): $(get longest_burst_us "$tmp/$e.$t") us"
	done
	for n in a b d; do
		if [[ -f $tmp/$n.$t.ctf ]] && (($(lost $n "$t") > 0)); then
			echo "# warning: $t discarded events in workload $n: its cost is partly that of discarding"
		fi
	done
	for n in check-a check-b; do
		[[ -f $tmp/$n.$t.bt ]] || continue
		read_back=$(sed -n 's/^ *\([0-9]*\) Event messages.*/\1/p' "$tmp/$n.$t.bt" | tail -n 1)
		if grep -q '^rc=1' "$tmp/$n.$t.bt" || [[ ${read_back:-x} != "$(recorded $n "$t")" ]]; then
			echo "# ERROR: babeltrace2 read ${read_back:-no} events of $t's $n trace," \
				"$(recorded $n "$t") expected:"
			grep -v '^rc=' "$tmp/$n.$t.bt" | head -n 20 | sed 's/^/#   /'
			status=1
		else
			echo "# $t $n: babeltrace2 read back all $read_back events"
		fi
	done
done
if ((lttng_ok)); then
	# The packet scan against LTTng's own statistics.
	for n in a b d e_max e_paced; do
		[[ -f $tmp/$n.lttng.list ]] || continue
		listed=$(sed -n 's/.*Discarded events: *\([0-9]*\).*/\1/p' "$tmp/$n.lttng.list" | head -n 1)
		if [[ -n $listed && $listed != "$(lost $n lttng)" ]]; then
			echo "# warning: lttng $n: 'lttng list' says $listed discarded, its packets $(lost $n lttng)"
		fi
	done
fi

if ((!lttng_ok)); then
	echo "SKIPPED: comparison with LTTng-UST: $lttng_why"
	exit "$status"
fi

emit one_int "$(get ns_per_event "$tmp/a.reel")" "$(get ns_per_event "$tmp/a.lttng")" ns/event lower
emit four_u64_str "$(get ns_per_event "$tmp/b.reel")" "$(get ns_per_event "$tmp/b.lttng")" ns/event lower
emit disabled "$(get ns_per_event "$tmp/c.reel")" "$(get ns_per_event "$tmp/c.lttng")" ns/event lower
if ((nproc >= 2)); then
	emit scaling_2threads "$(get scaling "$tmp/d.reel")" "$(get scaling "$tmp/d.lttng")" x higher
	# The same over each thread's CPU time: the writers' own scalability,
	# without the time the tracer's consumer took from them.
	emit scaling_2threads_cpu "$(get scaling_cpu "$tmp/d.reel")" \
		"$(get scaling_cpu "$tmp/d.lttng")" x higher
fi
for e in max paced; do
	emit "sustained_${e}_recorded" \
		"$(fmt %.0f "$(recorded e_$e reel) / $(get seconds "$tmp/e_$e.reel")")" \
		"$(fmt %.0f "$(recorded e_$e lttng) / $(get seconds "$tmp/e_$e.lttng")")" events/s higher
	emit "sustained_${e}_discarded" "$(lost e_$e reel)" "$(lost e_$e lttng)" events count
done
bytes_per_event() { fmt %.3f "$(get bytes "$tmp/a.$1.ctf") / $(recorded a "$1")"; }
emit bytes_per_event_one_int "$(bytes_per_event reel)" "$(bytes_per_event lttng)" bytes lower
if ((reeld_ok)); then
	emit daemon_one_int "$(get ns_per_event "$tmp/a.reeld")" "$(get ns_per_event "$tmp/a.lttng")" ns/event lower
	emit daemon_four_u64_str "$(get ns_per_event "$tmp/b.reeld")" "$(get ns_per_event "$tmp/b.lttng")" ns/event lower
	emit daemon_sustained_max_recorded \
		"$(fmt %.0f "$(recorded e_max reeld) / $(get seconds "$tmp/e_max.reeld")")" \
		"$(fmt %.0f "$(recorded e_max lttng) / $(get seconds "$tmp/e_max.lttng")")" events/s higher
	emit daemon_sustained_max_discarded "$(lost e_max reeld)" "$(lost e_max lttng)" events count
	emit daemon_sustained_paced_recorded \
		"$(fmt %.0f "$(recorded e_paced reeld) / $(get seconds "$tmp/e_paced.reeld")")" \
		"$(fmt %.0f "$(recorded e_paced lttng) / $(get seconds "$tmp/e_paced.lttng")")" events/s higher
	emit daemon_sustained_paced_discarded "$(lost e_paced reeld)" "$(lost e_paced lttng)" events count
	echo "# lttng f: recorded $(recorded f lttng), discarded $(lost f lttng)," \
		"$(get seconds "$tmp/f.lttng") s from the first start to the trace on disk"
	emit daemon_10apps_discarded "$(lost f reeld)" "$(lost f lttng)" events count
	emit daemon_10apps_seconds "$(get seconds "$tmp/f.reeld")" "$(get seconds "$tmp/f.lttng")" s lower
	for t in reeld lttng; do
		echo "# $t g: $rotations rotations while emitting $(get rate "$tmp/g.$t")/s (paced at $rate):" \
			"median $(get rotate_ms "$tmp/g.$t") ms, slowest $(get rotate_max_ms "$tmp/g.$t") ms;" \
			"the application's slowest burst of $(get burst "$tmp/g.$t"): $(get longest_burst_us "$tmp/g.$t") us"
	done
	emit rotate_under_load "$(get rotate_ms "$tmp/g.reeld")" "$(get rotate_ms "$tmp/g.lttng")" ms lower
	emit rotate_app_longest_burst "$(get longest_burst_us "$tmp/g.reeld")" \
		"$(get longest_burst_us "$tmp/g.lttng")" us lower
fi
exit "$status"
