#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# DNS for the mail-domain probe tests, sourced after lib.sh (and probe_up): a zone "example."
# signed with a fresh key, served by unbound (auth-zone) in the server namespace, the
# client's resolv.conf pointing at it. A second unbound validates (the test's anchor), as a
# witness for dig +dnssec.
#
#   dns_zone <<EOF ... EOF   records of example. (relative names; SOA and NS are added)
#   dns_child NAME <<EOF     an unsigned zone NAME.example., delegated without DS: insecure
#   dns_tamper OWNER TYPE RDATA   after signing, change the RDATA of OWNER's TYPE records:
#                            their signatures no longer match, the answer is bogus
#   dns_refuse NAME          the server answers REFUSED at and below NAME (a provider's
#                            server that fails some queries)
#   dns_up                   sign, start both servers; $TA is the trust anchor file (DS)
#   dig_status NAME TYPE     secure | insecure | SERVFAIL ... as the validating witness says
#   spki_hash CERT ALG       the SubjectPublicKeyInfo digest (sha256, sha512) in hex; ALG
#                            "full" gives the DER itself in hex
#   cert_hash CERT ALG       the same of the whole certificate
# After probe_up by default; after gateway_up, set DNS_NET=10.10.2 DNS_DEV=veth0 and
# DNS_CLIENTS to the namespaces that resolve through it.
DNS_NET=${DNS_NET:-10.203.0}
DNS_DEV=${DNS_DEV:-ps}
DNS_CLIENTS=${DNS_CLIENTS:-$CNS}
DNS4=$DNS_NET.53
WITNESS4=$DNS_NET.54
DNSD=$TMP/dns
mkdir -p "$DNSD"
_dns_children=()
_dns_tamper=()
_dns_refuse=()

dns_zone() {
	cat >"$DNSD/body"
}

dns_child() {
	_dns_children+=("$1")
	{
		printf '$ORIGIN %s.example.\n$TTL 300\n' "$1"
		printf '@ SOA ns.%s.example. root.example. 1 3600 600 86400 300\n' "$1"
		printf '@ NS ns.%s.example.\nns A %s\n' "$1" "$DNS4"
		cat
	} >"$DNSD/$1.zone"
}

dns_tamper() {
	_dns_tamper+=("$1|$2|$3")
}

dns_refuse() {
	_dns_refuse+=("$1")
}

_unbound_conf() { # NAME ADDR MODULES [SERVER-LINE]
	cat <<-EOC
	server:
	  interface: $2
	  port: 53
	  access-control: 0.0.0.0/0 allow
	  username: ""
	  chroot: ""
	  directory: "$DNSD"
	  pidfile: "$DNSD/$1.pid"
	  use-syslog: no
	  logfile: "$DNSD/$1.log"
	  verbosity: 1
	  do-daemonize: no
	  module-config: "$3"
	  do-not-query-localhost: no
	  ${4:-}
	remote-control:
	  control-enable: no
	EOC
}

dns_up() {
	local k c t a owner type rdata
	{
		printf '$ORIGIN example.\n$TTL 300\n'
		printf '@ SOA ns.example. root.example. 1 3600 600 86400 300\n@ NS ns.example.\n'
		printf 'ns A %s\n' "$DNS4"
		for c in "${_dns_children[@]}"; do
			printf '%s NS ns.%s.example.\nns.%s A %s\n' "$c" "$c" "$c" "$DNS4"
		done
		cat "$DNSD/body"
	} >"$DNSD/example.zone"
	k=$(cd "$DNSD" && ldns-keygen -a ECDSAP256SHA256 -k example.) || fail "ldns-keygen"
	(cd "$DNSD" && ldns-signzone -f example.zone.signed example.zone "$k") ||
		fail "ldns-signzone"
	TA=$DNSD/$k.ds
	for t in "${_dns_tamper[@]}"; do
		IFS='|' read -r owner type rdata <<<"$t"
		awk -v o="$owner." -v t="$type" -v r="$rdata" \
			'$1 == o && $4 == t { $0 = $1 "\t" $2 "\t" $3 "\t" $4 "\t" r } { print }' \
			"$DNSD/example.zone.signed" >"$DNSD/tampered" &&
			mv "$DNSD/tampered" "$DNSD/example.zone.signed"
		grep -q "^$owner\.	.*	$type	$rdata\$" "$DNSD/example.zone.signed" ||
			fail "dns_tamper: no $type record at $owner"
	done
	{
		_unbound_conf auth "$DNS4" iterator \
			"$(for c in "${_dns_refuse[@]}"; do printf 'local-zone: "%s." refuse\n' "$c"; done)"
		printf 'auth-zone:\n  name: "example."\n  zonefile: "%s"\n' "$DNSD/example.zone.signed"
		for c in "${_dns_children[@]}"; do
			printf 'auth-zone:\n  name: "%s.example."\n  zonefile: "%s"\n' "$c" "$DNSD/$c.zone"
		done
	} >"$DNSD/auth.conf"
	{
		_unbound_conf witness "$WITNESS4" "validator iterator" "trust-anchor-file: \"$TA\""
		printf 'forward-zone:\n  name: "."\n  forward-addr: %s\n' "$DNS4"
	} >"$DNSD/witness.conf"
	srv ip addr add $DNS4/32 dev "$DNS_DEV"
	srv ip addr add $WITNESS4/32 dev "$DNS_DEV"
	bg "$DNSD/auth.out" srv unbound -d -c "$DNSD/auth.conf"
	bg "$DNSD/witness.out" srv unbound -d -c "$DNSD/witness.conf"
	_hosts=1 # lib.sh's cleanup removes /etc/netns/$CNS (and $GW)
	for c in $DNS_CLIENTS; do
		mkdir -p "/etc/netns/$c"
		printf 'nameserver %s\n' $DNS4 >"/etc/netns/$c/resolv.conf"
	done
	for a in $DNS4 $WITNESS4; do
		for c in $(seq 50); do
			cli dig +short +time=1 +tries=1 "@$a" ns.example A | grep -q '^[0-9]' && break
			sleep 0.1
		done
		[ "$c" -lt 50 ] || fail "unbound on $a does not answer: $(cat "$DNSD"/*.out)"
	done
}

dig_status() {
	local out
	out=$(cli dig +dnssec +time=2 +tries=1 "@$WITNESS4" "$1" "$2") || { echo "no-answer"; return; }
	case $out in
	*"status: NOERROR"*"flags: qr rd ra ad;"*) echo secure ;;
	*"status: NOERROR"*) echo insecure ;;
	*"status: "*) sed -n 's/.*status: \([A-Z]*\),.*/\1/p' <<<"$out" | head -n1 ;;
	*) echo no-answer ;;
	esac
}

spki_hash() {
	if [ "$2" = full ]; then
		openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER |
			od -An -v -tx1 | tr -d ' \n'
	else
		openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER |
			openssl dgst "-$2" -r | cut -d' ' -f1
	fi
}

cert_hash() {
	if [ "$2" = full ]; then
		openssl x509 -in "$1" -outform DER | od -An -v -tx1 | tr -d ' \n'
	else
		openssl x509 -in "$1" -outform DER | openssl dgst "-$2" -r | cut -d' ' -f1
	fi
}
