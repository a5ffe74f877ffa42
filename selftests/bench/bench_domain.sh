#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tlsfw probe --domain, the whole check of a mail domain (issue 16): two MX hosts (Postfix
# on two addresses) with DNSSEC-signed TLSA records (unbound, dns.sh), an MTA-STS policy in
# enforce mode (Caddy, mtasts.sh) and a TLS-RPT record. Against it, in the same run, the
# witnesses a mail administrator would run by hand for the same facts: dig +dnssec through a
# validating resolver (MX, both TXT records, each MX host's A and TLSA), openssl s_client
# -starttls smtp for each MX host's chain, ldns-dane -S on that chain, curl for the policy;
# their times are summed. Times are wall-clock medians of whole commands (`ip netns exec`
# included); tlsfw's own elapsed_ms is reported too. Target (issue 16): the domain fully
# checked in under 0.5 s.
#
# Prints a markdown table and writes it into Documentation/performance.md between
# <!-- bench:domain:begin --> and <!-- bench:domain:end -->. Exit 0 when the measurements
# were taken (a domain that is not protected by DANE would time an error path: exit 1).
#   BUILD=build-x selftests/bench/bench_domain.sh    (uses $BUILD/tlsfw, the optimized build)
#   RUNS=5 (median of), DOC=... (file to update)
set -o pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
TLSFW=${TLSFW:-$ROOT/$BUILD/tlsfw}
RUNS=${RUNS:-5}
DOC=${DOC:-$ROOT/Documentation/performance.md}
source "$ROOT/selftests/probe/lib.sh"
source "$ROOT/selftests/probe/dns.sh"
source "$ROOT/selftests/probe/mtasts.sh"
source "$ROOT/selftests/bench/timing.sh"

MX2=10.203.0.4
WEB4=10.203.0.8
[ -x "$TLSFW" ] || fail "no $TLSFW: make BUILD=$BUILD"
probe_up
mkca
mkcert mx "DNS:mx1.bench.example,DNS:mx2.bench.example" 60
mkcert web "DNS:mta-sts.bench.example" 60
srv ip addr add $MX2/32 dev ps
srv ip addr add $WEB4/32 dev ps
PF_CERT=mx postfix_start "inet_interfaces = $S4, $MX2" "smtpd_peername_lookup = no"
sts_site bench
sts_policy bench 'version: STSv1\nmode: enforce\nmx: *.bench.example\nmax_age: 604800\n'
caddy_up $WEB4
dns_zone <<EOZ
bench MX 10 mx1.bench
bench MX 20 mx2.bench
mx1.bench A $S4
mx2.bench A $MX2
_25._tcp.mx1.bench TLSA 3 1 1 $(spki_hash "$TMP/ca/mx.pem" sha256)
_25._tcp.mx2.bench TLSA 3 1 1 $(spki_hash "$TMP/ca/mx.pem" sha256)
_mta-sts.bench TXT "v=STSv1; id=1"
mta-sts.bench A $WEB4
_smtp._tls.bench TXT "v=TLSRPTv1; rua=mailto:tls@bench.example"
EOZ
dns_up

tp() { cli "$TLSFW" probe --domain bench.example --trust-anchor "$TA" --ca "$TMP/ca/ca.pem" "$@"; }

# What tlsfw checks, by hand: each step a command, the sum of their times.
witnesses() {
	local sum=0 m a
	w() { a=$(timed "$@") || exit 1; sum=$((sum + a)); }
	w cli dig +dnssec +time=2 "@$WITNESS4" bench.example MX
	w cli dig +dnssec +time=2 "@$WITNESS4" _mta-sts.bench.example TXT
	w cli dig +dnssec +time=2 "@$WITNESS4" _smtp._tls.bench.example TXT
	for m in mx1:$S4 mx2:$MX2; do
		w cli dig +dnssec +time=2 "@$WITNESS4" "${m%%:*}.bench.example" A
		w cli dig +dnssec +time=2 "@$WITNESS4" "_25._tcp.${m%%:*}.bench.example" TLSA
		w sh -c "ip netns exec $CNS openssl s_client -starttls smtp -connect ${m#*:}:25 \
			-CAfile $TMP/ca/ca.pem -verify_hostname ${m%%:*}.bench.example \
			-verify_return_error -showcerts </dev/null 2>/dev/null |
			sed -n '/BEGIN CERT/,/END CERT/p' >$TMP/chain.pem && [ -s $TMP/chain.pem ]"
		w cli ldns-dane -c "$TMP/chain.pem" -S -k "$TA" -r $DNS4 verify \
			"${m%%:*}.bench.example" 25
	done
	w cli curl -sSf --cacert "$TMP/ca/ca.pem" -o /dev/null \
		https://mta-sts.bench.example/.well-known/mta-sts.txt
	echo $sum
}

# the domain must be protected as claimed, by DANE with MTA-STS enforce too
OUT=$(tp --json) || fail "bench.example is not protected: $(tp)"
printf '%s' "$OUT" | $PY -c '
import json, sys
d = json.load(sys.stdin)["domains"][0]
assert d["protection"] == "dane" and not d["failures"] and not d["warnings"], d
assert d["mta_sts"]["policy"]["mode"] == "enforce", d["mta_sts"]
assert all(h["mta_sts_match"] for h in d["mx"]["hosts"]), d["mx"]
' || fail "bench.example is not what the benchmark needs: $OUT"
witnesses >/dev/null || fail "a witness failed"

whole=$(med "$RUNS" tp) || exit 1
inner=$(for i in $(seq "$RUNS"); do
	tp --json | $PY -c 'import json,sys; print(json.load(sys.stdin)["domains"][0]["elapsed_ms"])'
done | median)
wit=$(for i in $(seq "$RUNS"); do witnesses || exit 1; done | median) || exit 1
# what starting a tlsfw command costs here, as a baseline: the machine is shared
start=$(med "$RUNS" cli "$TLSFW" services) || exit 1

{
	echo "Measured $(date -u +%Y-%m-%d) on $(uname -r), $(nproc) CPUs; servers in network namespaces on the same host (veth), median of $RUNS runs in ms, wall clock of whole commands (\`ip netns exec\` included); load average $(cut -d' ' -f1-3 /proc/loadavg) after."
	echo
	echo "A domain with two MX hosts (Postfix), DNSSEC-signed MX, A and TLSA 3 1 1 records (unbound), an MTA-STS policy in enforce mode (Caddy) and a TLS-RPT record; the verdict is \`dane\`, every check passes."
	echo
	echo "| run | ms | against the witnesses |"
	echo "|---|---|---|"
	echo "| witnesses, one after another: 7 \`dig +dnssec\`, 2 \`openssl s_client -starttls smtp\`, 2 \`ldns-dane -S\`, 1 \`curl\` | $wit | 1.00x |"
	echo "| \`tlsfw probe --domain\` (2 addresses x 6 connections, 5 for the SMTP checks and 1 for DANE; 9 DNS queries; the policy fetch) | $whole | $(ratio "$whole" "$wit")x |"
	echo "| the same, tlsfw's own elapsed_ms (without process start and \`ip netns exec\`) | $inner | $(ratio "$inner" "$wit")x |"
	echo "| baseline: \`tlsfw services\` (process start and \`ip netns exec\` only) | $start | $(ratio "$start" "$wit")x |"
	echo
	if [ "$inner" -lt 500 ] && [ "$whole" -lt 500 ]; then
		echo "Target met: the domain fully checked in $inner ms ($whole ms for the whole command), under 0.5 s."
	elif [ "$inner" -lt 500 ]; then
		echo "Target met for the check ($inner ms), not for the whole command ($whole ms, of which starting any tlsfw command took $start ms in this run)."
	else
		echo "Target MISSED: the check took $inner ms ($whole ms for the whole command); the target is under 0.5 s."
	fi
} >"$TMP/domain.md"
cat "$TMP/domain.md"

. "$(dirname "$0")/doc.sh"
write_section "$DOC" domain "$TMP/domain.md"
exit 0
