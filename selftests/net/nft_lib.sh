#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Shared by selftests/net/test_nft_*.sh, sourced after lib.sh: the nftables backend.
#
#   nft_policy SRC NAME   copy of policy SRC with `backend: nft`, path printed
#   nftfw ARGS...         tlsfw in the gateway (the backend comes from the policy)
#   nft_counter NAME      packets of named counter NAME in table inet tlsfw (read by `nft`,
#                         an independent witness)
#   nft_reads_back        the listing of table inet tlsfw is valid `nft -f` input
#   foreign_table NAME PORT, foreign_same NAME WHEN   a table inet NAME that tlsfw did not
#                         make, and the check that WHEN left it byte-identical

command -v nft >/dev/null || fail "nft (the witness) is not installed"

nft_policy() {
	sed 's/^version: 1$/version: 1\nbackend: nft/' "$1" >"$TMP/$2.conf"
	grep -q '^backend: nft' "$TMP/$2.conf" || fail "cannot make an nft copy of $1"
	echo "$TMP/$2.conf"
}

nftfw() {
	ip netns exec "$GW" "$TLSFW" "$@"
}

# nft_reads_back: `nft list table inet tlsfw` is valid input for `nft -f` (checked with -c,
# after a delete of the table, so that nothing changes): a saved ruleset can be restored.
nft_reads_back() {
	{ echo "delete table inet tlsfw"; gw nft list table inet tlsfw; } >"$TMP/readback.nft" ||
		fail "cannot list table inet tlsfw"
	gw nft -c -f "$TMP/readback.nft" >"$TMP/readback.err" 2>&1 ||
		{ head -20 "$TMP/readback.err"; fail "nft cannot read back its listing of table inet tlsfw"; }
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
#   one_schema B POLICY STATUS STATS
#                          `status --json` (STATUS) and `stats --json` (STATS) of backend B
#                          enforcing POLICY on lan0 ingress have exactly the keys tlsfw(8)
#                          documents, the same for both backends, with B's values
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
    # Neighbour discovery and MLD of the gateway (egress) and of the client (ingress) are
    # sent when the kernels decide (reachability probes, reports), so the implicit rule's
    # counts differ by run in both directions (test_monitor once saw 0 vs 1 on ingress).
    if k[0] == "(essentials)":
        continue
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

one_schema() {
	$PY - "$@" <<'PYEOF'
import hashlib, json, os, re, sys
b, policy, status, stats = sys.argv[1:5]
st, sx = json.load(open(status)), json.load(open(stats))
bad = []
def keys(what, obj, want):
    if set(obj) != set(want):
        bad.append("%s keys %s, want %s" % (what, sorted(obj), sorted(want)))
keys("status", st, ["enforced", "backend", "policy", "interfaces", "confirm"])
if st["confirm"] is not None:
    bad.append("status confirm %r, want null (no apply --confirm pending)" % st["confirm"])
keys("status policy", st["policy"], ["file", "hash", "applied_at", "applied_at_unix", "rules",
     "default", "backend", "generation", "table", "flow_table_entries"])
for i in st["interfaces"]:
    keys("status interface", i, ["name", "applied_name", "ifindex", "ingress", "egress",
         "in_policy", "foreign", "lost", "policy", "hash", "applied_at", "rules"])
keys("stats", sx, ["policy", "rules", "interfaces", "reasons"])
keys("stats policy", sx["policy"], ["file", "hash", "applied_at", "applied_at_unix", "default",
     "backend"])
for i in sx["interfaces"]:
    keys("stats interface", i, ["interface", "direction", "hook", "default", "pass", "drop",
         "reject", "monitor"])
for r in sx["rules"]:
    keys("stats rule", r, ["name", "action", "mode", "interface", "direction", "packets", "bytes"])
p = st["policy"]
want = "sha256:" + hashlib.sha256(open(policy, "rb").read()).hexdigest()
if p["hash"] != want or sx["policy"]["hash"] != want:
    bad.append("hash %s / %s, want %s" % (p["hash"], sx["policy"]["hash"], want))
if st["backend"] != b or p["backend"] != b or sx["policy"]["backend"] != b:
    bad.append("backend %s / %s / %s, want %s" % (st["backend"], p["backend"], sx["policy"]["backend"], b))
if p["generation"] not in (0, 1):
    bad.append("generation %r" % p["generation"])
if p["table"] != ("inet tlsfw" if b == "nft" else None):
    bad.append("table %r" % p["table"])
# auto on a veth: native XDP, or tc ingress with XDP refused (test_tc_ingress.sh)
hook = "nft" if b == "nft" else "tc" if os.environ.get("TLSFW_XDP_FAULT") == "refuse" else "xdp-native"
lan = [i for i in st["interfaces"] if i["name"] == "lan0"]
if len(lan) != 1 or lan[0]["ingress"] != hook or not isinstance(lan[0]["ifindex"], int) or \
        lan[0]["ifindex"] <= 0 or lan[0]["hash"] != want or lan[0]["in_policy"] is not True or \
        lan[0]["foreign"] is not False:
    bad.append("status lan0: %s" % lan)
if [i["hook"] for i in sx["interfaces"] if i["interface"] == "lan0"] != [hook]:
    bad.append("stats lan0 hook: %s" % [i["hook"] for i in sx["interfaces"]])
for m in bad:
    print("%s: %s" % (b, m))
sys.exit(1 if bad else 0)
PYEOF
}

# foreign_table NAME PORT: a table inet NAME that tlsfw did not make (a forward chain that
# drops UDP to PORT), its listing kept for foreign_same NAME WHEN, which fails if WHEN
# changed it
foreign_table() {
	gw nft -f - <<EOF2 || fail "cannot create a foreign table inet $1"
table inet $1 {
	chain mine {
		type filter hook forward priority filter; policy accept;
		udp dport $2 drop
	}
}
EOF2
	gw nft list table inet "$1" >"$TMP/$1.0"
}

foreign_same() {
	gw nft list table inet "$1" | cmp -s "$TMP/$1.0" - ||
		fail "$2 changed the foreign table inet $1: $(gw nft list table inet "$1" 2>&1)"
}
