#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/kernel.sh [BUILD_DIR]: Reel's kernel domain, beside what the kernel
# itself and libtraceevent do with the same events. Prints, as bench/run.sh:
#
#   bench NAME reel=VALUE peer=VALUE unit=UNIT speedup=X
#
# 1. kconv_*: bench/kconv-bench (src/kernel/kconvert on real raw pages it
#    captures; peer: libtraceevent's kbuffer + tep reading the same pages).
# 2. kernel_syscall_*: bench/syscall-load (2 threads, each BENCH_KROUNDS
#    rounds of getppid, a 1-byte read of /dev/zero, openat+close) timed
#    (a) without tracing, (b) with a raw tracefs instance recording
#    sched_switch, sched_wakeup and every syscall, no consumer, buffers as
#    Reel's (4096 KB per CPU, overwritten when full: every event is
#    written), (c) under reeld: `enable-event -k sched_switch,sched_wakeup`
#    and `--syscall -a`, default buffers. Slowdowns (b)/(a) and (c)/(a);
#    events recorded and discarded in Reel's traces, and the getppid
#    entries counted in the first one against those the workload made.
# 3. kernel_openat_*: the same with openat+close only (BENCH_KOPEN_ROUNDS),
#    the path syscalls whose strings Reel's eBPF program copies.
# BENCH_KREPS [3] repetitions of a, b, c in turn; medians are reported.
# LTTng's kernel tracer is tried too: without lttng-modules a line says it
# cannot record, and why.
#
# Root only, with tracefs: otherwise a SKIPPED line and exit status 0. Its
# own REEL_RUNDIR and outputs under a mktemp -d directory in /tmp; the
# daemon is stopped by pid and every tracefs instance it made removed, on
# any exit. Exit status 1 when a run fails or Reel loses events.
# shellcheck disable=SC2317 # cleanup runs through trap
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${1:-build-release}
rounds=${BENCH_KROUNDS:-100000}
open_rounds=${BENCH_KOPEN_ROUNDS:-100000}
reps=${BENCH_KREPS:-3}
tracefs=/sys/kernel/tracing

source "$here/reeld-bench.sh"
bench_require "kernel benchmarks" bench/kconv-bench bench/syscall-load src/cli/reel src/sessiond/reeld
command -v babeltrace2 >/dev/null || { echo "bench/kernel.sh: babeltrace2 is needed" >&2; exit 1; }

# ---- private state, removed on exit -----------------------------------------------

bench_private reel-kbench
instance=$tracefs/instances/reel-bench-tracefs-$$
bench_cleanup_extra() { tracefs_off >/dev/null 2>&1; }

status=0
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
range() { sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s-%s", lo, hi }'; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }

# The kernel's own tracing, no consumer: events written, never read.
tracefs_on() {
	mkdir "$instance"
	echo 0 >"$instance/tracing_on"
	echo 1 >"$instance/options/overwrite"
	echo 4096 >"$instance/buffer_size_kb"
	echo 1 >"$instance/events/sched/sched_switch/enable"
	echo 1 >"$instance/events/sched/sched_wakeup/enable"
	echo 1 >"$instance/events/syscalls/enable"
	echo 1 >"$instance/tracing_on"
}
tracefs_off() {
	[[ -d $instance ]] || return 0
	echo 0 >"$instance/tracing_on"
	echo 0 >"$instance/events/enable"
	rmdir "$instance"
}


# load MODE ROUNDS: the workload's wall time in seconds.
load() {
	"$build/bench/syscall-load" "$1" "$2" 2 | sed -n 's/^result wall_s=\([0-9.]*\).*/\1/p'
}

# reel_run NAME MODE ROUNDS: wall time under reeld; the trace in $tmp/NAME.
reel_run() {
	local name=$1 out=$tmp/$1
	r create "$name" --output "$out" >/dev/null
	r enable-event -k -s "$name" sched_switch,sched_wakeup >/dev/null
	r enable-event -k -s "$name" --syscall -a >/dev/null
	r start "$name" >/dev/null
	load "$2" "$3"
	r stop "$name" >/dev/null
	r destroy "$name" >/dev/null
}

echo "# Reel kernel domain, $(date -u +%Y-%m-%dT%H:%M:%SZ), Linux $(uname -r), $(nproc) CPUs ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1))"
echo "# CPU load before the run (1-minute average): $(cut -d' ' -f1 /proc/loadavg)"

# ---- 1. the converter ---------------------------------------------------------------

"$build/bench/kconv-bench" "${BENCH_KCONV_SECONDS:-1}" 65536 5 || status=1

# ---- LTTng's kernel tracer --------------------------------------------------------

if [[ -d /sys/module/lttng_tracer ]]; then
	echo "# LTTng: lttng-modules are loaded, but this script does not run them yet"
else
	echo "SKIPPED: comparison with LTTng's kernel tracer: lttng-modules not loaded on this kernel ($(uname -r)): \`lttng enable-event -k\` answers \"Kernel tracer not available\""
fi

# ---- 2, 3. syscall-heavy workloads -----------------------------------------------

start_reeld || exit 1

# workload NAME MODE ROUNDS CALLS_PER_ROUND
workload() {
	local name=$1 mode=$2 n=$3 per=$4 rep a b c
	: >"$tmp/$name.a"; : >"$tmp/$name.b"; : >"$tmp/$name.c"; : >"$tmp/$name.lost"
	for rep in $(seq "$reps"); do
		load "$mode" "$n" >>"$tmp/$name.a"
		tracefs_on
		load "$mode" "$n" >>"$tmp/$name.b"
		tracefs_off
		rm -rf "$tmp/$name-$rep"
		reel_run "$name-$rep" "$mode" "$n" >>"$tmp/$name.c"
		python3 "$here/ctfstat.py" "$tmp/$name-$rep/kernel" |
			sed -n 's/.* discarded=\([0-9]*\).*/\1/p' >>"$tmp/$name.lost"
		if [[ $rep == 1 ]]; then
			babeltrace2 "$tmp/$name-$rep/kernel" -c sink.utils.counter 2>"$tmp/$name.bt.err" |
				sed -n 's/^ *\([0-9]*\) Event messages/\1/p' | tail -1 >"$tmp/$name.events"
			"$build/src/cli/reel" view --names syscall_entry_getppid,syscall_entry_openat \
				--fields "$tmp/$name-$rep" 2>/dev/null |
				awk '/syscall_entry_getppid/ { g++ } /syscall_entry_openat/ && /"\/dev\/null"/ { o++ }
				 END { printf "%d %d\n", g, o }' >"$tmp/$name.counts"
		fi
		rm -rf "$tmp/$name-$rep"
	done
	a=$(median <"$tmp/$name.a"); b=$(median <"$tmp/$name.b"); c=$(median <"$tmp/$name.c")
	local calls=$((n * 2 * per)) lost events g o
	lost=$(awk '{ s += $1 } END { print s + 0 }' "$tmp/$name.lost")
	events=$(cat "$tmp/$name.events")
	read -r g o <"$tmp/$name.counts"
	local want_g=0
	[[ $mode != mix ]] || want_g=$((n * 2))
	echo "# $name: $calls syscalls in 2 threads; wall s, median of $reps (range): none $a ($(range <"$tmp/$name.a")), tracefs $b ($(range <"$tmp/$name.b")), reel $c ($(range <"$tmp/$name.c"))"
	echo "# $name: extra ns per syscall: tracefs $(calc %.0f "($b - $a) * 1e9 / $calls * 2"), reel $(calc %.0f "($c - $a) * 1e9 / $calls * 2") (wall time x 2 threads / syscalls)"
	echo "# $name: reel's first trace: $events events; syscall_entry_getppid $g (workload: $want_g), syscall_entry_openat of \"/dev/null\" $o (workload: $((n * 2)); the trace has every process); discarded per run: $(tr '\n' ' ' <"$tmp/$name.lost")"
	grep -i discard "$tmp/$name.bt.err" | head -3 | sed 's/^/# babeltrace2: /' || true
	local ok=1
	[[ $lost == 0 ]] || ok=0
	[[ $g -ge $want_g && $o -ge $((n * 2)) ]] || ok=0
	if [[ $ok == 0 ]]; then
		echo "# WARNING: Reel lost events in $name"
		status=1
	fi
	echo "bench ${name}_slowdown reel=$(calc %.3f "$c / $a") peer=$(calc %.3f "$b / $a") unit=ratio speedup=$(calc %.2f "$b / $c")"
	echo "bench ${name}_lost_events reel=$lost peer=0 unit=events speedup=$(calc %.2f "1 / ($lost + 1)")"
}

workload kernel_syscall mix "$rounds" 4
workload kernel_openat openat "$open_rounds" 2

# ---- 4. the cost of the eBPF argument reader ----------------------------------------
# The openat workload again under a reeld started with
# REEL_KERNEL_SYSCALL_ARGS=off (paths recorded as pointers), beside the
# same run with the eBPF program (the reel column of kernel_openat).
kill -TERM "$reeld_pid"
wait "$reeld_pid" 2>/dev/null || true
export REEL_KERNEL_SYSCALL_ARGS=off
start_reeld || exit 1
: >"$tmp/noebpf.c"
for rep in $(seq "$reps"); do
	rm -rf "$tmp/noebpf-$rep"
	reel_run "noebpf-$rep" openat "$open_rounds" >>"$tmp/noebpf.c"
	rm -rf "$tmp/noebpf-$rep"
done
unset REEL_KERNEL_SYSCALL_ARGS
a=$(median <"$tmp/kernel_openat.a"); with=$(median <"$tmp/kernel_openat.c"); without=$(median <"$tmp/noebpf.c")
echo "# kernel_openat_ebpf: reel without the eBPF program $without s ($(range <"$tmp/noebpf.c")), with it $with s, untraced $a s; eBPF's extra ns per openat+close round: $(calc %.0f "($with - $without) * 1e9 / $open_rounds")"
echo "bench kernel_openat_ebpf_slowdown reel=$(calc %.3f "$with / $a") peer=$(calc %.3f "$without / $a") unit=ratio speedup=$(calc %.2f "$without / $with")"
exit "$status"
