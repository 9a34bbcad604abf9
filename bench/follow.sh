#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/follow.sh [BUILD_DIR]: the lag of `reel analyze syscalls --follow
# OUTPUT --metrics` (doc/metrics.md) behind a session rotating every
# BENCH_FOLLOW_PERIOD [2s] under bench/syscall-load (2 threads of getppid,
# read, openat+close) with `enable-event -k sched_switch,...` and
# `--syscall -a`. For BENCH_FOLLOW_CHUNKS [8] chunks, a poller (100 ms)
# notes when the daemon announces each one (the mtime of
# OUTPUT/.reel-archived) and when /metrics first shows it
# (reel_chunks_total); afterwards each chunk is analysed alone (`reel
# analyze syscalls --quiet -j 1 CHUNK`, wall time). Prints, as the others:
#
#   bench follow_lag_announced_to_visible reel=MEDIAN peer=MAX unit=ms speedup=1
#   bench follow_lag_event_to_visible reel=MAX peer=TARGET unit=ms speedup=TARGET/MAX
#
# With BENCH_FOLLOW_ENGINE=1 the issue's cluster form instead (lines named
# follow_engine_lag_*): a nats-server (dist/nats-server.conf, a private
# store, a free port), 2 `reel worker`s, the session `enable-rotation
# --publish URL`, and the follower `reel analyze syscalls --follow --engine
# URL --metrics`, which takes the chunks from reeld's announcements and has
# the workers map them (SKIPPED without nats-server).
#
# where event_to_visible runs from the chunk's last event
# (reel_newest_event_timestamp_seconds) to its visibility, and TARGET is the
# issue's bound: one rotation period plus the slowest chunk's analysis time
# (plus the poller's 100 ms). Exit status 1 when a chunk is over it.
#
# Root only, with tracefs: otherwise a SKIPPED line and exit status 0. Its
# own REEL_RUNDIR and trace under a mktemp -d directory in /tmp; the daemon
# and the follower are stopped by pid, and all removed on any exit.
# shellcheck disable=SC2317 # cleanup runs through trap
set -euo pipefail

build=${1:-build-release}
period=${BENCH_FOLLOW_PERIOD:-2s}
chunks=${BENCH_FOLLOW_CHUNKS:-8}
tracefs=/sys/kernel/tracing

source "$(dirname "${BASH_SOURCE[0]}")/reeld-bench.sh"
bench_require "follow benchmark" bench/syscall-load src/cli/reel src/sessiond/reeld

engine=${BENCH_FOLLOW_ENGINE:-0}
bench_name=follow_lag
if [[ $engine == 1 ]]; then
	bench_name=follow_engine_lag
	if ! command -v nats-server >/dev/null; then
		echo "SKIPPED: follow benchmark through the broker: no nats-server (apt-get install nats-server)"
		exit 0
	fi
fi

bench_private reel-follow
follow_pid= load_pid= nats_pid= worker_pids=()
bench_cleanup_extra() {
	for p in $load_pid $follow_pid "${worker_pids[@]}" $nats_pid; do
		kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
}

start_reeld

follow_args=("$tmp/out")
publish_args=()
if [[ $engine == 1 ]]; then
	src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	url=nats://127.0.0.1:$port
	nats-server -c "$src/dist/nats-server.conf" -p "$port" -sd "$tmp/nats" >"$tmp/nats.log" 2>&1 &
	nats_pid=$!
	for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
	for i in 1 2; do
		"$build/src/cli/reel" worker --engine "$url" 2>"$tmp/worker-$i.log" &
		worker_pids+=($!)
	done
	follow_args=(--engine "$url")
	publish_args=(--publish "$url")
fi

out=$tmp/out
r create lag --output "$out" >/dev/null
r enable-channel -k channel0 --subbuf-size 1M --num-subbuf 32 >/dev/null
r enable-event -k sched_switch,sched_wakeup,sched_process_fork,sched_process_exec >/dev/null
r enable-event -k --syscall -a >/dev/null
r enable-rotation --timer "$period" "${publish_args[@]}" >/dev/null
r start >/dev/null

"$build/src/cli/reel" analyze syscalls --follow "${follow_args[@]}" --metrics 127.0.0.1:0 --quiet -j 2 \
	>"$tmp/follow.out" 2>"$tmp/follow.err" &
follow_pid=$!
( while :; do "$build/bench/syscall-load" mix 100000 2 >/dev/null; done ) &
load_pid=$!

for _ in $(seq 100); do
	grep -q "^Serving" "$tmp/follow.err" && break
	sleep 0.05
done
url=$(sed -n 's/^Serving the metrics on //p' "$tmp/follow.err")
[[ -n $url ]] || { echo "# the follower did not start:"; sed 's/^/#   /' "$tmp/follow.err"; exit 1; }

/usr/bin/python3 - "$out" "$url" "$chunks" >"$tmp/lags" <<'PY'
import os, re, sys, time, urllib.request
out, url, want = sys.argv[1], sys.argv[2], int(sys.argv[3])
marker = os.path.join(out, ".reel-archived")
announced, seen = {}, {}
first = None
def scrape():
    with urllib.request.urlopen(url, timeout=30) as r:
        body = r.read().decode()
    def val(name):
        m = re.search(rf"^{name} (\S+)$", body, re.M)
        return float(m.group(1)) if m else None
    return val("reel_chunks_total"), val("reel_newest_event_timestamp_seconds"), val("reel_result_updated_timestamp_seconds")
deadline = time.time() + 600
while len(seen) < want and time.time() < deadline:
    try:
        st = os.stat(marker)
        idx, name = open(marker).read().split()
        idx = int(idx)
        if idx not in announced:
            announced[idx] = (st.st_mtime_ns / 1e9, name)
            if first is None:
                first = idx
    except (OSError, ValueError):
        pass
    if first is not None:
        n, newest, updated = scrape()
        now = time.time()
        k = first + int(n or 0) - 1
        if n and k not in seen and k in announced:
            seen[k] = (now, newest, updated)
    time.sleep(0.1)
for k in sorted(seen):
    if k in announced:
        t_ann, name = announced[k]
        now, newest, updated = seen[k]
        print(k, name, f"{(now - t_ann) * 1e3:.1f}", f"{(now - newest) * 1e3:.1f}", f"{(updated - t_ann) * 1e3:.1f}")
PY

kill -TERM "$load_pid" 2>/dev/null; wait "$load_pid" 2>/dev/null || true; load_pid=
period_ms=$(awk -v p="$period" 'BEGIN { v = p + 0; if (p ~ /ms$/) print v; else if (p ~ /m$/) print v * 60000; else print v * 1000 }')
status=0
max_an=0
while read -r idx name ann ev upd; do
	t0=$EPOCHREALTIME
	"$build/src/cli/reel" analyze syscalls --quiet -j 1 "$out/archives/$name" >/dev/null
	an=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", (b - a) * 1000 }')
	echo "# chunk $idx: announced->visible ${ann} ms (follower's own stamp ${upd} ms), last event->visible ${ev} ms, analysis alone ${an} ms"
	max_an=$(awk -v a="$max_an" -v b="$an" 'BEGIN { print (b > a ? b : a) }')
done <"$tmp/lags"
[[ -s $tmp/lags ]] || { echo "# no chunk measured"; exit 1; }
med=$(awk '{ print $3 }' "$tmp/lags" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
maxann=$(awk '{ print $3 }' "$tmp/lags" | sort -n | tail -1)
maxev=$(awk '{ print $4 }' "$tmp/lags" | sort -n | tail -1)
target=$(awk -v p="$period_ms" -v a="$max_an" 'BEGIN { printf "%.1f", p + a + 100 }')
echo "bench ${bench_name}_announced_to_visible reel=$med peer=$maxann unit=ms speedup=1"
echo "bench ${bench_name}_event_to_visible reel=$maxev peer=$target unit=ms speedup=$(awk -v t="$target" -v m="$maxev" 'BEGIN { printf "%.2f", t / m }')"
awk -v t="$target" -v m="$maxev" 'BEGIN { exit !(m <= t) }' || { echo "# over the target"; status=1; }
exit $status
