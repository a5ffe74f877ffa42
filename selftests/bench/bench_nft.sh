#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The nftables backend against the BPF backend (issue 5), side by side in one run through a
# namespace gateway (scripts/topology.sh):
#   1. a UDP 443 flood from the client (selftests/bench/bench_flood.c: sendmmsg, 64-byte
#      frames, bounded in time) under: no filter, tlsfw backend: bpf (XDP on lan0), tlsfw
#      backend: nft (inet ingress hook on lan0), and a hand-written `nft` rule
#      `udp dport 443 drop` in a base chain on the same inet ingress hook of lan0;
#      packets per second dropped (the dropping rule's counter / seconds; for no filter: the
#      datagrams the gateway forwarded to the server per second);
#   2. apply time of 1, 1,000 and 4,096 rules (one UDP dport rule of one or two ports each on
#      lan0) for both backends and for `nft -f` of the nft backend's ruleset, cold (nothing
#      enforced) and as a replacement, median of RUNS; ratio nft backend / nft -f.
# Prints a markdown table and writes it into Documentation/performance.md between
# <!-- bench:nft:begin --> and <!-- bench:nft:end --> (markers appended when absent).
#   BUILD=build-x selftests/bench/bench_nft.sh   (uses $BUILD/tlsfw and $BUILD/bench/bench_flood)
#   SECONDS_FLOOD=3, RUNS=3 (median of), DOC=... (the file to update)
# Takes about 4 x RUNS x SECONDS_FLOOD seconds plus 20 x RUNS applies.
set -u -o pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
TLSFW=${TLSFW:-$BUILD/tlsfw}
FLOOD=$BUILD/bench/bench_flood
T=${SECONDS_FLOOD:-3}
RUNS=${RUNS:-3}
DOC=${DOC:-$ROOT/Documentation/performance.md}
P="tlsfw-bnft-$$-"
GW=${P}gw CLI=${P}c SRV=${P}s
TMP=$(mktemp -d /tmp/tlsfw-bench-nft.XXXXXX)

cleanup() {
	"$ROOT/scripts/topology.sh" down "$P"
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
	echo "bench_nft: $*" >&2
	exit 1
}

[ "$(id -u)" = 0 ] || die "needs root"
[ -x "$TLSFW" ] || die "no $TLSFW (make BUILD=... all)"
[ -x "$FLOOD" ] || die "no $FLOOD (make BUILD=... $FLOOD)"
command -v nft >/dev/null || die "nft is not installed"

gw() { ip netns exec "$GW" "$@"; }

"$ROOT/scripts/topology.sh" up "$P" >/dev/null || die "topology"
# resolve the neighbours before the flood
ip netns exec "$CLI" python3 "$ROOT/selftests/net/nettool.py" udp-probe --to 10.10.2.2 --port 9 --timeout 0.3 >/dev/null
ip netns exec "$SRV" python3 "$ROOT/selftests/net/nettool.py" udp-probe --to 10.10.1.2 --port 9 --timeout 0.3 >/dev/null
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# policy BACKEND N: N rules, rule 0 drops UDP 443, the others UDP 10000+i; path printed
# policy BACKEND N [PORTS]: N rules, rule 0 drops UDP 443, rule i UDP 10000+i (with PORTS=2
# also 30000+i: two ports, so that the nft backend needs a set for the rule)
policy() {
	local f="$TMP/p-$1-$2-${3:-1}.conf" i
	{
		printf 'version: 1\nbackend: %s\ninterfaces:\n  - name: lan0\ndefault: allow\nrules:\n' "$1"
		printf '  - name: drop-quic\n    proto: udp\n    dport: 443\n    action: drop\n'
		for ((i = 1; i < $2; i++)); do
			if [ "${3:-1}" = 2 ]; then
				printf '  - name: r%d\n    proto: udp\n    dport: [%d, %d]\n    action: drop\n' $i $((10000 + i)) $((30000 + i))
			else
				printf '  - name: r%d\n    proto: udp\n    dport: %d\n    action: drop\n' $i $((10000 + i))
			fi
		done
	} >"$f"
	echo "$f"
}

# flood: T seconds of UDP 443 from the client; prints "sent forwarded"
flood() {
	local f0 f1 sent
	f0=$(gw cat /sys/class/net/wan0/statistics/tx_packets)
	sent=$(ip netns exec "$CLI" "$FLOOD" 10.10.2.2 443 "$T") || die "flood failed"
	sleep 0.2
	f1=$(gw cat /sys/class/net/wan0/statistics/tx_packets)
	echo "$sent $((f1 - f0))"
}

stat_packets() { # JSON from tlsfw stats: packets of drop-quic
	python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(r["packets"] for r in d["rules"] if r["name"]=="drop-quic"))'
}

rate() { echo $(($1 / T)); }
rows=()

# ---- 1. flood ------------------------------------------------------------------------------
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

hand_packets() {
	gw nft list chain inet benchhand in | awk '/udp dport 443 counter/ { print $6 }'
}

tlsfw_packets() {
	gw "$TLSFW" stats --json --exact | stat_packets
}

# measure LABEL COUNTER: RUNS floods; COUNTER prints the dropping rule's packets ("" for no
# filter: the forwarded datagrams count). One table row, medians of the runs.
measure() {
	local label=$1 counter=$2 r sent fwd c0 c1 d
	: >"$TMP/sent"
	: >"$TMP/drop"
	: >"$TMP/fwd"
	for ((r = 0; r < RUNS; r++)); do
		c0=0
		[ -n "$counter" ] && { c0=$($counter) || die "counter ($label)"; }
		read -r sent fwd < <(flood)
		if [ -n "$counter" ]; then
			c1=$($counter) || die "counter ($label)"
			d=$((c1 - c0))
		else
			d=$fwd
		fi
		rate "$sent" >>"$TMP/sent"
		rate "$d" >>"$TMP/drop"
		echo "$fwd" >>"$TMP/fwd"
	done
	d=$(median <"$TMP/drop")
	[ -z "$counter" ] && d="$d forwarded"
	rows+=("| $label | $(median <"$TMP/sent") | $d | $(median <"$TMP/fwd") |")
}

measure "no filter" ""
for b in bpf nft; do
	gw "$TLSFW" apply "$(policy $b 1)" >/dev/null || die "apply ($b)"
	measure "tlsfw backend: $b" tlsfw_packets
	gw "$TLSFW" detach >/dev/null || die "detach ($b)"
done

gw nft -f - <<'EOF' || die "hand-written nft rule"
table inet benchhand {
	chain in {
		type filter hook ingress device "lan0" priority filter; policy accept;
		udp dport 443 counter drop
	}
}
EOF
measure "hand-written nft \`udp dport 443 drop\`" hand_packets
gw nft delete table inet benchhand

# ---- 2. apply time -------------------------------------------------------------------------
# Per size: bpf and nft backends cold and as a replacement, and `nft -f` of the ruleset the nft
# backend installs (`tlsfw check --print-plan`, valid nft input), cold and as a replacement
# (the same file after `table inet tlsfw {}; delete table inet tlsfw`: one transaction, as an
# operator reloads a table atomically). tlsfw and nft alternate run by run, so that a change
# of load on the machine weighs on both.
now_ms() { date +%s%3N; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
arows=()
for spec in "1 1" "1000 1" "4096 1" "1 2" "1000 2" "4096 2"; do
	read -r n ports <<<"$spec"
	line="| $n | $ports |"
	for b in bpf nft; do
		pol=$(policy $b $n "$ports")
		: >"$TMP/times"
		: >"$TMP/rtimes"
		: >"$TMP/ftimes"
		: >"$TMP/frtimes"
		if [ $b = nft ]; then
			"$TLSFW" check --print-plan "$pol" >"$TMP/plan.nft" 2>/dev/null || die "print-plan $n rules"
			{ echo "table inet tlsfw {}"; echo "delete table inet tlsfw"; cat "$TMP/plan.nft"; } >"$TMP/plan-r.nft"
		fi
		for ((r = 0; r < RUNS; r++)); do
			t0=$(now_ms)
			gw "$TLSFW" apply "$pol" >/dev/null 2>&1 || die "apply $n rules ($b)"
			t1=$(now_ms)
			gw "$TLSFW" apply "$pol" >/dev/null 2>&1 || die "replace $n rules ($b)"
			t2=$(now_ms)
			echo $((t1 - t0)) >>"$TMP/times"
			echo $((t2 - t1)) >>"$TMP/rtimes"
			gw "$TLSFW" detach >/dev/null || die "detach ($b)"
			[ $b = nft ] || continue
			t0=$(now_ms)
			gw nft -f "$TMP/plan.nft" || die "nft -f of $n rules"
			t1=$(now_ms)
			gw nft -f "$TMP/plan-r.nft" || die "nft -f replacing $n rules"
			t2=$(now_ms)
			echo $((t1 - t0)) >>"$TMP/ftimes"
			echo $((t2 - t1)) >>"$TMP/frtimes"
			gw nft delete table inet tlsfw || die "nft delete table"
		done
		c=$(median <"$TMP/times") rc=$(median <"$TMP/rtimes")
		if [ $b = bpf ]; then
			line="$line $c | $rc |"
		else
			fc=$(median <"$TMP/ftimes") frc=$(median <"$TMP/frtimes")
			line="$line $c | $fc | $(ratio "$c" "$fc") | $rc | $frc | $(ratio "$rc" "$frc") |"
		fi
	done
	arows+=("$line")
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

{
	echo "Measured $(date -u +%Y-%m-%d) on $(uname -r), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')); client, gateway and server are network namespaces joined by veth pairs on one host, so the sender and the gateway share the $(nproc) cores; load average $LOAD_BEFORE before, $LOAD_AFTER after. The optimized build ($(basename "$BUILD")/tlsfw)."
	echo
	echo "UDP 443 flood: one sender (sendmmsg, 64 per call, 18-byte payloads: 64-byte frames) in the client for $T s into the gateway's lan0, $RUNS runs per row, medians. \"Dropped/s\" is the dropping rule's counter over the $T s (tlsfw stats; for the hand-written rule its nft counter); for no filter the column is the rate the gateway forwarded to the server instead. \"Reached the server\" is the gateway's wan0 transmit count during one flood. The tlsfw policy is one rule (drop UDP 443, lan0 ingress); the hand-written rule sits on the same inet ingress hook of lan0 as the nft backend's chain. On veth the sender's own cost bounds every row: a veth without NAPI (no XDP program on lan0: the no-filter and nft rows) runs the gateway's receive path inside the sender's transmit call, so sent/s also reflects the per-packet cost of the gateway; where dropped/s equals sent/s the filter dropped every datagram the sender produced. Compare rows, not absolute numbers."
	echo
	echo "| filter | sent/s | dropped/s | reached the server |"
	echo "|---|---|---|---|"
	printf '%s\n' "${rows[@]}"
	echo
	echo "Apply time: wall clock of the whole process inside the gateway namespace, median of $RUNS, in ms: \`tlsfw apply\` cold (\`tlsfw detach\` before each run) and as a replacement of the same policy right after (bpf: a generation switch; nft: the interval sets, maps and rule chains staged in one transaction if the policy has any, then the switch that flushes and refills the kept chains, makes the hash sets and deletes the previous generation); \`nft -f\` of the ruleset the nft backend installs (\`tlsfw check --print-plan\`) into a namespace without the table, and as a replacement (the same file after \`table inet tlsfw {}; delete table inet tlsfw\`, one transaction). Ratio: tlsfw / nft -f, same run (target: at most 1.0). Rule 0 drops UDP 443, rule i UDP 10000+i (ports: 2 adds 30000+i). From 8 rules on, the nft backend looks such consecutive port-only rules up in one verdict map per protocol (architecture.md, \"Runs\")."
	echo
	echo "| rules | ports | bpf cold | bpf replace | nft cold | nft -f cold | ratio | nft replace | nft -f replace | ratio |"
	echo "|---|---|---|---|---|---|---|---|---|---|"
	printf '%s\n' "${arows[@]}"
} >"$TMP/nft.md"
cat "$TMP/nft.md"

. "$(dirname "$0")/doc.sh"
write_section "$DOC" nft "$TMP/nft.md"
