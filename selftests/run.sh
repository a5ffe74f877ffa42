#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Run every test: unit and BPF test binaries (built with ASan/UBSan), the golden policy
# tests, the network-namespace tests (TEST_JOBS at a time) and a short fuzzing run. Prints
# "N passed, N failed".
# TESTS=pattern runs only tests whose name contains the pattern.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
LOGS=$BUILD/test-logs
mkdir -p "$LOGS"
export TLSFW=${TLSFW:-$PWD/$BUILD/asan/tlsfw}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# One line per test that ran, "ok NAME" or "FAIL NAME": run() may be a background job.
RESULTS=$(mktemp /tmp/tlsfw-results.XXXXXX)
trap 'rm -f "$RESULTS"' EXIT

run() { # name command...
	local name=$1
	shift
	if [ -n "${TESTS:-}" ] && [[ $name != *"$TESTS"* ]]; then
		return
	fi
	local log=$LOGS/${name//\//_}.log start=$SECONDS
	if timeout 900 "$@" >"$log" 2>&1 </dev/null; then
		echo "ok $name" >>"$RESULTS"
		printf 'ok   %-50s %3ds\n' "$name" $((SECONDS - start))
	else
		echo "FAIL $name" >>"$RESULTS"
		# one write, so that a test finishing beside it does not cut into the excerpt
		printf 'FAIL %-50s %3ds (log: %s)\n%s\n' "$name" $((SECONDS - start)) "$log" \
			"$(tail -n 40 "$log" | sed 's/^/     | /')"
	fi
}

declare -A started # net tests started, by path
# lane N: wait until fewer than N tests run in the background
lane() {
	while [ "$(jobs -rp | wc -l)" -ge "$1" ]; do
		wait -n
	done
}

# The unit, golden and BPF tests UNIT_JOBS at a time (default 2): each is one process bound by
# its own CPU (ASan), with its own namespaces where it has any (test_nft_vs_bpf,
# test_packets_forms: names carry the PID), so two lanes take about half the time on two
# cores. The longest go first (test_nft_vs_bpf and test_differential among the BPF tests,
# then test_shadow and the golden tests), so that no lane is left with one at the end.
early() { # NAME COMMAND...: in a lane
	lane "${UNIT_JOBS:-2}"
	run "$@" &
}
for t in "$BUILD"/asan/tests/bpf/test_*; do
	[ -x "$t" ] && early "bpf/${t##*/}" "$t"
done
t=$BUILD/asan/tests/unit/test_shadow
[ -x "$t" ] && early "unit/${t##*/}" "$t"
[ -x selftests/policy/run.sh ] && early "policy/golden" selftests/policy/run.sh
for t in "$BUILD"/asan/tests/unit/test_*; do
	[ -x "$t" ] && [ "${t##*/}" != test_shadow ] && early "unit/${t##*/}" "$t"
done
wait
# The network tests TEST_JOBS at a time (default 2): each builds its own namespaces (names
# carry its PID) and locks, and most of a test's time is spent waiting for peers and
# timeouts, so two lanes take about half the time on two cores. The longest (over a minute
# each in CI) go first, so that neither lane runs one alone at the end.
LONG="test_apply_tc_fallback.sh test_apply_confirm.sh test_tc_ingress.sh test_rollback.sh
test_bridge.sh test_reject.sh"
for t in $(printf 'selftests/net/%s\n' $LONG) selftests/net/test_*.sh; do
	[ -x "$t" ] && [ -z "${started[$t]:-}" ] || continue
	started[$t]=1
	lane "${TEST_JOBS:-2}"
	run "net/${t##*/}" "$t" &
done
wait
if [ -x selftests/fuzz/run.sh ]; then
	run "fuzz/30s" env FUZZ_SECONDS="${FUZZ_TEST_SECONDS:-30}" selftests/fuzz/run.sh
fi

passed=$(grep -c '^ok ' "$RESULTS")
failed=$(grep -c '^FAIL ' "$RESULTS")
echo
if [ "$failed" -gt 0 ]; then
	echo "failed: $(sed -n 's/^FAIL //p' "$RESULTS" | tr '\n' ' ')"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
