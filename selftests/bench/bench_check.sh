#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# How long a whole `tlsfw check` takes on large policies (issue 14, item 3): reading,
# checking (the shadowing analysis above all) and lowering, as a user runs it. Policies are
# generated with fixed seeds:
#
#   1 rule            the baseline of the same run (process start, libraries)
#   4,096 x 1 port    one UDP dport each, all different
#   4,096 x 50 pfx    tcp/443 to 50 random /24s of 10.0.0.0/8 each (3.6 MB)
#   4,096 x 200 ports tcp to 200 random ports each (5.8 MB; about half the rules end up
#                     shadowed by the union of earlier ones, each a warning)
#
# Median of RUNS runs back to back, wall time and CPU time (user + system), and the ratio of
# the CPU time to the 1-rule baseline. Then the wall time of a run after IDLE seconds of
# sleep, median of IDLE_RUNS: what one `check` costs a user, since on a guest that gives
# freed memory back to its host the first run after a pause pays for backing it again
# (performance.md, "Huge pages for the first 32 MB"). Prints a markdown table and writes it into
# Documentation/performance.md between <!-- bench:check:begin --> and <!-- bench:check:end -->.
#   BUILD=build-x selftests/bench/bench_check.sh   (uses $BUILD/tlsfw, the optimized build)
#   RUNS=5 IDLE=4 IDLE_RUNS=3 DOC=... (file to update)
set -eu -o pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
TLSFW=${TLSFW:-$ROOT/$BUILD/tlsfw}
RUNS=${RUNS:-5}
IDLE=${IDLE:-4}
IDLE_RUNS=${IDLE_RUNS:-3}
DOC=${DOC:-$ROOT/Documentation/performance.md}
TMP=$(mktemp -d /tmp/tlsfw-bench-check-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
. "$(dirname "$0")/doc.sh"

[ -x "$TLSFW" ] || { echo "bench_check: no $TLSFW (make)" >&2; exit 1; }

genpol() { # KIND N FILE
	python3 "$(dirname "$0")/bigpol.py" "$1" "$2" >"$3"
}

# timed FILE: "WALL CPU" in microseconds, one run of tlsfw check (warnings are fine)
timed() {
	local t
	TIMEFORMAT="%3R %3U %3S"
	t=$( { time "$TLSFW" check "$1" >/dev/null 2>"$TMP/err"; } 2>&1 ) || {
		[ $? -eq 1 ] || { cat "$TMP/err" >&2; exit 1; }
	}
	echo "$t" | awk '{ printf "%d %d\n", $1 * 1e6, ($2 + $3) * 1e6 }'
}

median() { # COLUMN
	awk -v c="$1" '{ print $c }' | sort -n |
		awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

ms() { awk -v u="$1" 'BEGIN { printf "%.1f", u / 1000 }'; }

genpol port 1 "$TMP/base.conf"
genpol port 4096 "$TMP/port.conf"
genpol pfx 4096 "$TMP/pfx.conf"
genpol ports 4096 "$TMP/ports.conf"

base_cpu=
{
	echo "Measured $(date -u +%Y-%m-%d) on $(uname -r), $(nproc) CPUs, load average $(cut -d' ' -f1 /proc/loadavg) at the start. Median of $RUNS runs of the whole \`tlsfw check\` process back to back; CPU is user + system time. After idle: wall time of one run after $IDLE s of sleep, median of $IDLE_RUNS."
	echo
	echo "| policy | file | wall ms | CPU ms | CPU vs 1 rule | wall ms after idle | warnings |"
	echo "|---|---|---|---|---|---|---|"
	for k in base port pfx ports; do
		f=$TMP/$k.conf
		for i in $(seq "$RUNS"); do timed "$f"; done >"$TMP/t"
		wall=$(median 1 <"$TMP/t")
		cpu=$(median 2 <"$TMP/t")
		[ -n "$base_cpu" ] || base_cpu=$cpu
		for i in $(seq "$IDLE_RUNS"); do
			sleep "$IDLE"
			timed "$f"
		done >"$TMP/t"
		idle=$(median 1 <"$TMP/t")
		warn=$(grep -c 'warning:' "$TMP/err" || true)
		case $k in
		base) name="1 rule (baseline)" ;;
		port) name="4,096 rules x 1 port" ;;
		pfx) name="4,096 rules x 50 prefixes" ;;
		ports) name="4,096 rules x 200 ports" ;;
		esac
		echo "| $name | $(du -k "$f" | cut -f1) KiB | $(ms "$wall") | $(ms "$cpu") | $(awk -v a="$cpu" -v b="$base_cpu" 'BEGIN { printf "%.1fx", a / b }') | $(ms "$idle") | $warn |"
	done
} >"$TMP/check.md"
cat "$TMP/check.md"
write_section "$DOC" check "$TMP/check.md"
