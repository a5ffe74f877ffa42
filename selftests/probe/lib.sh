#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Shared by selftests/net/test_probe_*.sh: a client and a server namespace joined by a veth
# pair, a test CA, and helpers to start Postfix, Dovecot, slapd and scripted servers in the
# server namespace. Everything is removed by the EXIT trap, also when a test fails half-way.
#
#   probe_up            namespaces $CNS (client, 10.203.0.2) and $SNS (server, $S4, $S6);
#                       the client resolves mail.test to $S4, multi.test to 10.203.0.3
#                       (nothing there unless a test adds it) and $S4
#   gateway_up          instead of probe_up: $CNS -- $GW -- $SNS (scripts/topology.sh), the
#                       server at $S4 10.10.2.2 and $S6 fd00:2::2; gw CMD... runs in $GW
#   tcp NS ADDR PORT    connected | timeout | ECONNREFUSED ...: one SYN, half a second
#   mkca                $TMP/ca/ca.pem and a key
#   mkcert NAME SAN DAYS  $TMP/ca/NAME.pem and NAME.key signed by the CA (DAYS -1: expired);
#                       ISSUER=INT mkcert ...: signed by intermediate INT, NAME.pem the chain
#   mkint NAME FROM TO  an intermediate CA valid from FROM to TO ("-400 days", "+30 days")
#   bg LOG CMD...       start CMD in the background, its output to LOG; killed at exit
#   probe ARGS...       run tlsfw probe in the client namespace; output in $OUT, exit in $RC
#   expect_check NAME STATUS   the last probe's JSON reports check NAME with STATUS
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

CNS=${NS_PREFIX}c
SNS=${NS_PREFIX}s
S4=10.203.0.1
C4=10.203.0.2
S6=fd00:203::1
chmod 755 "$TMP"
_stops=()

_cleanup() {
	local rc=$? p
	for p in "${_stops[@]}"; do
		eval "$p" >/dev/null 2>&1
	done
	for p in "${_pids[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${_pids[@]}"; do
		wait "$p" 2>/dev/null
	done
	# Whatever still runs in our namespaces (a daemon whose stop failed) goes with them.
	"$ROOT/scripts/topology.sh" reap "$CNS"
	"$ROOT/scripts/topology.sh" reap "$SNS"
	ip netns del "$CNS" 2>/dev/null
	ip netns del "$SNS" 2>/dev/null
	[ -n "${GW:-}" ] && ip netns del "$GW" 2>/dev/null
	[ -n "${_hosts:-}" ] && rm -rf "/etc/netns/$CNS"
	[ -n "${GW:-}" ] && rm -rf "/etc/netns/$GW"
	if [ $rc -ne 0 ] && [ -n "${KEEP_LOGS:-}" ]; then
		echo "logs kept in $TMP"
	else
		rm -rf "$TMP"
	fi
	test_verdict $rc
}
trap _cleanup EXIT
trap 'exit 130' INT TERM

fail() {
	echo "FAIL: $*" >&2
	[ -n "${OUT:-}" ] && printf '%s\n' "--- last probe output:" "$OUT" >&2
	exit 1
}

[ "$(id -u)" = 0 ] || fail "probe tests need root (network namespaces, daemons)"
[ -x "$TLSFW" ] || fail "no tlsfw binary at $TLSFW (make BUILD=... tests)"

probe_up() {
	ip netns add "$CNS" || fail "cannot create namespace $CNS"
	ip netns add "$SNS" || fail "cannot create namespace $SNS"
	ip -n "$CNS" link add pc type veth peer name ps netns "$SNS" || fail "veth"
	ip -n "$CNS" addr add $C4/24 dev pc
	ip -n "$SNS" addr add $S4/24 dev ps
	ip -n "$CNS" addr add fd00:203::2/64 dev pc nodad
	ip -n "$SNS" addr add $S6/64 dev ps nodad
	ip -n "$CNS" link set lo up
	ip -n "$SNS" link set lo up
	ip -n "$CNS" link set pc up
	ip -n "$SNS" link set ps up
	# names for the client: ip netns exec mounts /etc/netns/NS/hosts over /etc/hosts
	_hosts=1
	mkdir -p "/etc/netns/$CNS"
	printf '%s mail.test\n%s mail6.test\n10.203.0.3 multi.test\n%s multi.test\n' \
		$S4 $S6 $S4 >"/etc/netns/$CNS/hosts"
}

# gateway_up: client -- gateway -- server, for tests that apply a policy on the gateway.
gateway_up() {
	GW=${NS_PREFIX}gw
	S4=10.10.2.2
	S6=fd00:2::2
	"$ROOT/scripts/topology.sh" up "$NS_PREFIX" || fail "topology"
	[ "$CNS" = "${NS_PREFIX}c" ] && [ "$SNS" = "${NS_PREFIX}s" ] || fail "namespace names"
}

gw() {
	ip netns exec "$GW" "$@"
}

tcp() {
	ip netns exec "$1" $PY "$ROOT/selftests/net/nettool.py" tcp-probe --to "$2" --port "$3" \
		--timeout 0.5 | $PY -c 'import json,sys; print(json.load(sys.stdin)["result"])'
}

srv() {
	ip netns exec "$SNS" "$@"
}

cli() {
	ip netns exec "$CNS" "$@"
}

mkca() {
	mkdir -p "$TMP/ca"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$TMP/ca/ca.key" -out "$TMP/ca/ca.pem" -days 30 \
		-subj /CN=tlsfw-probe-test-ca >/dev/null 2>&1 || fail "cannot make the test CA"
}

# mkcert NAME SAN DAYS [self]: SAN as "DNS:mail.test,IP:10.203.0.1"; "-": none, the subject's
# CN (NAME) alone (not with self)
mkcert() {
	local n=$1 san=$2 days=$3 d=$TMP/ca
	{
		[ "$san" = - ] || printf 'subjectAltName=%s\n' "$san"
		printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n'
	} >"$d/$n.ext"
	if [ "${4:-}" = self ]; then
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout "$d/$n.key" -out "$d/$n.pem" -days "$days" -subj "/CN=$n" \
			-addext "subjectAltName=$san" >/dev/null 2>&1 || fail "cannot make $n"
	else
		local iss=${ISSUER:-ca}
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout "$d/$n.key" -out "$d/$n.csr" -subj "/CN=$n" >/dev/null 2>&1 &&
			openssl x509 -req -in "$d/$n.csr" -CA "$d/$iss.pem" -CAkey "$d/$iss.key" \
				-CAcreateserial -out "$d/$n.pem" -days "$days" -extfile "$d/$n.ext" \
				>/dev/null 2>&1 || fail "cannot make certificate $n"
		# the server sends its chain: leaf, then the intermediate
		[ "$iss" = ca ] || cat "$d/$iss.pem" >>"$d/$n.pem"
	fi
	chmod 644 "$d/$n.key"
}

# mkint NAME FROM TO: an intermediate CA signed by the test CA, valid from FROM to TO (date(1)
# offsets); `openssl ca` is what sets a validity period in the past.
mkint() {
	local n=$1 d=$TMP/ca
	mkdir -p "$d/db"
	touch "$d/db/index"
	[ -f "$d/db/serial" ] || echo 1000 >"$d/db/serial"
	cat >"$d/ca.cnf" <<-EOC
	[ca]
	default_ca = c
	[c]
	database = $d/db/index
	serial = $d/db/serial
	new_certs_dir = $d/db
	default_md = sha256
	policy = p
	unique_subject = no
	[p]
	commonName = supplied
	[int]
	basicConstraints = critical,CA:TRUE
	keyUsage = critical,keyCertSign,cRLSign
	EOC
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/$n.key" \
		-out "$d/$n.csr" -subj "/CN=$n" >/dev/null 2>&1 &&
		openssl ca -batch -config "$d/ca.cnf" -cert "$d/ca.pem" -keyfile "$d/ca.key" \
			-in "$d/$n.csr" -out "$d/$n.pem" -extensions int -notext \
			-startdate "$(date -u -d "$2" +%Y%m%d%H%M%SZ)" \
			-enddate "$(date -u -d "$3" +%Y%m%d%H%M%SZ)" >/dev/null 2>&1 ||
		fail "cannot make intermediate $n"
}

# bg LOG CMD...: a daemon in the foreground of a background job, never on our stdout.
bg() {
	local log=$1
	shift
	# no shell function in between: $! must be the daemon itself, or kill misses it
	[ "$1" = srv ] && set -- ip netns exec "$SNS" "${@:2}"
	"$@" </dev/null >"$log" 2>&1 &
	BG_PID=$!
	_pids+=($BG_PID)
}

# stop PID: end a background job started by bg and reap it (PID 1 here reaps nothing).
stop() {
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

# wait_port PORT [ADDR]: until something listens in the server namespace (5 s).
wait_port() {
	local port=$1 addr=${2:-$S4} i
	for i in $(seq 50); do
		srv ss -Hltn "sport = :$port" | grep -q . && return 0
		sleep 0.1
	done
	fail "nothing listens on $addr:$port"
}

# probe ARGS...: JSON report in $OUT, exit status in $RC.
probe() {
	OUT=$(cli "$TLSFW" probe --json --ca "$TMP/ca/ca.pem" --name mail.test "$@" 2>"$TMP/probe.err")
	RC=$?
	if grep -q 'ERROR: \(Address\|Leak\|Undefined\)Sanitizer\|runtime error' "$TMP/probe.err"; then
		cat "$TMP/probe.err" >&2
		fail "sanitizer report from tlsfw probe $*"
	fi
}

# check_status NAME [TARGET_INDEX]: the status of check NAME in $OUT
check_status() {
	printf '%s' "$OUT" | $PY -c '
import json, sys
d = json.load(sys.stdin)
t = d["targets"][int(sys.argv[2])]
for c in t["checks"]:
    if c["name"] == sys.argv[1]:
        print(c["status"]); break
else:
    print("missing")' "$1" "${2:-0}"
}

# field KEY [TARGET_INDEX]: a top-level field of a target in $OUT
field() {
	printf '%s' "$OUT" | $PY -c '
import json, sys
t = json.load(sys.stdin)["targets"][int(sys.argv[2])]
v = t.get(sys.argv[1])
print(json.dumps(v) if isinstance(v, (dict, list, bool)) else v)' "$1" "${2:-0}"
}

# expect_fail_only WHAT CHECK...: exactly these checks fail, exit 3
expect_fail_only() {
	local what=$1 got
	shift
	got=$(printf '%s' "$OUT" | $PY -c '
import json, sys
t = json.load(sys.stdin)["targets"][0]
print(" ".join(c["name"] for c in t["checks"] if c["status"] == "fail"))')
	[ "$got" = "$*" ] || fail "$what: failed checks '$got', expected '$*'"
	[ "$RC" = 3 ] || fail "$what: exit $RC, expected 3"
	ok "$what: fails exactly '$*'"
}

# expect_compliant WHAT: every check passes or is n/a, exit 0
expect_compliant() {
	local what=$1 got
	got=$(printf '%s' "$OUT" | $PY -c '
import json, sys
t = json.load(sys.stdin)["targets"][0]
print(" ".join(c["name"] for c in t["checks"] if c["status"] == "fail"))')
	[ -z "$got" ] || fail "$what: failed checks: $got"
	[ "$RC" = 0 ] || fail "$what: exit $RC, expected 0"
	ok "$what: compliant"
}

# sni_map NAME=CERT...: a Postfix SNI table that serves certificate CERT (of mkcert) for the
# server name NAME; postfix_start "$SNI_MAP" uses it
sni_map() {
	local e
	for e in "$@"; do
		echo "${e%%=*} $TMP/ca/${e#*=}.key $TMP/ca/${e#*=}.pem"
	done >"$TMP/sni"
	mkdir -p "$TMP/pmap" && echo "compatibility_level = 3.6" >"$TMP/pmap/main.cf" &&
		postmap -c "$TMP/pmap" -F "hash:$TMP/sni" || fail "postmap -F of the SNI map"
	SNI_MAP="tls_server_sni_maps = hash:$TMP/sni"
}

# postfix_start [main.cf lines...]: Postfix on $S4 ports 25 (STARTTLS may), 587 (STARTTLS
# required) and 465 (implicit TLS), compliant unless extra main.cf lines say otherwise.
# Certificate $TMP/ca/${PF_CERT:-mail.test}.pem.
postfix_start() {
	local d=$TMP/pf cert=$TMP/ca/${PF_CERT:-mail.test}
	mkdir -p "$d/spool" "$d/data"
	chown postfix "$d/data"
	cat >"$d/main.cf" <<-EOC
	compatibility_level = 3.6
	queue_directory = $d/spool
	data_directory = $d/data
	command_directory = /usr/sbin
	daemon_directory = /usr/lib/postfix/sbin
	mail_owner = postfix
	setgid_group = postdrop
	myhostname = mail.test
	mydestination =
	inet_interfaces = $S4
	inet_protocols = ipv4
	maillog_file = $d/maillog
	maillog_file_prefixes = $d
	smtpd_banner = \$myhostname ESMTP tlsfw-test
	smtpd_tls_cert_file = $cert.pem
	smtpd_tls_key_file = $cert.key
	smtpd_tls_security_level = may
	smtpd_tls_protocols = >=TLSv1.2
	smtpd_tls_mandatory_protocols = >=TLSv1.2
	smtpd_tls_exclude_ciphers = aNULL, eNULL, EXPORT, RC4, 3DES, DES, MD5, SEED, IDEA
	smtpd_tls_mandatory_exclude_ciphers = aNULL, eNULL, EXPORT, RC4, 3DES, DES, MD5, SEED, IDEA
	smtpd_tls_loglevel = 1
	EOC
	for l in "$@"; do
		printf '%s\n' "$l" >>"$d/main.cf"
	done
	sed -e '/^smtp *inet/d' -e 's/^\([a-z]* *unix[^ ]* *[-n] *[-n] *\)y/\1n/' \
		/etc/postfix/master.cf >"$d/master.cf"
	cat >>"$d/master.cf" <<-EOC
	25 inet n - n - - smtpd
	587 inet n - n - - smtpd -o smtpd_tls_security_level=encrypt
	465 inet n - n - - smtpd -o smtpd_tls_wrappermode=yes
	EOC
	srv postfix -c "$d" check >"$d/check.log" 2>&1 || { cat "$d/check.log" "$d/maillog" 2>/dev/null; fail "postfix check"; }
	bg "$d/postfix.log" srv postfix -c "$d" start-fg
	PF_PID=$BG_PID
	_stops+=("srv postfix -c '$d' stop")
	wait_port 25
	wait_port 587
	wait_port 465
}

postfix_stop() {
	srv postfix -c "$TMP/pf" stop >/dev/null 2>&1
	wait "$PF_PID" 2>/dev/null
	_stops=() # postfix is the only daemon stopped by a command
	rm -rf "$TMP/pf"
}

# dovecot_start [dovecot.conf lines...]: IMAP 143/993 and POP3 110/995 on $S4 and $S6,
# compliant unless extra lines say otherwise (later settings win).
dovecot_start() {
	local d=$TMP/dc cert=$TMP/ca/${DC_CERT:-mail.test}
	mkdir -p "$d/run" "$d/state" "$d/mail"
	chmod 755 "$d" "$d/run"
	cat >"$d/dovecot.conf" <<-EOC
	protocols = imap pop3
	listen = $S4, $S6
	base_dir = $d/run
	state_dir = $d/state
	log_path = $d/dovecot.log
	info_log_path = $d/dovecot.log
	ssl = yes
	ssl_cert = <$cert.pem
	ssl_key = <$cert.key
	ssl_min_protocol = TLSv1.2
	ssl_cipher_list = HIGH:!aNULL:!eNULL:!EXPORT:!RC4:!3DES:!MD5
	disable_plaintext_auth = yes
	auth_mechanisms = plain login
	mail_location = maildir:$d/mail/%u
	passdb {
	  driver = static
	  args = password=secret
	}
	userdb {
	  driver = static
	  args = uid=nobody gid=nogroup home=$d/mail/%u
	}
	service imap-login {
	  inet_listener imap {
	    port = 143
	  }
	  inet_listener imaps {
	    port = 993
	    ssl = yes
	  }
	}
	# SASL for Postfix (smtpd_sasl_type = dovecot)
	service auth {
	  unix_listener $d/run/auth-postfix {
	    mode = 0666
	  }
	}
	service pop3-login {
	  inet_listener pop3 {
	    port = 110
	  }
	  inet_listener pop3s {
	    port = 995
	    ssl = yes
	  }
	}
	EOC
	for l in "$@"; do
		printf '%s\n' "$l" >>"$d/dovecot.conf"
	done
	bg "$d/stdout.log" srv dovecot -F -c "$d/dovecot.conf"
	DC_PID=$BG_PID
	wait_port 143
	wait_port 993
	wait_port 110
	wait_port 995
}

dovecot_stop() {
	stop "$DC_PID"
	# the login processes go with the master; wait until the ports are free
	local i
	for i in $(seq 50); do
		srv ss -Hltn "sport = :143" | grep -q . || break
		sleep 0.1
	done
	rm -rf "$TMP/dc"
}

# slapd_start [slapd.conf lines...]: LDAP StartTLS on $S4:389 and LDAPS on $S4:636 (GnuTLS).
slapd_start() {
	local d=$TMP/ldap cert=$TMP/ca/${LDAP_CERT:-mail.test}
	mkdir -p "$d/run"
	cat >"$d/slapd.conf" <<-EOC
	include /etc/ldap/schema/core.schema
	pidfile $d/run/slapd.pid
	argsfile $d/run/slapd.args
	TLSCACertificateFile $TMP/ca/ca.pem
	TLSCertificateFile $cert.pem
	TLSCertificateKeyFile $cert.key
	TLSProtocolMin 3.3
	TLSCipherSuite ${LDAP_PRIORITY:-NORMAL:-VERS-TLS1.0:-VERS-TLS1.1:-3DES-CBC:-ARCFOUR-128:-CIPHER-ALL:+AES-256-GCM:+AES-128-GCM:+CHACHA20-POLY1305}
	EOC
	for l in "$@"; do
		printf '%s\n' "$l" >>"$d/slapd.conf"
	done
	bg "$d/slapd.log" srv slapd -d 0 -f "$d/slapd.conf" -h "ldap://$S4:389/ ldaps://$S4:636/"
	LDAP_PID=$BG_PID
	wait_port 389
	wait_port 636
}
