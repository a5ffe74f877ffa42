#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# sni: and sni_match: on a real gateway (issue 13). openssl s_server answers on 443 and 8443;
# curl and openssl s_client send server names through the gateway (XDP on lan0's ingress).
# Blocked names are reset (no HTTP answer), allowed names load, over IPv4 and IPv6, exact and
# wildcard, in upper case; a ClientHello without server_name (-noservername) matches
# `sni: none` and `sni_match: not`, never an `in` list. Each name rule counts exactly the
# flows it matched. A name rule with state: (established) matches the ClientHello; its SYN (new)
# is inspected all the same, or the flow would have no parse state.
. "$(dirname "$0")/lib.sh"

topo_up
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
	-subj /CN=server.test -keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>/dev/null || fail "openssl req"
for p in 443 8443 9443; do
	bg ip netns exec "$SRV" openssl s_server -quiet -www -accept $p -naccept 1000 \
		-cert "$TMP/cert.pem" -key "$TMP/key.pem" </dev/null >/dev/null 2>&1
done
for p in 443 8443 9443; do
	for i in $(seq 50); do
		srv ss -Hltn "sport = :$p" | grep -q . && break
		sleep 0.1
	done
	srv ss -Hltn "sport = :$p" | grep -q . || fail "no listener on $p"
done

printf '# admin names\nadmin.example.com\n  ADMIN2.example.com   # upper case\n' >"$TMP/admin.txt"
P=$(policy sni <<EOF2
version: 1
interfaces:
  - name: lan0
rules:
  - name: no-doh
    proto: tcp
    dport: 443
    sni: [dns.google, "*.cloudflare-dns.com"]
    action: reject
  - name: admin-only
    proto: tcp
    dport: 8443
    sni: "@$TMP/admin.txt"
    sni_match: not
    action: reject
  - name: need-sni
    proto: tcp
    dport: 9443
    sni: none
    action: reject
  - name: tls
    proto: tcp
    dport: [443, 8443, 9443]
    action: allow
EOF2
)
tlsfw apply "$P" >"$TMP/apply.out" 2>&1 || { cat "$TMP/apply.out"; fail "apply"; }

# get NAME ADDR PORT: 0 when curl loads https://NAME:PORT/ from ADDR
get() {
	local a=$2
	[[ $a == *:* ]] && a="[$a]"
	cli curl -sk --max-time 5 -o /dev/null --resolve "$1:$3:$a" "https://$1:$3/"
}
# hello ADDR PORT [s_client options]: 0 when the handshake completes
hello() {
	local h=$1 p=$2
	shift 2
	[[ $h == *:* ]] && h="[$h]"
	echo Q | timeout 5 ip netns exec "$CLI" openssl s_client -connect "$h:$p" "$@" \
		2>/dev/null | grep -q '^-----BEGIN CERTIFICATE'
}

for a in "$S4" "$S6"; do
	get www.example.com "$a" 443 || fail "allowed name www.example.com to $a was refused"
	for n in dns.google DNS.Google a.cloudflare-dns.com x.y.CLOUDFLARE-dns.com; do
		get "$n" "$a" 443 && fail "blocked name $n to $a loaded"
	done
	get cloudflare-dns.com "$a" 443 || fail "cloudflare-dns.com (not covered by *.) to $a refused"
	hello "$a" 443 -servername dns.google && fail "s_client -servername dns.google to $a completed"
	hello "$a" 443 -servername ok.test || fail "s_client -servername ok.test to $a failed"
	hello "$a" 443 -noservername || fail "s_client without SNI to $a (in-list rule) failed"
done
ok "sni: exact, wildcard and upper-case names are reset, others load (IPv4, IPv6)"

for a in "$S4" "$S6"; do
	get admin.example.com "$a" 8443 || fail "admin.example.com to $a 8443 refused"
	get Admin2.Example.COM "$a" 8443 || fail "admin2 (upper case, from the file) refused"
	get other.example.com "$a" 8443 && fail "other.example.com to $a 8443 loaded (sni_match: not)"
	hello "$a" 8443 -noservername && fail "no SNI to $a 8443 completed (sni_match: not)"
	hello "$a" 9443 -noservername && fail "no SNI to $a 9443 completed (sni: none)"
	hello "$a" 9443 -servername x.test || fail "SNI x.test to $a 9443 failed (sni: none)"
done
ok "sni_match: not and sni: none: flows without server_name are matched, named ones as listed"

stats_json "$TMP/s.json"
m() { jget "$TMP/s.json" "[r['flows_matched'] for r in d['flows']['rules'] if r['name']=='$1'][0]"; }
# per family: 4 curl + 1 s_client blocked on 443; 1 curl + 1 s_client on 8443; 1 on 9443
[ "$(m no-doh)" = 10 ] || fail "no-doh matched $(m no-doh) flows, expected 10"
[ "$(m admin-only)" = 4 ] || fail "admin-only matched $(m admin-only) flows, expected 4"
[ "$(m need-sni)" = 2 ] || fail "need-sni matched $(m need-sni) flows, expected 2"
ok "flows matched: no-doh 10, admin-only 4, need-sni 2"
tlsfw stats --prometheus 2>/dev/null | grep -q '^tlsfw_rule_flows_matched_total{rule="no-doh"} 10$' ||
	fail "prometheus: no tlsfw_rule_flows_matched_total for no-doh of 10"
tlsfw stats | grep -q 'no-doh .* 10$' || fail "tlsfw stats: no-doh does not show 10 flows matched"
ok "tlsfw stats text and Prometheus show the flows matched"

# tlsfw explain --sni/--ech: from the enforced maps and from the policy file, the same rule
# and verdict as the flows above met (what the name table of the generation says).
# xp NAME PORT [--ech]: "RULE VERDICT" of both explains, one line each.
xp() {
	local n=$1 p=$2 f
	shift 2
	for f in "" "$P"; do
		tlsfw explain --json $f tcp "$C4:40000" "$S4:$p" --iface lan0 --dir ingress \
			--sni "$n" "$@" >"$TMP/x.json" 2>"$TMP/x.err" || { cat "$TMP/x.err"; fail "explain --sni $n $*"; }
		jget "$TMP/x.json" "(d['explanations'][0]['rule'] or {}).get('name','(default)')+' '+d['explanations'][0]['verdict']"
	done | sort -u
}
for c in "dns.google 443 no-doh reject" "X.Y.Cloudflare-DNS.com 443 no-doh reject" \
	"cloudflare-dns.com 443 tls allow" "www.example.com 443 tls allow" "none 443 tls allow" \
	"admin2.example.com 8443 tls allow" "other.example.com 8443 admin-only reject" \
	"none 8443 admin-only reject" "none 9443 need-sni reject" "x.test 9443 tls allow"; do
	set -- $c
	got=$(xp "$1" "$2")
	[ "$got" = "$3 $4" ] || fail "explain --sni $1 to $2: '$got', expected '$3 $4' from the maps and the file"
done
tlsfw explain tcp "$C4:40000" "$S4:443" --iface lan0 --dir ingress >"$TMP/x.txt" || fail "explain without --sni"
grep -q "rule 'no-doh' .*needs --sni" "$TMP/x.txt" || { cat "$TMP/x.txt"; fail "explain without --sni does not say no-doh needs --sni"; }
tlsfw explain "$P" tcp "$C4:40000" "$S4:443" --iface lan0 --dir ingress --sni cloudflare-dns.com >"$TMP/x.txt"
grep -q "rule 'no-doh' .*: sni does not match" "$TMP/x.txt" || { cat "$TMP/x.txt"; fail "explain does not say sni does not match"; }
tlsfw explain udp "$C4:40000" "$S4:443" --sni dns.google >/dev/null 2>&1
[ $? = 1 ] || fail "explain --sni with udp is not a usage error"
tlsfw explain tcp "$C4:40000" "$S4:443" --sni '*.google' >/dev/null 2>&1
[ $? = 1 ] || fail "explain --sni with a wildcard is not a usage error"
ok "explain --sni: the maps and the file name the rule the flows met; reasons sni / needs --sni"

# service: doh: the catalog's resolver names on port 443
tlsfw services | grep -q '^doh ' || fail "tlsfw services does not list doh"
tlsfw services | grep -q 'dns.quad9.net' || fail "tlsfw services does not show doh's names"
P=$(policy doh <<EOF2
version: 1
interfaces:
  - name: lan0
rules:
  - name: doh-names
    service: doh
    action: reject
  - name: no-ech
    service: https
    ech: present
    action: drop
  - name: web
    service: https
    action: allow
EOF2
)
tlsfw apply "$P" >"$TMP/apply.out" 2>&1 || { cat "$TMP/apply.out"; fail "apply service: doh"; }
for a in "$S4" "$S6"; do
	for n in dns.quad9.net mozilla.cloudflare-dns.com DOH.MULLVAD.NET; do
		get "$n" "$a" 443 && fail "service: doh let $n to $a load"
	done
	get www.example.com "$a" 443 || fail "service: doh refused www.example.com to $a"
done
stats_json "$TMP/s2.json"
n=$(jget "$TMP/s2.json" "[r['flows_matched'] for r in d['flows']['rules'] if r['name']=='doh-names'][0]")
[ "$n" = 6 ] || fail "service: doh rule matched $n flows, expected 6"
ok "service: doh resets the resolvers' names (IPv4, IPv6), other names load; 6 flows matched"
n=$(jget "$TMP/s2.json" "[r['flows_matched'] for r in d['flows']['rules'] if r['name']=='no-ech'][0]")
[ "$n" = 0 ] || fail "ech: present matched $n flows of clients without ECH (curl), expected 0"
for c in "dns.quad9.net doh-names reject" "www.example.com web allow" \
	"www.example.com no-ech drop --ech" "DNS.QUAD9.NET doh-names reject --ech"; do
	set -- $c
	got=$(xp "$1" 443 ${4-})
	[ "$got" = "$2 $3" ] || fail "explain --sni $1 ${4-}: '$got', expected '$2 $3' from the maps and the file"
done
ok "ech: present matches no curl flow; explain --sni/--ech names doh-names and no-ech"

# sni: with state: (issue 17): both must hold. The ClientHello follows the handshake, so
# conntrack calls it established: a name rule for `new` never matches it, one for
# `established` does. The SYN is NEW, and is inspected all the same (the flow's parse state
# starts there: decide_rule asks content before state for a rule with both).
P=$(policy sni-state <<EOF2
version: 1
interfaces:
  - name: lan0
rules:
  - name: names-new
    proto: tcp
    dport: 443
    sni: [dns.google]
    state: new
    action: reject
  - name: names-est
    proto: tcp
    dport: 8443
    sni: [dns.google]
    state: established
    action: reject
  - name: tls
    proto: tcp
    dport: [443, 8443]
    action: allow
EOF2
)
tlsfw apply "$P" >"$TMP/apply.out" 2>&1 || { cat "$TMP/apply.out"; fail "apply sni with state"; }
for a in "$S4" "$S6"; do
	get dns.google "$a" 443 || fail "sni + state: new reset dns.google to $a 443 (its ClientHello is established)"
	get dns.google "$a" 8443 && fail "sni + state: established let dns.google to $a 8443 load"
	get ok.test "$a" 8443 || fail "sni + state: established refused ok.test to $a 8443"
done
stats_json "$TMP/s3.json"
n=$(jget "$TMP/s3.json" "[r['flows_matched'] for r in d['flows']['rules'] if r['name']=='names-est'][0]")
[ "$n" = 2 ] || fail "names-est matched $n flows, expected 2"
n=$(jget "$TMP/s3.json" "[r['flows_matched'] for r in d['flows']['rules'] if r['name']=='names-new'][0]")
[ "$n" = 0 ] || fail "names-new matched $n flows, expected 0"
ok "sni with state: the ClientHello is established: names-est resets 2 flows, names-new none"
