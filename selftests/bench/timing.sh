#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Sourced by the probe, apply and name benchmarks (after selftests/probe/lib.sh or
# selftests/net/lib.sh, whose fail they use): wall-clock timing of whole commands.
#   now_ms              milliseconds since the epoch
#   median              of the numbers on stdin
#   timed CMD...        milliseconds CMD took; the benchmark fails when CMD fails (an error
#                       path would be timed instead of the work)
#   med N CMD...        median of N timed runs
#   ratio A B           A / B with two decimals
#   gw_timed CMD...     "WALL CPU" in microseconds for CMD in the gateway namespace
#                       (selftests/net/lib.sh's gw and $TMP)
now_ms() { date +%s%3N; }

median() {
	sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

timed() {
	local t0 t1
	t0=$(now_ms)
	"$@" >"$TMP/timed.out" 2>&1 || {
		cat "$TMP/timed.out" >&2
		fail "$* exited $?"
	}
	t1=$(now_ms)
	echo $((t1 - t0))
}

med() {
	local n=$1 i
	shift
	for i in $(seq "$n"); do
		timed "$@" || exit 1
	done | median
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

# gw_timed CMD...: "WALL CPU" in microseconds for CMD, measured inside the gateway namespace
# by bash's `time` (so neither `ip netns exec` nor a fork for the clock is counted); CPU is
# user + system time, which the other work on a loaded machine disturbs less than the wall
# clock. Fails the bench when CMD fails.
gw_timed() {
	gw bash -c 'TIMEFORMAT="%3R %3U %3S"
		t=$( { time "$@" >/dev/null 2>"$0"; } 2>&1 ) || { cat "$0" >&2; exit 1; }
		echo "$t" | awk "{ printf \"%d %d\n\", \$1 * 1e6, (\$2 + \$3) * 1e6 }"' \
		"$TMP/timed.err" "$@"
}
