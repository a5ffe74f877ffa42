#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make demo` (scripts/demo.sh), the first command of README.md, does what it says: before the
# policy a non-QUIC datagram to UDP 443 is answered and a real QUIC client's (gtlsclient)
# Initials to UDP 8443 reach the server; after it UDP 443 is refused at once, none of the
# QUIC client's datagrams to 8443 reaches the server while a non-QUIC one there still passes,
# the block-quic rule counted exactly the datagrams the client sent, a TLS handshake over TCP
# 443 completes, and after detach UDP 443 is answered again. It leaves no namespace behind.
. "$(dirname "$0")/lib.sh"

before=$(ip netns list | grep -c '^tlsfw-demo-' || true)
TLSFW=$TLSFW timeout 180 "$ROOT/scripts/demo.sh" >"$TMP/demo.out" 2>&1 || {
	cat "$TMP/demo.out"
	fail "scripts/demo.sh exited $?"
}
after=$(ip netns list | grep -c '^tlsfw-demo-' || true)
[ "$after" = "$before" ] || fail "the demo left namespaces behind: $(ip netns list | grep '^tlsfw-demo-')"

# the lines of one step: from its heading to the next
step() { sed -n "/==> $1/,/==> /p" "$TMP/demo.out"; }
quic() { # STEP: "SENT RECEIVED" of the QUIC client's line
	step "$1" | sed -n 's/.*it sent \([0-9]*\) datagrams.*the server received \([0-9]*\)$/\1 \2/p'
}
show() {
	cat "$TMP/demo.out"
	fail "$@"
}

step "Without a policy" | grep -q 'answered: UDP 443' || show "before the policy: UDP 443 not answered"
read -r sent got <<<"$(quic "Without a policy")"
[ -n "$sent" ] && [ "$sent" -gt 0 ] || show "before the policy: the QUIC client sent nothing"
[ "$got" = "$sent" ] || show "before the policy: the server received $got of the QUIC client's $sent datagrams"
step "Without a policy" | grep -q 'not QUIC to UDP 8443: answered' ||
	show "before the policy: the non-QUIC datagram to 8443 was not answered"
ok "before the policy: UDP 443 answered, all $sent QUIC datagrams to 8443 arrive"

step "Now UDP 443" | grep -q 'refused at once (EHOSTUNREACH)' || show "after the policy: UDP 443 not refused"
read -r sent2 got2 <<<"$(quic "Now UDP 443")"
[ -n "$sent2" ] && [ "$sent2" -gt 0 ] || show "after the policy: the QUIC client sent nothing"
[ "$got2" = 0 ] || show "after the policy: $got2 of the QUIC client's datagrams to 8443 reached the server"
step "Now UDP 443" | grep -q 'not QUIC to UDP 8443: answered' ||
	show "after the policy: the non-QUIC datagram to 8443 was not answered"
counted=$(step "Counters" | awk '$1 == "block-quic" { print $4 }')
[ "$counted" = "$sent2" ] || show "block-quic counted '$counted' packets, the QUIC client sent $sent2"
ok "after the policy: UDP 443 refused, 0 of $sent2 QUIC datagrams to 8443 arrive (block-quic counted $counted), non-QUIC to 8443 passes"

step "A TLS handshake" | grep -q 'CONNECTION ESTABLISHED' || show "no TLS handshake over TCP 443 under the policy"
step "Detach" | grep -q 'answered: UDP 443' || show "after detach: UDP 443 not answered"
ok "TLS over TCP 443 completes under the policy; after detach UDP 443 is answered again"
