#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The nftables backend owns table inet tlsfw and nothing else: a foreign `inet filter` table
# with rules, sets and counters (some of them moved by traffic), and a foreign `ip tlsfw`
# table (our name, another family), read back byte for byte with `nft list table` before and
# after apply, replace, detach of one interface and detach of everything. Last, a table
# inet tlsfw that tlsfw did not make (no chain tlsfw_policy): apply of backend nft refuses
# (exit 2, naming it) instead of replacing it, status and detach leave it alone, and backend
# bpf applies next to it; the table stays byte-identical and its drop rule keeps dropping.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nft_lib.sh"

topo_up
gw nft -f - <<'EOF2' || fail "cannot create the foreign tables"
table inet filter {
	counter seen {
		comment "foreign"
	}
	set blocked {
		type ipv4_addr
		elements = { 192.0.2.1 }
	}
	chain input {
		type filter hook input priority filter; policy accept;
		ip saddr @blocked drop
		udp dport 5000 counter name "seen"
	}
	chain forward {
		type filter hook forward priority filter; policy accept;
		udp dport 5001 counter
		udp dport 9999 counter drop
	}
}
table ip tlsfw {
	chain c {
		type filter hook output priority 10; policy accept;
		udp dport 5002 counter
	}
}
EOF2
# move the foreign counters, so that a reset or a rewrite would show
send_udp "$CLI" 10.10.1.1 5000 3
send_udp "$CLI" "$S4" 5001 4
sleep 0.3
snap() { # NAME
	gw nft list table inet filter >"$TMP/$1.filter" || fail "$1: inet filter is gone"
	gw nft list table ip tlsfw >"$TMP/$1.iptlsfw" || fail "$1: ip tlsfw is gone"
}
same() { # NAME
	snap "$1"
	cmp -s "$TMP/0.filter" "$TMP/$1.filter" || { diff "$TMP/0.filter" "$TMP/$1.filter"; fail "$1 changed table inet filter"; }
	cmp -s "$TMP/0.iptlsfw" "$TMP/$1.iptlsfw" || { diff "$TMP/0.iptlsfw" "$TMP/$1.iptlsfw"; fail "$1 changed table ip tlsfw"; }
	ok "$1: the foreign tables are byte-identical"
}
snap 0
grep -q 'packets 3 ' "$TMP/0.filter" && grep -q 'packets 4 ' "$TMP/0.filter" ||
	{ cat "$TMP/0.filter"; fail "the foreign counters did not move (3 and 4 packets)"; }

two=$(policy two <<'EOP'
version: 1
backend: nft
interfaces:
  - name: lan0
    hooks: [ingress, egress]
  - name: wan0
default: allow
rules:
  - name: block-quic
    service: quic
    action: reject
  - name: lan-dns
    dport: 53
    dst: [10.10.2.0/24, "fd00:2::/64"]
    action: allow
EOP
)
nftfw apply "$two" >"$TMP/a1.out" 2>&1 || { cat "$TMP/a1.out"; fail "apply"; }
same apply
gw nft list table inet tlsfw >"$TMP/t1" || fail "no table inet tlsfw"
for c in lan0_in lan0_out wan0_in forward output; do
	grep -q "chain $c {" "$TMP/t1" || fail "chain $c is missing"
done
grep -q '"lan0" : jump lan0_out' "$TMP/t1" || fail "no egress dispatch for lan0"

dot=$(nft_policy "$ROOT/policies/block-dot.conf" dot)
nftfw apply "$dot" >"$TMP/a2.out" 2>&1 || { cat "$TMP/a2.out"; fail "replace"; }
same replace
nftfw apply "$two" >/dev/null 2>&1 || fail "apply again"

nftfw detach lan0 >"$TMP/d1.out" 2>&1 || { cat "$TMP/d1.out"; fail "detach lan0"; }
same "detach lan0"
gw nft list table inet tlsfw >"$TMP/t2" || fail "detach lan0 removed the whole table"
grep -q 'chain lan0_' "$TMP/t2" && fail "lan0's chains survived detach lan0"
grep -q '/lan0/' "$TMP/t2" && fail "lan0's counters survived detach lan0"
grep -q 'chain wan0_in {' "$TMP/t2" || fail "detach lan0 removed wan0's chain"
ok "detach lan0 removed lan0 only"

nftfw detach >"$TMP/d2.out" 2>&1 || { cat "$TMP/d2.out"; fail "detach"; }
same detach
gw nft list table inet tlsfw >/dev/null 2>&1 && fail "table inet tlsfw survived detach"
nftfw detach >"$TMP/d3.out" 2>&1 || { cat "$TMP/d3.out"; fail "a second detach failed"; }
grep -q "removed" "$TMP/d3.out" && fail "a second detach claimed to remove something: $(cat "$TMP/d3.out")"
same "second detach"
ok "detach removed table inet tlsfw and only it"

foreign_table tlsfw 5003
nftfw apply "$two" >"$TMP/m1.out" 2>&1
rc=$?
[ $rc = 2 ] || { cat "$TMP/m1.out"; fail "apply over a foreign table inet tlsfw: exit $rc, expected 2"; }
grep -q "error: table inet tlsfw exists but tlsfw did not make it (it has no chain tlsfw_policy)" "$TMP/m1.out" ||
	{ cat "$TMP/m1.out"; fail "the refusal does not say why"; }
foreign_same tlsfw "a refused apply"
nftfw status | grep -q "nothing enforced" || fail "status takes the foreign table for tlsfw's"
nftfw detach >"$TMP/m2.out" 2>&1 || { cat "$TMP/m2.out"; fail "detach next to a foreign table inet tlsfw"; }
foreign_same tlsfw detach
bpf=$(sed '/^backend: nft$/d' "$two")
nftfw apply "$(echo "$bpf" | policy two-bpf)" >"$TMP/m3.out" 2>&1 ||
	{ cat "$TMP/m3.out"; fail "backend bpf refused next to a foreign table inet tlsfw"; }
nftfw detach >/dev/null 2>&1 || fail "detach (bpf)"
foreign_same tlsfw "apply and detach of backend bpf"
[ "$(udp_probe "$CLI" "$S4" 5003)" = timeout ] || fail "the foreign table's drop rule no longer drops"
ok "a foreign table inet tlsfw: nft apply refused (exit 2), status, detach and backend bpf leave it as it was"
