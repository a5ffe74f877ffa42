#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Run every test: unit and BPF test binaries (built with ASan/UBSan), the golden policy
# tests, the network-namespace tests and a short fuzzing run. Prints "N passed, N failed".
# TESTS=pattern runs only tests whose name contains the pattern.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
LOGS=$BUILD/test-logs
mkdir -p "$LOGS"
export TLSFW=${TLSFW:-$PWD/$BUILD/asan/tlsfw}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

passed=0
failed=0
failures=()

run() { # name command...
	local name=$1
	shift
	if [ -n "${TESTS:-}" ] && [[ $name != *"$TESTS"* ]]; then
		return
	fi
	local log=$LOGS/${name//\//_}.log start=$SECONDS
	if timeout 900 "$@" >"$log" 2>&1 </dev/null; then
		passed=$((passed + 1))
		printf 'ok   %-50s %3ds\n' "$name" $((SECONDS - start))
	else
		failed=$((failed + 1))
		failures+=("$name")
		printf 'FAIL %-50s %3ds (log: %s)\n' "$name" $((SECONDS - start)) "$log"
		tail -n 40 "$log" | sed 's/^/     | /'
	fi
}

for t in "$BUILD"/asan/tests/unit/test_*; do
	[ -x "$t" ] && run "unit/${t##*/}" "$t"
done
[ -x selftests/policy/run.sh ] && run "policy/golden" selftests/policy/run.sh
for t in "$BUILD"/asan/tests/bpf/test_*; do
	[ -x "$t" ] && run "bpf/${t##*/}" "$t"
done
for t in selftests/net/test_*.sh; do
	[ -x "$t" ] && run "net/${t##*/}" "$t"
done
if [ -x selftests/fuzz/run.sh ]; then
	run "fuzz/30s" env FUZZ_SECONDS="${FUZZ_TEST_SECONDS:-30}" selftests/fuzz/run.sh
fi

echo
if [ $failed -gt 0 ]; then
	echo "failed: ${failures[*]}"
fi
echo "$passed passed, $failed failed"
[ $failed -eq 0 ] && [ $passed -gt 0 ]
