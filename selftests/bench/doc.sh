#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Sourced by the benchmark scripts: write_section DOC NAME FILE replaces the text between
# <!-- bench:NAME:begin --> and <!-- bench:NAME:end --> in DOC by FILE (the markers are
# appended when absent); the other sections are left alone. bench_machine: the kernel, CPUs
# and CPU model, for the "Measured ... on" line.
write_section() {
	local doc=$1 begin="<!-- bench:$2:begin -->" end="<!-- bench:$2:end -->" file=$3
	if ! grep -qF "$begin" "$doc" || ! grep -qF "$end" "$doc"; then
		printf '\n%s\n%s\n' "$begin" "$end" >>"$doc"
	fi
	awk -v b="$begin" -v e="$end" -v f="$file" '
		$0 == b { print; while ((getline l < f) > 0) print l; skip = 1; next }
		$0 == e { skip = 0 }
		!skip { print }' "$doc" >"$doc.tmp.$$" && mv "$doc.tmp.$$" "$doc"
}

bench_machine() {
	echo "$(uname -r), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))"
}
