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
c_step() { # NAME TITLE PROGRAM
	echo "== $2"
	{
		echo "Measured $(date -u +%Y-%m-%d) on $(uname -r), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))."
		echo
		"$BUILD/bench/$3"
	} >"$OUT/$1.md"
	cat "$OUT/$1.md"
	write_section "$DOC" "$1" "$OUT/$1.md"
}

# ---- step: data plane (BPF_PROG_TEST_RUN, selftests/bench/bench_xdp.c) ----------------------
c_step dataplane "data plane" bench_xdp

# ---- step: content inspection (issues 12, 13; selftests/bench/bench_content.c) ---------------
c_step content "content inspection" bench_content

# ---- steps that write their own section: check (issue 14), apply (issue 4), nftables
# (issue 5), probe (issue 7), mail domains (issue 16)
for step in check apply nft probe domain; do
	script=selftests/bench/bench_$step.sh
	[ -x "$script" ] || continue
	echo "== $step"
	BUILD=$BUILD DOC=$DOC "$script"
done
