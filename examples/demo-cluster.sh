#!/bin/bash
# make demo-cluster: the distributed analyses end to end (doc/dist.md). A
# NATS broker (Debian's nats-server, dist/nats-server.conf: JetStream on,
# loopback, a private store), three `reel worker`s, a session daemon
# recording the kernel while a workload runs, rotating every second and
# announcing each chunk to the broker (--publish), a follower of those
# announcements serving Prometheus metrics, then a batch analysis of the
# announced chunks through the workers; both beside the same analysis with
# local threads. Everything started here is stopped by its pid.
# Root only (the kernel domain). Usage: examples/demo-cluster.sh BUILD_DIR
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
if [ "$(id -u)" != 0 ] || [ ! -d /sys/kernel/tracing/instances ]; then
	echo "demo-cluster: records the kernel: needs root and tracefs" >&2
	exit 1
fi
work=$(mktemp -d /tmp/reel-cluster.XXXXXX)
export REEL_RUNDIR=$work/run HOME=$work/home
export PATH=$build/src/cli:$build/src/sessiond:$PATH
mkdir -p "$HOME"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

step() { echo "== $*"; "$@"; }

port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url=nats://127.0.0.1:$port
echo "== nats-server -c dist/nats-server.conf -p $port -sd $work/nats"
nats-server -c "$src/dist/nats-server.conf" -p "$port" -sd "$work/nats" >"$work/nats.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done

for i in 1 2 3; do
	echo "== reel worker --engine $url  (worker $i, log $work/worker$i.log)"
	reel worker --engine "$url" 2>"$work/worker$i.log" &
	pids+=($!)
done

reeld --rundir "$REEL_RUNDIR" 2>"$work/reeld.log" &
pids+=($!)
for _ in $(seq 100); do [ -S "$REEL_RUNDIR/client.sock" ] && break; sleep 0.05; done

step reel create cluster --output "$work/trace"
step reel add-context -k -t tid
step reel enable-event -k sched_switch,sched_process_fork,sched_process_exec,sched_process_exit
step reel enable-event -k --syscall -a
step reel enable-rotation --timer 1s --publish "$url"
echo "== reel analyze syscalls --follow --engine $url --metrics 127.0.0.1:0  (the follower)"
reel analyze syscalls --follow --engine "$url" --metrics 127.0.0.1:0 --json \
	>"$work/follow.json" 2>"$work/follow.log" &
follower=$!
pids+=($follower)
metrics=
for _ in $(seq 100); do
	metrics=$(sed -n 's|^Serving the metrics on \(http://.*\)$|\1|p' "$work/follow.log")
	[ -n "$metrics" ] && break
	sleep 0.1
done
[ -n "$metrics" ] || { cat "$work/follow.log" >&2; exit 1; }
step reel start
echo "hello cluster" >"$work/data.txt"
for _ in 1 2 3; do
	step "$build/tests/kernel/kworkload" "$work/data.txt" 2000
	sleep 1
done
step reel stop
# every archived chunk announced (the last one just now)
for _ in $(seq 100); do
	reel list-rotations --json | grep -q '"publish_status": -1' || break
	sleep 0.1
done
step reel list-rotations
echo "== reel analyze syscalls --engine $url --session cluster"
reel analyze syscalls --quiet --engine "$url" --session cluster >"$work/result.txt"
head -30 "$work/result.txt"
echo "... ($(wc -l <"$work/result.txt") lines)"
echo "== the same chunks with local threads:"
chunks=$(reel list-rotations --json | /usr/bin/python3 -c 'import json,sys; print("\n".join(c["path"] for c in json.load(sys.stdin)["chunks"]))')
mapfile -t paths <<<"$chunks"
if cmp <(reel analyze syscalls --quiet --json --engine "$url" --session cluster) \
	<(reel analyze syscalls --quiet --json -j 2 "${paths[@]}"); then
	echo "identical (${#paths[@]} chunks)"
else
	echo "DIFFERENT" >&2
	exit 1
fi
n=${#paths[@]}
scrape() { /usr/bin/python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode())' "$metrics"; }
for _ in $(seq 300); do
	[ "$(scrape | grep -x "reel_chunks_total $n")" ] && break
	sleep 0.1
done
echo "== the follower's metrics ($metrics), a few lines:"
scrape >"$work/metrics.txt"
grep -E '^reel_(chunks_total|events_total|lost_events_total) |^reel_syscall_duration_seconds_count\{.*syscall="openat"' \
	"$work/metrics.txt" | head -8 || true
kill -TERM "$follower"
wait "$follower" || true
echo "== the follower's report on SIGTERM against the local analysis:"
if cmp "$work/follow.json" <(reel analyze syscalls --quiet --json -j 2 "${paths[@]}"); then
	echo "identical ($n chunks)"
else
	echo "DIFFERENT" >&2
	cat "$work/follow.log" >&2
	exit 1
fi
echo "== tasks done by each worker (the follower's, then two batch runs):"
for i in 1 2 3; do echo "worker $i: $(grep -c ": done," "$work/worker$i.log" || true)"; done
step reel destroy
