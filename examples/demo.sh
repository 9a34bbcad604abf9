#!/bin/bash
# make demo: Reel's main job end to end. A private session daemon, a
# session recording the demo application's events, the trace read back
# with babeltrace2. Usage: examples/demo.sh BUILD_DIR
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
work=$(mktemp -d /tmp/reel-demo.XXXXXX)
export REEL_RUNDIR=$work/run HOME=$work/home
export PATH=$build/src/cli:$build/src/sessiond:$PATH
mkdir -p "$HOME"
reeld_pid=
cleanup() {
	[ -n "$reeld_pid" ] && kill "$reeld_pid" 2>/dev/null && wait "$reeld_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

step() { echo "== $*"; "$@"; }

reeld --rundir "$REEL_RUNDIR" &
reeld_pid=$!
for _ in $(seq 100); do [ -S "$REEL_RUNDIR/client.sock" ] && break; sleep 0.05; done

step reel create demo --output "$work/trace"
step reel enable-channel -u chan --subbuf-size 256k --num-subbuf 4
step reel enable-event -u -c chan 'demo:*'
step reel start
step "$build/examples/reel-demo" 8
step reel status
step reel stop
step reel destroy
echo "== trace files:"
(cd "$work/trace" && find . -type f | sort)
step babeltrace2 "$work/trace"
