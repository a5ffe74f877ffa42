#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make bench`: run every benchmark, print the tables, and write each into its section of
# Documentation/performance.md (between <!-- bench:NAME:begin --> and <!-- bench:NAME:end -->).
# One step per section below; add a new benchmark as a new step of the same shape.
set -eu
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
DOC=Documentation/performance.md
OUT=$BUILD/bench-results
mkdir -p "$OUT"

. "$(dirname "$0")/doc.sh"

# A C benchmark printing markdown: its output, dated, into section NAME.
# The machine is shared: the load average before and after goes with the figures.
c_step() { # NAME TITLE PROGRAM
	local load0
	echo "== $2"
	load0=$(cut -d' ' -f1-3 /proc/loadavg)
	"$BUILD/bench/$3" >"$OUT/$1.body" || exit 1
	{
		echo "Measured $(date -u '+%Y-%m-%d %H:%M') UTC on $(bench_machine); load average $load0 before, $(cut -d' ' -f1-3 /proc/loadavg) after."
		echo
		cat "$OUT/$1.body"
	} >"$OUT/$1.md"
	cat "$OUT/$1.md"
	write_section "$DOC" "$1" "$OUT/$1.md"
}

# ---- step: data plane (BPF_PROG_TEST_RUN, selftests/bench/bench_xdp.c) ----------------------
c_step dataplane "data plane" bench_xdp

# ---- step: content inspection (issues 12, 13; selftests/bench/bench_content.c) ---------------
c_step content "content inspection" bench_content

# ---- step: name rules in the real program (issue 13; selftests/bench/bench_names.c) ---------
c_step names "name rules" bench_names

# ---- steps that write their own section: check (issue 14), apply (issue 4), nftables
# (issue 5), probe (issue 7), mail domains (issue 16), names in an apply (issue 13)
for step in check apply nft probe domain names_apply; do
	script=selftests/bench/bench_$step.sh
	[ -x "$script" ] || continue
	echo "== $step"
	BUILD=$BUILD DOC=$DOC "$script"
done
