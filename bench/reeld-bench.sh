# shellcheck shell=bash
# Shared by the benchmarks that record with a private reeld (analyze.sh,
# dist.sh, follow.sh, kernel.sh); sourced after `build` and `tracefs` are
# set.
#
#   bench_require WHAT BIN...  root and a writable tracefs, else a SKIPPED
#                              line naming WHAT and exit status 0; each
#                              $build/BIN built, else exit status 1
#   bench_private PREFIX       $tmp (mktemp -d /tmp/PREFIX.XXXXXX) and
#                              $rundir; on any exit: bench_cleanup_extra
#                              (when the script defines it), the daemon
#                              stopped by pid, the tracefs instances it left
#                              removed (a warning, exit status 1), $tmp
#                              removed
#   start_reeld                the private daemon, once its socket answers
#   r ARGS...                  reel, talking to it
# shellcheck disable=SC2317 # cleanup runs through trap

bench_require() {
	local what=$1 bin
	shift
	if [[ $(id -u) != 0 ]]; then
		echo "SKIPPED: $what: need root"
		exit 0
	fi
	if [[ ! -w $tracefs/instances ]]; then
		echo "SKIPPED: $what: no tracefs at $tracefs"
		exit 0
	fi
	for bin in "$@"; do
		if [[ ! -x $build/$bin ]]; then
			echo "${0##*/}: $build/$bin not found: build $build first" >&2
			exit 1
		fi
	done
}

bench_cleanup() {
	local rc=$?
	set +e
	if declare -F bench_cleanup_extra >/dev/null; then
		bench_cleanup_extra
	fi
	if [[ -n $reeld_pid ]] && kill -0 "$reeld_pid" 2>/dev/null; then
		kill -TERM "$reeld_pid"
		wait "$reeld_pid" 2>/dev/null
	fi
	if [[ -n $reeld_pid ]]; then
		for i in "$tracefs"/instances/reel-"$reeld_pid"-*; do
			[[ -d $i ]] || continue
			echo "# WARNING: reeld left $i: removing it"
			echo 0 >"$i/tracing_on"
			rmdir "$i"
			rc=1
		done
	fi
	rm -rf "$tmp"
	exit "$rc"
}

bench_private() {
	tmp=$(mktemp -d "/tmp/$1.XXXXXX")
	rundir=$tmp/run
	reeld_pid=
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
}

r() { REEL_RUNDIR=$rundir HOME=$tmp "$build/src/cli/reel" "$@"; }

start_reeld() {
	REEL_RUNDIR=$rundir HOME=$tmp "$build/src/sessiond/reeld" --rundir "$rundir" \
		>"$tmp/reeld.log" 2>&1 &
	reeld_pid=$!
	for _ in $(seq 100); do
		[[ -S $rundir/client.sock ]] && return 0
		kill -0 "$reeld_pid" 2>/dev/null || break
		sleep 0.05
	done
	echo "# reeld did not start:"
	sed 's/^/#   /' "$tmp/reeld.log"
	return 1
}
