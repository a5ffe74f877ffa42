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

# ---- step: data plane (BPF_PROG_TEST_RUN, selftests/bench/bench_xdp.c) ----------------------
echo "== data plane"
{
	echo "Measured $(date -u +%Y-%m-%d) on $(uname -r), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))."
	echo
	"$BUILD/bench/bench_xdp"
} >"$OUT/dataplane.md"
cat "$OUT/dataplane.md"
write_section "$DOC" dataplane "$OUT/dataplane.md"

# ---- steps that write their own section: check (issue 14), apply (issue 4), nftables (issue 5),
# probe (issue 7)
for step in check apply nft probe; do
	script=selftests/bench/bench_$step.sh
	[ -x "$script" ] || continue
	echo "== $step"
	BUILD=$BUILD DOC=$DOC "$script"
done
