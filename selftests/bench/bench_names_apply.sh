#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# What names cost an apply (issue 13): `tlsfw apply` of a policy whose name rule lists N names
# (a file given as `sni: "@FILE"`, one name a line, a tenth of them wildcards) against the same
# policy with the rule's `sni:` taken out, on a namespace gateway (scripts/topology.sh). Cold
# (`tlsfw detach` before each run) and as a replacement (the other variant of the same size
# enforced: every name different), wall clock and CPU time of the whole tlsfw process inside
# the gateway namespace, median of RUNS, and `tlsfw check` of the same file (no kernel).
# Prints a markdown table and writes it into Documentation/performance.md between
# <!-- bench:names_apply:begin --> and <!-- bench:names_apply:end -->.
#   BUILD=build-x selftests/bench/bench_names_apply.sh   (uses $BUILD/tlsfw, the optimized build)
#   RUNS=5 DOC=... (file to update)
set -o pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
TLSFW=${TLSFW:-$ROOT/$BUILD/tlsfw}
RUNS=${RUNS:-5}
DOC=${DOC:-$ROOT/Documentation/performance.md}
SIZES=(0 10 1000 10000)
source "$ROOT/selftests/net/lib.sh"
source "$ROOT/selftests/bench/timing.sh"
source "$ROOT/selftests/bench/doc.sh"

# genpol FILE N VARIANT: the name rule with N names (none: no `sni:`), then two port rules
genpol() {
	local file=$1 n=$2 v=$3 i
	if [ "$n" -gt 0 ]; then
		for ((i = 0; i < n; i++)); do
			if ((i % 10 == 9)); then
				echo "*.$v$i.example.net"
			else
				echo "$v$i.host.example.com"
			fi
		done >"$file.names"
	fi
	{
		printf 'version: 1\ninterfaces:\n  - name: lan0\ndefault: allow\nrules:\n'
		printf '  - name: names\n    proto: tcp\n    dport: 443\n'
		[ "$n" -gt 0 ] && printf '    sni: "@%s"\n' "$file.names"
		printf '    action: drop\n'
		printf '  - name: block-quic\n    proto: udp\n    dport: 443\n    action: drop\n'
		printf '  - name: allow-https\n    proto: tcp\n    dport: 443\n    action: allow\n'
	} >"$file"
}

# runs KIND N: RUNS lines "WALL CPU" (us) of KIND: check, cold or replacement
runs() {
	local i v=b
	[ "$1" = replacement ] && { gw_timed "$TLSFW" apply "$TMP/p$2a.conf" >/dev/null || fail "apply of $2 names"; }
	for i in $(seq "$RUNS"); do
		case $1 in
		check) gw_timed "$TLSFW" check "$TMP/p$2a.conf" || fail "check of $2 names" ;;
		cold)
			gw_timed "$TLSFW" detach >/dev/null || fail "detach"
			gw_timed "$TLSFW" apply "$TMP/p$2a.conf" || fail "cold apply of $2 names"
			;;
		replacement)
			gw_timed "$TLSFW" apply "$TMP/p$2$v.conf" || fail "replacing apply of $2 names"
			[ $v = b ] && v=a || v=b
			;;
		esac
	done
}

# cell LINES: "wall (cpu)" medians in ms, and the wall clock's min-max
cell() {
	local w c
	w=$(awk '{ print $1 }' <<<"$1" | median)
	c=$(awk '{ print $2 }' <<<"$1" | median)
	awk -v w="$w" -v c="$c" -v r="$(awk '{ print $1 }' <<<"$1" | sort -n | sed -n '1p;$p' | tr '\n' ' ')" \
		'BEGIN { split(r, m, " "); printf "%.0f (%.0f) | %.0f-%.0f", w / 1000, c / 1000, m[1] / 1000, m[2] / 1000 }'
}

topo_up
for n in "${SIZES[@]}"; do
	genpol "$TMP/p${n}a.conf" "$n" a
	genpol "$TMP/p${n}b.conf" "$n" b
done
load0=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A CHECK COLD REPL
for n in "${SIZES[@]}"; do
	CHECK[$n]=$(runs check "$n") || exit 1
	COLD[$n]=$(runs cold "$n") || exit 1
	REPL[$n]=$(runs replacement "$n") || exit 1
	echo "$n names: cold $(cell "${COLD[$n]}"), replacement $(cell "${REPL[$n]}")"
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)
gw_timed "$TLSFW" detach >/dev/null || fail "final detach"

OUT=$TMP/names_apply.md
{
	echo "Measured $(date -u '+%Y-%m-%d %H:%M') UTC on $(bench_machine); the gateway a network namespace (veth) on the same host; load average $load0 before, $load1 after. The optimized build ($BUILD/tlsfw)."
	echo
	echo "Wall clock of the whole tlsfw process inside the gateway namespace, median of $RUNS runs, in ms, with its CPU time (user + system, median) in parentheses, and the wall clock's min-max. Policy: a name rule on TCP 443 (\`sni: \"@FILE\"\`, N names, every tenth a wildcard; 0: the same rule without \`sni:\`), a UDP 443 drop and a TCP 443 allow, on lan0. Cold: \`tlsfw detach\` before each run. Replacement: the other variant of the same size enforced (every name different)."
	echo
	echo "| names | check ms (CPU) | min-max | cold apply ms (CPU) | min-max | replacement ms (CPU) | min-max | cold / 0 names | replacement / 0 names |"
	echo "|---|---|---|---|---|---|---|---|---|"
	for n in "${SIZES[@]}"; do
		k=$(awk '{ print $1 }' <<<"${COLD[$n]}" | median) k0=$(awk '{ print $1 }' <<<"${COLD[0]}" | median)
		r=$(awk '{ print $1 }' <<<"${REPL[$n]}" | median) r0=$(awk '{ print $1 }' <<<"${REPL[0]}" | median)
		echo "| $n | $(cell "${CHECK[$n]}") | $(cell "${COLD[$n]}") | $(cell "${REPL[$n]}") | $(ratio "$k" "$k0") | $(ratio "$r" "$r0") |"
	done
} >"$OUT"
cat "$OUT"

write_section "$DOC" names_apply "$OUT"
