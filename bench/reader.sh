#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/reader.sh [BUILD_DIR]: Reel's trace reader beside babeltrace2, in
# one run, on one trace of BENCH_READER_EVENTS [10000000] events written by
# the tracer (tracebench-reel four_u64_str: four u64 fields and a string).
# Prints, in the form of bench/run.sh (X > 1: Reel better by that factor):
#
#   bench reader_decode reel=S peer=S unit=s speedup=X     reel view --stats (packets on
#                                                          every CPU) vs babeltrace2 -c sink.utils.dummy
#   bench reader_decode_1thread ...                        the same on one thread
#   bench reader_decode_full_1thread ...                   one thread, merged, every value
#                                                          kept (--stats --full-decode --threads 1)
#   bench reader_text reel=S peer=S unit=s speedup=X       text to /dev/null, both (reel's
#                                                          default: one thread)
#   bench reader_text_threads ...                          reel formatting on every CPU
#   bench reader_rss_decode / reader_rss_text ... unit=KB  peak RSS of the same runs
#   bench reader_rss_growth reel=KB peer=KB unit=KB ...    reel view's (text) peak RSS on a
#                                                          trace 10x smaller (peer=) and on the
#                                                          full one (reel=): flat means speedup ~1
# The exit status is 1 when reel and babeltrace2 disagree on the event count
# or the first and last lines of the text. The trace is removed at exit.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${1:-build-release}
events=${BENCH_READER_EVENTS:-10000000}
reel=$build/src/cli/reel
gen=$build/bench/tracebench-reel
for b in "$reel" "$gen"; do
	[[ -x $b ]] || { echo "bench/reader.sh: $b not found: build $build first" >&2; exit 1; }
done
command -v babeltrace2 >/dev/null || { echo "SKIPPED: reader benchmark: babeltrace2 not found"; exit 0; }
[[ -x /usr/bin/time ]] || { echo "SKIPPED: reader benchmark: /usr/bin/time not found (Debian: time)"; exit 0; }
unset REEL_OUTPUT REEL_EVENTS REEL_SUBBUF_SIZE REEL_NUM_SUBBUF REEL_OVERWRITE REEL_CLOCK

tmp=$(mktemp -d "${TMPDIR:-/tmp}/reel-bench-reader.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# A trace of exactly $events events: paced so that nothing is discarded.
make_trace() { # make_trace DIR EVENTS
	REEL_OUTPUT=$1 REEL_SUBBUF_SIZE=4M REEL_NUM_SUBBUF=8 \
		"$gen" four_u64_str -n "$2" -r 1 -w 0 -k 20000 -p 4 >/dev/null
}
make_trace "$tmp/big" "$events"
make_trace "$tmp/small" "$((events / 10))"
sync # the traces' write-back must not overlap the measurements
count=$("$reel" --json view --stats "$tmp/big" | python3 -c 'import json,sys; print(json.load(sys.stdin)["events"])')
echo "# reader: trace of $count events, $(du -sh "$tmp/big" | cut -f1) ($events asked)"

# measure NAME CMD...: wall seconds and peak RSS (KB) into $tmp/NAME, the
# run of median time of BENCH_READER_REPS [3] (babeltrace2's text: one run)
reps=${BENCH_READER_REPS:-3}
measure() {
	local name=$1 n=$reps i
	shift
	[[ $name == bt_text ]] && n=1
	cat "$tmp"/big/ust/pid/*/* >/dev/null # same page cache for everyone
	for ((i = 0; i < n; i++)); do
		/usr/bin/time -f "%e %M" -o "$tmp/$name.$i" "$@" >/dev/null 2>"$tmp/$name.err"
	done
	sort -n "$tmp/$name".[0-9]* | sed -n "$(((n + 1) / 2))p" >"$tmp/$name"
}
field() { cut -d' ' -f"$2" "$tmp/$1"; }
emit() { # emit NAME REEL PEER UNIT
	local speedup
	speedup=$(python3 -c "r, p = $2, $3; print(f'{p / r:.2f}' if r > 0 else 'inf')")
	echo "bench $1 reel=$2 peer=$3 unit=$4 speedup=$speedup"
}

echo "# reader: $(nproc) CPUs; reel view --stats uses them all unless --threads 1"
measure reel_decode "$reel" view --stats "$tmp/big"
measure reel_decode1 "$reel" view --stats --threads 1 "$tmp/big"
measure reel_decode_full "$reel" view --stats --full-decode --threads 1 "$tmp/big"
measure bt_decode babeltrace2 "$tmp/big" -c sink.utils.dummy
measure reel_text "$reel" view "$tmp/big"
measure reel_textn "$reel" view --threads "$(nproc)" "$tmp/big"
measure bt_text babeltrace2 "$tmp/big"
measure reel_small "$reel" view "$tmp/small"

status=0
# Both read the same events: the count, and the first and last lines.
bt_count=$(babeltrace2 "$tmp/big" -c sink.utils.counter 2>/dev/null | sed -n 's/^ *\([0-9]*\) events\{0,1\}$/\1/p' | head -n1 || true)
if [[ -n $bt_count && $bt_count != "$count" ]]; then
	echo "# reader: babeltrace2 counted $bt_count events, reel $count"
	status=1
fi
if [[ "$("$reel" view "$tmp/big" | head -n 1)" != "$(babeltrace2 "$tmp/big" | head -n 1)" ||
      "$("$reel" view "$tmp/big" | tail -n 1)" != "$(babeltrace2 "$tmp/big" | tail -n 1)" ]]; then
	echo "# reader: reel view and babeltrace2 print different text"
	status=1
fi

emit reader_decode "$(field reel_decode 1)" "$(field bt_decode 1)" s
emit reader_decode_1thread "$(field reel_decode1 1)" "$(field bt_decode 1)" s
emit reader_decode_full_1thread "$(field reel_decode_full 1)" "$(field bt_decode 1)" s
emit reader_text "$(field reel_text 1)" "$(field bt_text 1)" s
emit reader_text_threads "$(field reel_textn 1)" "$(field bt_text 1)" s
emit reader_rss_decode "$(field reel_decode 2)" "$(field bt_decode 2)" KB
emit reader_rss_text "$(field reel_text 2)" "$(field bt_text 2)" KB
emit reader_rss_text_threads "$(field reel_textn 2)" "$(field bt_text 2)" KB
emit reader_rss_growth "$(field reel_text 2)" "$(field reel_small 2)" KB
exit "$status"
