#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Shared by selftests/net/test_nft_*.sh, sourced after lib.sh: the nftables backend.
#
#   nft_policy SRC NAME   copy of policy SRC with `backend: nft`, path printed
#   nftfw ARGS...         apply/status/stats/detach through the nftables backend, in the
#                         gateway: `tlsfw` once its apply knows `backend: nft`, else the
#                         test-only driver (build/asan/tests/unit/test_nft_build)
#   nft_counter NAME      packets of named counter NAME in table inet tlsfw (read by `nft`,
#                         an independent witness)
NFTDRV=${NFTDRV:-$(dirname "$TLSFW")/tests/unit/test_nft_build}

command -v nft >/dev/null || fail "nft (the witness) is not installed"

nft_policy() {
	sed 's/^version: 1$/version: 1\nbackend: nft/' "$1" >"$TMP/$2.conf"
	grep -q '^backend: nft' "$TMP/$2.conf" || fail "cannot make an nft copy of $1"
	echo "$TMP/$2.conf"
}

# The product's own command when it has the nft branch (it says so by not refusing the
# backend in a dry run); otherwise the driver.
_nft_use_tlsfw=""
_nft_probe_done=""
_nft_probe() {
	[ -n "$_nft_probe_done" ] && return
	_nft_probe_done=1
	local p
	p=$(nft_policy "$ROOT/policies/block-quic.conf" nftprobe)
	if ip netns exec "$GW" "$TLSFW" apply "$p" --dry-run >"$TMP/nftprobe.out" 2>&1; then
		_nft_use_tlsfw=1
	elif grep -q 'not available' "$TMP/nftprobe.out"; then
		[ -x "$NFTDRV" ] || fail "no nft test driver at $NFTDRV"
	else
		cat "$TMP/nftprobe.out"
		fail "tlsfw apply --dry-run of an nft policy failed"
	fi
}

nftfw() {
	_nft_probe
	if [ -n "$_nft_use_tlsfw" ]; then
		ip netns exec "$GW" "$TLSFW" "$@"
	else
		ip netns exec "$GW" "$NFTDRV" "$@"
	fi
}

nft_counter() {
	gw nft list counter inet tlsfw "$1" | awk '/packets/ { print $2 }'
}

nft_counter_bytes() {
	gw nft list counter inet tlsfw "$1" | awk '/packets/ { print $4 }'
}

# ---- both backends (the scenario tests run once per backend and must agree) ----------------
#
#   BACKENDS               the backends a scenario runs under (default "bpf nft")
#   backend_policy FILE B  FILE with `backend: B` after its version line, path printed
#   counters_save JSON OUT [RULE...]
#                          the rule counters of `tlsfw stats --json --exact` as lines
#                          "rule interface direction packets bytes", sorted (only RULEs when
#                          given: counters of TCP handshakes and retransmissions vary by run)
#   backends_agree A B     the counter files of two backends agree: packets equal, and bytes
#                          equal once the Ethernet header is added to the nft count
#
# Bytes: the BPF backend counts the frame as its hook sees it (XDP: from the Ethernet header;
# tc: skb->len, also with the Ethernet header), nftables counts the IP packet (the inet
# ingress, forward and output hooks see the skb after the link layer header). So for untagged
# Ethernet bpf bytes = nft bytes + 14 x packets, which is what backends_agree checks.
BACKENDS=${BACKENDS:-bpf nft}
ETH_HLEN=14

backend_policy() {
	local out
	out="$TMP/$(basename "$1" .conf)-$2.conf"
	grep -v '^backend:' "$1" | sed "s/^version: 1\$/version: 1\nbackend: $2/" >"$out"
	grep -q "^backend: $2\$" "$out" || fail "cannot make a backend: $2 copy of $1"
	echo "$out"
}

counters_save() {
	local json=$1 out=$2
	shift 2
	$PY - "$json" "$@" >"$out" <<'PYEOF' || fail "cannot read counters from $json"
import json, sys
d = json.load(open(sys.argv[1]))
only = set(sys.argv[2:])
rows = sorted("%s %s %s %d %d" % (r["name"], r["interface"], r["direction"], r["packets"], r["bytes"])
              for r in d["rules"] if not only or r["name"] in only)
print("\n".join(rows))
PYEOF
}

backends_agree() {
	$PY - "$1" "$2" "$ETH_HLEN" <<'PYEOF'
import sys
def load(p):
    out = {}
    for line in open(p):
        f = line.split()
        if f:
            out[tuple(f[:3])] = (int(f[3]), int(f[4]))
    return out
a, b, eth = load(sys.argv[1]), load(sys.argv[2]), int(sys.argv[3])
bad = 0
for k in sorted(set(a) | set(b)):
    if k not in a or k not in b:
        print("counter %s exists under one backend only" % "/".join(k)); bad += 1; continue
    (pa, ba), (pb, bb) = a[k], b[k]
    if pa != pb:
        print("%s: %d packets (bpf) vs %d (nft)" % ("/".join(k), pa, pb)); bad += 1
    elif ba != bb + eth * pb:
        print("%s: %d bytes (bpf) vs %d (nft) + %d x %d Ethernet" % ("/".join(k), ba, bb, eth, pb)); bad += 1
sys.exit(1 if bad else 0)
PYEOF
}
