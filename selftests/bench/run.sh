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

# Replace the text between the markers of section $1 in $DOC by the file $2.
write_section() {
	local name=$1 file=$2 begin="<!-- bench:$1:begin -->" end="<!-- bench:$1:end -->"
	if ! grep -qF "$begin" "$DOC" || ! grep -qF "$end" "$DOC"; then
		printf '\n%s\n%s\n' "$begin" "$end" >>"$DOC"
	fi
	awk -v b="$begin" -v e="$end" -v f="$file" '
		$0 == b { print; while ((getline l < f) > 0) print l; skip = 1; next }
		$0 == e { skip = 0 }
		!skip { print }' "$DOC" >"$DOC.tmp" && mv "$DOC.tmp" "$DOC"
}

# ---- step: data plane (BPF_PROG_TEST_RUN, selftests/bench/bench_xdp.c) ----------------------
echo "== data plane"
{
	echo "Measured $(date -u +%Y-%m-%d) on $(uname -r), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))."
	echo
	"$BUILD/bench/bench_xdp"
} >"$OUT/dataplane.md"
cat "$OUT/dataplane.md"
write_section dataplane "$OUT/dataplane.md"

# ---- steps that write their own section: apply (issue 4), nftables (issue 5), probe (issue 7)
for step in apply nft probe; do
	script=selftests/bench/bench_$step.sh
	[ -x "$script" ] || continue
	echo "== $step"
	BUILD=$BUILD DOC=$DOC "$script"
done
