#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tlsfw probe against real servers: the compliant Postfix (SMTP 25 and 587 with STARTTLS, 465
# implicit TLS) and Dovecot (IMAP 143, POP3 110 with STARTTLS, 993 and 995 implicit TLS) of
# selftests/probe/lib.sh, in a network namespace. Measured in the same run, as anchors:
# `openssl s_client` (one handshake, no checks) on each port, and `testssl.sh -p` (protocol
# support only, its narrowest run) on SMTP 25. Times are wall-clock medians and only their
# ratios mean something. Target (issue 7): all seven ports of one server checked by one
# `tlsfw probe` in less time than seven sequential s_client runs.
#
# Prints a markdown table and writes it into Documentation/performance.md between
# <!-- bench:probe:begin --> and <!-- bench:probe:end -->. Exit 0 when the measurements
# were taken (a server that is not compliant makes them meaningless: exit 1).
#   BUILD=build-x selftests/bench/bench_probe.sh    (uses $BUILD/tlsfw, the optimized build)
#   RUNS=5 (median of), MANY=100 (targets probed concurrently), DOC=... (file to update)
set -o pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
TLSFW=${TLSFW:-$ROOT/$BUILD/tlsfw}
RUNS=${RUNS:-5}
MANY=${MANY:-100}
DOC=${DOC:-$ROOT/Documentation/performance.md}
source "$ROOT/selftests/probe/lib.sh"
source "$ROOT/selftests/bench/timing.sh"

PORTS=(25 587 465 143 993 110 995)
declare -A PROTO=([25]=smtp [587]=smtp [465]=none [143]=imap [993]=none [110]=pop3 [995]=none)

tp() { cli "$TLSFW" probe --ca "$TMP/ca/ca.pem" --name mail.test "$@"; }

sclient() { # PORT
	local st=()
	[ "${PROTO[$1]}" != none ] && st=(-starttls "${PROTO[$1]}")
	cli openssl s_client -connect "$S4:$1" "${st[@]}" -CAfile "$TMP/ca/ca.pem" \
		-verify_hostname mail.test -verify_return_error -brief </dev/null
}

seven_sclient() {
	local p
	for p in "${PORTS[@]}"; do
		sclient "$p" || return 1
	done
}

[ -x "$TLSFW" ] || fail "no $TLSFW: make BUILD=$BUILD"
probe_up
mkca
mkcert mail.test "DNS:mail.test,IP:$S4,IP:$S6" 30
# 100 concurrent probes come from one client: lift Postfix's per-client limits for it, and
# skip the reverse look-up of the client (no DNS in the namespace)
postfix_start "smtpd_peername_lookup = no" "smtpd_client_event_limit_exceptions = 10.203.0.0/16" \
	"default_process_limit = 300"
dovecot_start "default_process_limit = 300"

# every port must be compliant, or we would be timing failures
all=()
for p in "${PORTS[@]}"; do
	all+=("$S4:$p")
done
tp "${all[@]}" >"$TMP/check.txt" || { cat "$TMP/check.txt"; fail "the servers are not compliant"; }

declare -A T S
for p in "${PORTS[@]}"; do
	T[$p]=$(med "$RUNS" tp "$S4:$p") || exit 1
	S[$p]=$(med "$RUNS" sclient "$p") || exit 1
done
seven=$(med "$RUNS" tp "${all[@]}") || exit 1
seven_s=$(med "$RUNS" seven_sclient) || exit 1
many=()
for i in $(seq 0 $((MANY - 1))); do
	many+=("$S4:${PORTS[$((i % ${#PORTS[@]}))]}")
done
many_t=$(med "$RUNS" tp --concurrency "$MANY" "${many[@]}") || exit 1
many_16=$(med "$RUNS" tp "${many[@]}") || exit 1
testssl_ms=-
if command -v testssl.sh >/dev/null || command -v testssl >/dev/null; then
	TESTSSL=$(command -v testssl.sh || command -v testssl)
	# -p: protocol support only, the narrowest option set; minutes are spent otherwise
	testssl_ms=$(med 3 cli "$TESTSSL" -p --starttls smtp --quiet --color 0 --warnings off \
		--ip one --nodns min "$S4:25") || exit 1
fi

{
	echo "Measured $(date -u +%Y-%m-%d) on $(uname -r), $(nproc) CPUs; servers in a network namespace on the same host (veth), median of $RUNS runs in ms, wall clock of the whole command (\`ip netns exec\` included)."
	echo
	echo "| port | protocol | tlsfw probe (11 checks) | openssl s_client (1 handshake) | ratio |"
	echo "|---|---|---|---|---|"
	for p in "${PORTS[@]}"; do
		mode=${PROTO[$p]}
		[ "$mode" = none ] && mode="implicit TLS" || mode="STARTTLS $mode"
		echo "| $p | $mode | ${T[$p]} | ${S[$p]} | $(ratio "${T[$p]}" "${S[$p]}")x |"
	done
	echo
	echo "| run | ms | per target | against seven sequential s_client |"
	echo "|---|---|---|---|"
	echo "| seven s_client runs, one after another | $seven_s | $((seven_s / 7)) | 1.00x |"
	echo "| \`tlsfw probe\` of all seven ports at once | $seven | $((seven / 7)) | $(ratio "$seven" "$seven_s")x |"
	echo "| \`tlsfw probe\` of $MANY targets, --concurrency $MANY | $many_t | $(ratio "$many_t" "$MANY") | $(ratio "$many_t" "$seven_s")x |"
	echo "| \`tlsfw probe\` of $MANY targets, default concurrency (16) | $many_16 | $(ratio "$many_16" "$MANY") | $(ratio "$many_16" "$seven_s")x |"
	if [ "$testssl_ms" != - ]; then
		echo "| \`testssl.sh -p --starttls smtp\` on 25 (median of 3) | $testssl_ms | | $(ratio "$testssl_ms" "$seven_s")x |"
	fi
	echo
	if [ "$seven" -lt "$seven_s" ]; then
		echo "Target met: all seven ports in $seven ms, under the $seven_s ms of seven sequential s_client runs ($(ratio "$seven" "$seven_s")x)."
	else
		echo "Target MISSED: all seven ports took $seven ms, seven sequential s_client runs $seven_s ms ($(ratio "$seven" "$seven_s")x)."
	fi
} >"$TMP/probe.md"
cat "$TMP/probe.md"

. "$(dirname "$0")/doc.sh"
write_section "$DOC" probe "$TMP/probe.md"
exit 0
