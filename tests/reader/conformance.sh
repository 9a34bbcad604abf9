#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# conformance.sh REEL SUITE_DIR: run `reel view` on every case of the CTF
# 1.8 conformance suite (shared/ctf-testsuite): pass cases must exit 0,
# fail cases non-zero with an error message, and none may crash (exit
# status >= 128, or a sanitizer report). Prints one line per failure and a
# total; exits 77 (skipped) when the suite is missing.
set -u
reel=$1
suite=${2:-}
if [[ -z $suite || ! -d $suite/regression ]]; then
	echo "conformance suite not found at '$suite': skipped"
	exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/reel-conf.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
total=0 bad=0
for kind in metadata stream; do
	for expect in pass fail; do
		for case in "$suite"/regression/$kind/$expect/*/; do
			case=${case%/}
			total=$((total + 1))
			timeout 60 "$reel" view "$case" >"$tmp/out" 2>"$tmp/err"
			rc=$?
			why=
			if ((rc >= 124)); then
				why="crashed or hung (exit $rc)"
			elif grep -q "Sanitizer\|runtime error" "$tmp/err"; then
				why="sanitizer report"
			elif [[ $expect == pass && $rc != 0 ]]; then
				why="rejected: $(head -c 300 "$tmp/err")"
			elif [[ $expect == fail && $rc == 0 ]]; then
				why="accepted"
			elif [[ $expect == fail && ! -s $tmp/err ]]; then
				why="rejected without a message"
			fi
			if [[ -n $why ]]; then
				bad=$((bad + 1))
				echo "FAIL $kind/$expect/$(basename "$case"): $why"
			fi
		done
	done
done
echo "conformance: $((total - bad))/$total cases right"
((bad == 0))
