#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Text that reaches a terminal is escaped (issue 17, item 4): a policy whose path holds ESC,
# BEL, a newline and a Latin-1 byte, and whose rule name holds a terminal title sequence, is
# shown with \x1b, \x07, \n and \xe9 by check (diagnostics and the rule table), apply, status
# and stats on both backends, and a probed server's certificate name with escape sequences is
# escaped in the probe report. No output holds a raw control byte. Machine formats keep the
# exact text: JSON decodes to the original path, the Prometheus exposition passes promtool
# with the newline escaped and the Latin-1 byte as U+FFFD.
. "$(dirname "$0")/lib.sh"

command -v promtool >/dev/null ||
	fail "promtool not found: install the Debian package prometheus (scripts/install-deps.sh)"

# no_ctl FILE WHAT: FILE holds no control byte but newline and tab.
no_ctl() {
	if LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$1"; then
		cat -A "$1" >&2
		fail "$2: raw control characters in the output"
	fi
}

topo_up
dir=$TMP/$'pol\e]0;t\a\n\xe9'
mkdir "$dir" || fail "mkdir"
path=$dir/p.conf
shown='pol\x1b]0;t\x07\n\xe9/p.conf'

cat >"$path" <<'EOF'
version: 1
interfaces:
  - name: lan0
rules:
  - name: "\e]0;pwned\a\e[2J"
    dport: 443
    action: drop
EOF
for cmd in check apply; do
	tlsfw $cmd "$path" >"$TMP/$cmd.out" 2>"$TMP/$cmd.err"
	rc=$?
	[ $rc = 1 ] || fail "$cmd of a bad rule name: exit $rc, want 1"
	no_ctl "$TMP/$cmd.err" "$cmd"
	grep -qF "$shown:5:11: error: invalid rule name '\x1b]0;pwned\x07\x1b[2J'" "$TMP/$cmd.err" ||
		fail "$cmd: diagnostic not escaped: $(cat -A "$TMP/$cmd.err")"
done
ok "check and apply: the path and the rule name in the diagnostic are escaped"

for backend in bpf nft; do
	cat >"$path" <<EOF
version: 1
backend: $backend
interfaces:
  - name: lan0
rules:
  - name: web
    dport: 443
    action: drop
EOF
	tlsfw check "$path" >"$TMP/table" 2>&1 || fail "check $backend"
	no_ctl "$TMP/table" "check's rule table"
	grep -qF "policy $dir" "$TMP/table" && fail "check's rule table: raw path"
	grep -qF "policy $TMP/$shown" "$TMP/table" || fail "check's table: $(cat -A "$TMP/table")"
	tlsfw apply "$path" >"$TMP/apply" 2>&1 || fail "apply $backend: $(cat "$TMP/apply")"
	no_ctl "$TMP/apply" "apply ($backend)"
	grep -qF "enforcing $TMP/$shown" "$TMP/apply" || fail "apply: $(cat -A "$TMP/apply")"
	tlsfw status >"$TMP/status" 2>&1 || fail "status $backend"
	no_ctl "$TMP/status" "status ($backend)"
	grep -qxF "policy   $TMP/$shown" "$TMP/status" || fail "status: $(cat -A "$TMP/status")"
	tlsfw stats >"$TMP/stats" 2>&1 || fail "stats $backend"
	no_ctl "$TMP/stats" "stats ($backend)"
	grep -qF "policy $TMP/$shown (sha256:" "$TMP/stats" || fail "stats: $(cat -A "$TMP/stats")"
	ok "$backend: check's table, apply, status and stats show the path escaped"

	# JSON keeps the exact bytes (json-c escapes the controls, the Latin-1 byte stays raw).
	tlsfw status --json >"$TMP/status.json" || fail "status --json"
	$PY -c 'import json, os, sys
d = json.loads(open(sys.argv[1], "rb").read().decode("utf-8", "surrogateescape"))
sys.exit(d["policy"]["file"] != os.fsdecode(os.fsencode(sys.argv[2])))' \
		"$TMP/status.json" "$path" || fail "status --json does not hold the exact path"
	tlsfw stats --prometheus >"$TMP/m.prom" || fail "stats --prometheus"
	promtool check metrics <"$TMP/m.prom" >"$TMP/lint" 2>&1 || {
		cat "$TMP/lint"
		fail "promtool rejects the exposition of a policy with this path"
	}
	grep -qF "tlsfw_policy_info{file=\"$TMP/pol"$'\e]0;t\a'"\\n"$'\xef\xbf\xbd'"/p.conf\"" \
		"$TMP/m.prom" || fail "Prometheus label: $(grep policy_info "$TMP/m.prom" | cat -A)"
	ok "$backend: JSON holds the exact path; Prometheus escapes the newline, U+FFFD for Latin-1"
	tlsfw detach >/dev/null || fail "detach $backend"
done

# A probed server's certificate whose common name holds terminal sequences (the prober
# refuses such bytes in plaintext replies, but names in a certificate are shown as evidence).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
	-subj "/CN=evil"$'\e]0;pwned\a\e[2J' -keyout "$TMP/evil.key" -out "$TMP/evil.pem" \
	2>/dev/null || fail "openssl req"
bg ip netns exec "$SRV" openssl s_server -quiet -accept 8443 -naccept 100 \
	-cert "$TMP/evil.pem" -key "$TMP/evil.key" </dev/null >/dev/null 2>&1
for i in $(seq 50); do
	srv ss -Hltn "sport = :8443" | grep -q . && break
	sleep 0.1
done
cli "$TLSFW" probe --timeout 2000 "$S4:8443" >"$TMP/probe" 2>&1
rc=$?
[ $rc = 3 ] || fail "probe of the hostile certificate: exit $rc, want 3: $(cat -A "$TMP/probe")"
no_ctl "$TMP/probe" "probe report"
grep -qF 'CN=evil\x1b]0;pwned\x07\x1b[2J' "$TMP/probe" ||
	fail "probe report: the common name is not shown escaped: $(cat -A "$TMP/probe")"
ok "probe report: the certificate's common name is escaped"
