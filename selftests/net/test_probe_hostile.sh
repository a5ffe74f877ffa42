#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tlsfw probe against scripted servers (selftests/probe/hostile.py): endless replies, binary,
# over-long lines, early close, slow drip, silence and "421 try later" all end within the
# timeout with a clear error; plaintext on implicit-TLS ports is named; a server that answers
# commands pipelined after STARTTLS inside TLS is caught; bad usage exits 1.
source "$(dirname "$0")/../probe/lib.sh"

probe_up
mkca
mkcert mail.test "DNS:mail.test,IP:$S4" 30
H="$ROOT/selftests/probe/hostile.py"
declare -A port=([endless]=2601 [binary]=2602 [longline]=2603 [close]=2604 [drip]=2605
	[silent]=2606 [busy]=2607 [inject]=2608 [smtp-banner]=465 [http]=443)
declare -A want=([endless]='more than 512 lines' [binary]='malformed or binary'
	[longline]='line over 64 KiB' [close]='closed the connection' [drip]='timed out after 1000 ms'
	[silent]='timed out after 1000 ms')
for m in "${!port[@]}"; do
	if [ "$m" = inject ]; then
		bg "$TMP/$m.log" srv $PY "$H" "$m" $S4 "${port[$m]}" "$TMP/ca/mail.test.pem" "$TMP/ca/mail.test.key"
	else
		bg "$TMP/$m.log" srv $PY "$H" "$m" $S4 "${port[$m]}"
	fi
done
for m in "${!port[@]}"; do
	wait_port "${port[$m]}"
done

ms() { echo $(($(date +%s%N) / 1000000)); }

for m in "${!want[@]}"; do
	t0=$(ms)
	probe --timeout 1000 --starttls smtp "$S4:${port[$m]}"
	el=$(($(ms) - t0))
	[ "$RC" = 3 ] || fail "$m: exit $RC, expected 3 (reachable, not compliant)"
	[ "$(check_status greeting)" = fail ] || fail "$m: greeting check $(check_status greeting)"
	printf '%s' "$OUT" | grep -q "${want[$m]}" || fail "$m: no '${want[$m]}' in the report"
	# one step of 1 s, plus start-up of the sanitized binary
	[ $el -lt 4000 ] || fail "$m: took $el ms with --timeout 1000"
	ok "$m: ends in $el ms with '${want[$m]}'"
done

# silence where a TLS handshake is due: the handshake step times out too
t0=$(ms)
probe --timeout 1000 --starttls none "$S4:${port[silent]}"
el=$(($(ms) - t0))
[ "$(check_status handshake)" = fail ] || fail "silent TLS: handshake $(check_status handshake)"
printf '%s' "$OUT" | grep -q 'timed out after 1000 ms during the TLS handshake' ||
	fail "silent TLS: no timeout named"
[ $el -lt 4000 ] || fail "silent TLS took $el ms"
ok "silent implicit-TLS server: handshake times out in $el ms"

t0=$(ms)
probe --timeout 1000 "$S4:${port[busy]}" --starttls smtp
el=$(($(ms) - t0))
[ "$RC" = 2 ] || fail "busy: exit $RC, expected 2 (try later)"
printf '%s' "$OUT" | grep -q 'try later: 421' || fail "busy: error"
[ $el -ge 500 ] || fail "busy: no pause before the retry ($el ms)"
ok "421 retried once after a pause, then reported as try later"

probe "$S4:465"
expect_fail_only "plaintext SMTP on implicit-TLS 465" handshake
printf '%s' "$OUT" | grep -q 'promises implicit TLS but the server speaks plaintext (SMTP' ||
	fail "465: plaintext SMTP not named"
probe "$S4:443"
expect_fail_only "plaintext HTTP on 443" handshake
printf '%s' "$OUT" | grep -q 'speaks plaintext (HTTP' || fail "443: HTTP not named"

probe --starttls smtp "$S4:${port[inject]}"
expect_fail_only "STARTTLS command injection" starttls-injection
printf '%s' "$OUT" | grep -q 'CVE-2011-0411' || fail "injection: CVE not named"

# every hostile server at once: bounded by the per-target deadline, not their sum. Two of
# them (silent, drip) take a full 1 s step each. Run one after the other, the six would take
# at least as long as those two alone one at a time (measured here, so that a loaded machine
# slows both sides alike); run at once they take about one step less.
t0=$(ms)
probe --timeout 1000 --concurrency 16 --starttls smtp $(for m in "${!want[@]}"; do echo "$S4:${port[$m]}"; done)
el=$(($(ms) - t0))
[ "$RC" = 3 ] || fail "all at once: exit $RC"
t0=$(ms)
probe --timeout 1000 --concurrency 1 --starttls smtp "$S4:${port[silent]}" "$S4:${port[drip]}"
seq=$(($(ms) - t0))
[ $seq -ge 2000 ] || fail "--concurrency 1 ran two 1 s probes in $seq ms"
ok "--concurrency 1 probes one at a time ($seq ms)"
[ $((el + 500)) -lt $seq ] || fail "all ${#want[@]} at once took $el ms, two one at a time $seq ms: not concurrent"
ok "${#want[@]} hostile servers at once in $el ms (two one at a time: $seq ms)"

# nothing listening: unreachable, exit 2
probe "$S4:2699" --starttls smtp
[ "$RC" = 2 ] || fail "unreachable: exit $RC"
[ "$(field reachable)" = false ] || fail "unreachable: reachable=$(field reachable)"
ok "unreachable target exits 2"

# bad usage exits 1, with a message
for args in "nohost" "$S4:99999" "$S4:25 --starttls smtpx" "$S4:2600" "[::1:25" \
	"$S4:25 --timeout 0" "$S4:25 --min-tls 1.4" "--bogus $S4:25" ""; do
	# shellcheck disable=SC2086
	cli "$TLSFW" probe $args >/dev/null 2>"$TMP/usage.err"
	rc=$?
	[ $rc = 1 ] || fail "usage '$args': exit $rc, expected 1"
	grep -q '^tlsfw: ' "$TMP/usage.err" || fail "usage '$args': no message"
done
ok "bad usage exits 1"
exit 0
