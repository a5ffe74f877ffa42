#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Shared by selftests/net/lib.sh and selftests/probe/lib.sh, sourced first: what every
# namespace test has in common. Each lib adds its own cleanup, which ends in test_verdict.
#
#   ROOT, TLSFW (default build/asan/tlsfw), PY, TEST_NAME
#   NS_PREFIX       namespace prefix, short and unique: the test's name without "test_", the PID
#   TMP             a scratch directory
#   test_verdict RC print "PASS: TEST" or "FAIL: TEST (exit RC)" and exit RC
#   ok MSG          print "ok: MSG"
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TLSFW=${TLSFW:-$ROOT/build/asan/tlsfw}
PY=/usr/bin/python3
TEST_NAME=$(basename "$0" .sh)
NS_PREFIX="tlsfw-${TEST_NAME#test_}-$$-"
TMP=$(mktemp -d "/tmp/tlsfw-${TEST_NAME}.XXXXXX")
_pids=()
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

test_verdict() {
	if [ "$1" -eq 0 ]; then
		echo "PASS: $TEST_NAME"
	else
		echo "FAIL: $TEST_NAME (exit $1)"
	fi
	exit "$1"
}

ok() {
	echo "ok: $*"
}
