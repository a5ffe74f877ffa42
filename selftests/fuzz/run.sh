#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Run every libFuzzer target in $BUILD/fuzz for FUZZ_SECONDS each (default 300).
# The corpus of each target lives in $BUILD/fuzz-corpus/<target>, seeded from the shipped and
# golden policies (fuzz_policy*) or from selftests/fuzz/corpus/<target>/ when that exists.
# Crash inputs are written to $BUILD/fuzz-artifacts/. Targets run FUZZ_JOBS at a time (default:
# the number of CPUs), each on one CPU. Exit status: non-zero if any target crashed, leaked or
# could not run.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
FUZZ_SECONDS=${FUZZ_SECONDS:-300}
artifacts=$BUILD/fuzz-artifacts
mkdir -p "$artifacts"

# fuzz_one BIN: one target for FUZZ_SECONDS; its report on stdout; exit status 1 if it failed
fuzz_one() {
	local bin=$1 name=${1##*/} corpus dict=()
	corpus=$BUILD/fuzz-corpus/$name
	mkdir -p "$corpus"
	if [ -d "selftests/fuzz/corpus/$name" ]; then
		cp -n selftests/fuzz/corpus/"$name"/* "$corpus"/ 2>/dev/null
	fi
	if [[ $name == fuzz_policy* ]]; then
		for f in policies/*.conf selftests/policy/good/*.conf selftests/policy/bad/*.conf; do
			[ -f "$f" ] || continue
			# Huge seeds slow every mutation down; the small ones hold the grammar.
			[ "$(stat -c %s "$f")" -le 16384 ] || continue
			cp -n "$f" "$corpus/seed-${f//\//_}"
		done
	fi
	[ -f "selftests/fuzz/${name#fuzz_}.dict" ] && dict=(-dict="selftests/fuzz/${name#fuzz_}.dict")
	echo "fuzz: $name for ${FUZZ_SECONDS}s (corpus $corpus)"
	if ! "$bin" "${dict[@]}" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
		-max_len=65536 -print_final_stats=1 -artifact_prefix="$artifacts/$name-" \
		"$corpus" >"$BUILD/fuzz-$name.log" 2>&1; then
		echo "fuzz: $name FAILED; log $BUILD/fuzz-$name.log, inputs in $artifacts/"
		grep -E "ERROR|SUMMARY|Test unit written" "$BUILD/fuzz-$name.log" | head -n 20
		return 1
	fi
	grep -E "^stat::number_of_executed_units|^stat::new_units_added" "$BUILD/fuzz-$name.log" |
		sed "s/^/fuzz: $name /"
}

found=0
failed=0
pids=()
outs=()
for bin in "$BUILD"/fuzz/fuzz_*; do
	[ -f "$bin" ] && [ -x "$bin" ] || continue
	found=$((found + 1))
	while [ "$(jobs -rp | wc -l)" -ge "${FUZZ_JOBS:-$(nproc)}" ]; do
		wait -n
	done
	outs+=("$BUILD/fuzz-${bin##*/}.report")
	fuzz_one "$bin" >"${outs[-1]}" 2>&1 &
	pids+=($!)
done
# each target's report in order, once all have ended
for i in "${!pids[@]}"; do
	wait "${pids[$i]}" || failed=$((failed + 1))
	cat "${outs[$i]}"
done
if [ $found -eq 0 ]; then
	echo "fuzz: no targets in $BUILD/fuzz (make BUILD=$BUILD tests)"
	exit 1
fi
[ $failed -eq 0 ]
