#!/bin/bash
# make demo-cluster: the distributed analyses end to end (doc/dist.md). A
# NATS broker (Debian's nats-server, dist/nats-server.conf: JetStream on,
# loopback, a private store), three `reel worker`s, a session daemon
# recording the kernel while a workload runs, rotating every second and
# announcing each chunk to the broker (--publish), then a batch analysis of
# the announced chunks through the workers, beside the same analysis with
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
echo "== tasks done by each worker (two runs: text, then JSON):"
for i in 1 2 3; do echo "worker $i: $(grep -c ": done," "$work/worker$i.log" || true)"; done
step reel destroy
