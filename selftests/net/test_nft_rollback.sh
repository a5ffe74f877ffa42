#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# nftables backend, all or nothing: a policy whose batch the kernel refuses fails with exit 2
# naming the rule's policy line, and the previous ruleset stays rule for rule (counter values
# aside) and keeps blocking. Refused in either transaction of an apply: the first, which
# stages the sets (a set over its declared size, TLSFW_NFT_FAULT=set-size:RULE), or the
# second, which switches (TLSFW_NFT_FAULT=switch: the staged sets are removed again), or the
# only one (no interval set to stage: a hash set is made in the switch). A dry
# run changes nothing either way; a missing interface is refused before the kernel is asked.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nft_lib.sh"

topo_up
sink_start s 443,8080

good=$(nft_policy "$ROOT/policies/block-quic-port.conf" good)
nftfw apply "$good" >"$TMP/apply.out" 2>&1 || { cat "$TMP/apply.out"; fail "apply the good policy"; }
# the table as text, counter values masked: stray IPv6 neighbour and MLD traffic on lan0 may
# move the default counter meanwhile (the exact counts are checked with traffic below)
list_table() {
	gw nft list table inet tlsfw | sed 's/packets [0-9]* bytes [0-9]*/packets N bytes N/'
}
list_table >"$TMP/before.nft" || fail "no table after the good apply"

bad=$(policy bad <<'EOP'
version: 1
backend: nft
interfaces:
  - name: lan0
default: allow
rules:
  - name: ssh
    dport: 22
    action: allow
  - name: web
    proto: tcp
    dport: [80, 443, 8080-8081]
    action: drop
EOP
)
same_table() { # WHAT
	list_table >"$TMP/after.nft" 2>&1 || fail "$1: table inet tlsfw is gone"
	cmp -s "$TMP/before.nft" "$TMP/after.nft" || {
		diff "$TMP/before.nft" "$TMP/after.nft"
		fail "$1 changed table inet tlsfw"
	}
}

# the kernel refuses: exit 2, the rule's line named, nothing changed
TLSFW_NFT_FAULT=set-size:web nftfw apply "$bad" >"$TMP/bad.out" 2>&1
rc=$?
cat "$TMP/bad.out"
[ $rc = 2 ] || fail "a batch the kernel refused exited $rc, expected 2"
grep -q "bad.conf:10:[0-9]*: error: .*rule 'web'" "$TMP/bad.out" ||
	fail "the error does not name rule 'web' at bad.conf:10"
grep -q "set web_pd\.[ab]: the set is full" "$TMP/bad.out" ||
	fail "the error does not say why the kernel refused"
same_table "the refused apply"
ok "the refused batch exited 2 naming bad.conf:10 and changed nothing"

# the second transaction refused, after the first staged the new sets (TLSFW_NFT_FAULT=switch
# appends a rule the kernel refuses): exit 2, and the staged sets are removed again
TLSFW_NFT_FAULT=switch nftfw apply "$bad" >"$TMP/sw.out" 2>&1
rc=$?
cat "$TMP/sw.out"
[ $rc = 2 ] || fail "a refused switch exited $rc, expected 2"
grep -q "nftables refused .*tlsfw_no_such_chain" "$TMP/sw.out" || fail "the refused switch does not say what was refused"
grep -q "previous policy is still enforced" "$TMP/sw.out" || fail "the refused switch does not say the previous policy is enforced"
same_table "the refused switch"
gw nft list sets table inet tlsfw | grep -q 'web_' && fail "the sets staged for the refused policy were left behind"
ok "a switch refused after the sets were staged exited 2; the staged sets are gone, the table as it was"

# the same refusals with nothing to stage: web's ports all single values, a hash set made in
# the switch, which is then the apply's only transaction
sed 's/8080-8081/8080/' "$bad" >"$TMP/hash.conf"
for fault in set-size:web switch; do
	TLSFW_NFT_FAULT=$fault nftfw apply "$TMP/hash.conf" >"$TMP/hash.out" 2>&1
	rc=$?
	[ $rc = 2 ] || { cat "$TMP/hash.out"; fail "$fault: a refused single transaction exited $rc, expected 2"; }
	[ $fault = switch ] || grep -q "set web_pd: the set is full" "$TMP/hash.out" ||
		{ cat "$TMP/hash.out"; fail "$fault: the error does not say why the kernel refused"; }
	same_table "a refused single transaction ($fault)"
	gw nft list sets table inet tlsfw | grep -q 'web_' && fail "$fault: a set of the refused policy was left behind"
done
nftfw apply "$TMP/hash.conf" >"$TMP/hash.out" 2>&1 || { cat "$TMP/hash.out"; fail "apply of the hash-set policy"; }
grep -q "; one transaction" "$TMP/hash.out" || { cat "$TMP/hash.out"; fail "a policy with only hash sets was not one transaction"; }
nftfw apply "$good" >"$TMP/apply.out" 2>&1 || { cat "$TMP/apply.out"; fail "apply the good policy again"; }
# made again over a table: the chains it remakes are listed in a new order
list_table >"$TMP/before.nft" || fail "no table after the good policy's second apply"
ok "refused in a single transaction (hash set): exit 2, the table as it was; applied: one transaction"

# a stopping signal during apply: exit 2, nothing changed
apply_signalled "$bad" "$TMP/sig.out"
same_table "an apply interrupted by a signal"
ok "a signal during apply: exit 2, the table as it was"

# dry runs: the kernel checks the whole batch and commits nothing
nftfw apply "$bad" --dry-run >"$TMP/dry.out" 2>&1 || { cat "$TMP/dry.out"; fail "dry run of a good batch failed"; }
same_table "a dry run"
TLSFW_NFT_FAULT=set-size:web nftfw apply "$bad" --dry-run >"$TMP/dry2.out" 2>&1
rc=$?
[ $rc = 2 ] || { cat "$TMP/dry2.out"; fail "a dry run the kernel refuses exited $rc, expected 2"; }
grep -q "bad.conf:10:" "$TMP/dry2.out" || fail "the refused dry run does not name bad.conf:10"
same_table "a refused dry run"
ok "dry runs changed nothing; the kernel's refusal shows in a dry run too"

# an interface that does not exist: exit 2, its line named, nothing changed
sed 's/name: lan0/name: nosuch0/' "$bad" >"$TMP/noif.conf"
nftfw apply "$TMP/noif.conf" >"$TMP/noif.out" 2>&1
rc=$?
[ $rc = 2 ] || { cat "$TMP/noif.out"; fail "a missing interface exited $rc, expected 2"; }
grep -q "noif.conf:4:.*nosuch0" "$TMP/noif.out" || { cat "$TMP/noif.out"; fail "the missing interface's line is not named"; }
same_table "a policy naming a missing interface"
ok "a missing interface exited 2 naming noif.conf:4"

# and the old policy is still enforced
N=5
send_udp "$CLI" "$S4" 443,8080 $N
send_udp "$CLI" "$S6" 443,8080 $N
sleep 0.5
sink_stop s
for fam in 4 6; do
	got=$(sink_count s $fam 443)
	[ "$got" = 0 ] || fail "IPv$fam UDP 443: $got datagrams passed; the old policy is not enforced"
	got=$(sink_count s $fam 8080)
	[ "$got" = $N ] || fail "IPv$fam UDP 8080: $got of $N arrived"
done
got=$(nft_counter block-quic/lan0/in)
[ "$got" = $((2 * N)) ] || fail "block-quic counted $got, sent $((2 * N))"
ok "the previous policy still blocks QUIC and counted exactly $((2 * N))"

# one backend at a time: with tlsfw's BPF programs attached, an nft apply is refused
nftfw detach >/dev/null || fail "detach (nft)"
tlsfw apply "$ROOT/policies/block-quic-port.conf" >"$TMP/bpf.out" 2>&1 || { cat "$TMP/bpf.out"; fail "apply (bpf)"; }
nftfw apply "$good" >"$TMP/both.out" 2>&1
rc=$?
[ $rc = 2 ] || { cat "$TMP/both.out"; fail "nft apply over BPF programs exited $rc, expected 2"; }
grep -q 'tlsfw detach' "$TMP/both.out" || fail "the refusal does not say to run tlsfw detach"
gw nft list table inet tlsfw >/dev/null 2>&1 && fail "table inet tlsfw was created next to the BPF programs"
tlsfw detach >/dev/null || fail "detach (bpf)"
nftfw apply "$good" >/dev/null 2>&1 || fail "nft apply after detach"
ok "an nft apply over BPF programs was refused (exit 2); after detach it applies"

# and the reverse: with table inet tlsfw in place, a BPF apply (also a dry run) is refused
for dry in "" --dry-run; do
	tlsfw apply "$ROOT/policies/block-quic-port.conf" $dry >"$TMP/rev.out" 2>&1
	rc=$?
	[ $rc = 2 ] || { cat "$TMP/rev.out"; fail "BPF apply $dry over table inet tlsfw exited $rc, expected 2"; }
	grep -q 'tlsfw detach' "$TMP/rev.out" || fail "the refusal does not say to run tlsfw detach"
done
gw ip -d link show lan0 | grep -q 'prog/xdp' && fail "XDP was attached next to table inet tlsfw"
gw nft list table inet tlsfw >/dev/null 2>&1 || fail "the refused BPF apply removed table inet tlsfw"
nftfw detach >/dev/null || fail "detach (nft)"
tlsfw apply "$ROOT/policies/block-quic-port.conf" >/dev/null 2>&1 || fail "BPF apply after detach"
tlsfw detach >/dev/null || fail "detach (bpf)"
ok "a BPF apply over table inet tlsfw was refused (exit 2); after detach it applies"
