#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# apply --confirm SECONDS and tlsfw confirm, on both backends, shown by traffic through the
# gateway (TCP to a closed port of the server: ECONNREFUSED when the gateway passes the SYN,
# timeout when a policy drops it) and by `status --json`:
# - the first apply ever with --confirm 6 detaches at the deadline; confirm then has nothing
#   to confirm (exit 1). 6 s, not 3: the drop is checked inside the window, and a cold
#   apply, two status calls and a 1 s probe took over 3 s under load (a SYN retransmitted
#   after the rollback then met the closed port);
# - over policy A, --confirm 8 B: B in force, status names the deadline and A, a second apply
#   without --confirm is refused (exit 1, nothing changed); after the deadline A is back;
# - --confirm 3 B, then `tlsfw confirm`: B stays past the deadline;
# - a second --confirm (3 s) during the window of a first (30 s) keeps A as the target, the
#   first watchdog exits, A is back at the second deadline;
# - SIGKILL of the apply process as soon as its record appears, and SIGKILL of the whole
#   session (setsid, the process group) after it returned: A is back at the deadline;
# - an edited file of the policy in force refuses --confirm (exit 1, nothing changed), and so
#   does one detached by hand from one of its interfaces (the rollback would attach it again);
# - detach during the window ends the confirmation (nothing comes back).
# Every watchdog started is killed by PID in the EXIT trap (lib.sh's _pids).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nft_lib.sh"

topo_up
NSINO=$(gw stat -L -c %i /proc/self/ns/net) || fail "the gateway namespace's inode"
RECORD=/run/tlsfw/netns-$NSINO.confirm

# mkpol NAME BACKEND PORT: a policy dropping TCP to PORT, allowing the rest
mkpol() {
	policy "$1" <<EOF2
version: 1
backend: $2
interfaces:
  - name: lan0
default: allow
rules:
  - name: no-$3
    proto: tcp
    dport: $3
    action: drop
EOF2
}

# passes PORT | dropped PORT: what the gateway does to a SYN from the client to the server
passes() {
	local r
	r=$(tcp_probe "$CLI" "$S4" "$1" 1)
	[ "$r" = ECONNREFUSED ] || fail "$B: TCP $1 through the gateway: $r, expected it to pass (ECONNREFUSED)"
}
dropped() {
	local r
	r=$(tcp_probe "$CLI" "$S4" "$1" 1)
	[ "$r" = timeout ] || fail "$B: TCP $1 through the gateway: $r, expected a drop (timeout)"
}

# status_is EXPR VALUE: a field of `status --json`
status_is() {
	tlsfw status --json >"$TMP/status.json" || fail "$B: status"
	local v
	v=$(jget "$TMP/status.json" "$1")
	[ "$v" = "$2" ] || { cat "$TMP/status.json"; fail "$B: status: $1 is '$v', expected '$2'"; }
}

# remember the watchdog of the pending confirmation, for the EXIT trap
track() {
	local pid
	pid=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["watchdog_pid"])' "$RECORD") ||
		fail "$B: no confirmation record $RECORD"
	_pids+=("$pid")
	echo "$pid"
}

# past_deadline: wait until the record is gone (the watchdog rolled back), at most 15 s
past_deadline() {
	local i
	for i in $(seq 150); do
		[ -e "$RECORD" ] || return 0
		sleep 0.1
	done
	fail "$B: the confirmation record is still there 15 s later"
}

# usage errors: exit 1, nothing changed
B=usage
for args in "--confirm 0" "--confirm 1.5" "--confirm 86401" "--confirm x" "--dry-run --confirm 3"; do
	tlsfw apply $args "$(mkpol usage bpf 8001)" >/dev/null 2>"$TMP/usage.err"
	rc=$?
	[ $rc = 1 ] || { cat "$TMP/usage.err"; fail "apply $args: exit $rc, expected 1"; }
	grep -q "^tlsfw: apply: .*--confirm\|^tlsfw: apply: --dry-run changes nothing" "$TMP/usage.err" || { cat "$TMP/usage.err"; fail "apply $args: no usage error naming --confirm"; }
	[ -e "$RECORD" ] && fail "apply $args left a confirmation record"
done
status_is "d['enforced']" False
ok "apply --confirm: 0, 1.5, 86401, x and with --dry-run are usage errors; nothing changed"

for B in bpf nft; do
	A=$(mkpol "a-$B" $B 8001)
	NEW=$(mkpol "b-$B" $B 8002)

	# first apply ever: the rollback detaches
	tlsfw apply --confirm 6 "$A" >"$TMP/apply.out" 2>&1 || { cat "$TMP/apply.out"; fail "$B: apply --confirm"; }
	grep -q "run \`tlsfw confirm\` by .*detaches" "$TMP/apply.out" || { cat "$TMP/apply.out"; fail "$B: apply does not say what happens at the deadline"; }
	track >/dev/null
	status_is "(d['confirm']['rollback'], d['confirm']['seconds_left'] <= 6)" "('detach', True)"
	dropped 8001
	past_deadline
	passes 8001
	status_is "d['enforced']" False
	status_is "d['confirm']" None
	tlsfw confirm >"$TMP/confirm.out" 2>&1
	rc=$?
	[ $rc = 1 ] || { cat "$TMP/confirm.out"; fail "$B: confirm with nothing pending: exit $rc, expected 1"; }
	grep -q "nothing waits for confirmation" "$TMP/confirm.out" || { cat "$TMP/confirm.out"; fail "$B: confirm does not say nothing is pending"; }
	ok "$B: first apply --confirm 6 detached at the deadline; confirm then exits 1"

	# over A: B without confirmation, refused second apply, rollback to A (a window of 8 s:
	# the checks inside it take some seconds of an ASan build on a busy machine)
	tlsfw apply "$A" >/dev/null 2>>"$TMP/warnings" || fail "$B: apply A"
	tlsfw apply --confirm 8 "$NEW" >/dev/null 2>>"$TMP/warnings" || fail "$B: apply --confirm B"
	track >/dev/null
	status_is "(d['policy']['file'], d['confirm']['rollback_policy'])" "('$NEW', '$A')"
	passes 8001
	dropped 8002
	tlsfw status >"$TMP/status.txt"
	grep -q "^confirm  pending: $NEW waits for \`tlsfw confirm\` until .* s left), then tlsfw rolls back to $A" "$TMP/status.txt" ||
		{ cat "$TMP/status.txt"; fail "$B: status (text) does not show the pending confirmation"; }
	tlsfw apply "$NEW" >/dev/null 2>"$TMP/second.err"
	rc=$?
	[ $rc = 1 ] || { cat "$TMP/second.err"; fail "$B: a second apply during the window: exit $rc, expected 1"; }
	grep -q "waits for \`tlsfw confirm\`.*apply with --confirm again" "$TMP/second.err" || { cat "$TMP/second.err"; fail "$B: the refusal does not say why"; }
	past_deadline
	passes 8002
	dropped 8001
	status_is "d['policy']['file']" "$A"
	status_is "d['confirm']" None
	ok "$B: --confirm 8 B over A: second apply refused, A back in force after the deadline"

	# confirmed: B stays
	tlsfw apply --confirm 3 "$NEW" >/dev/null 2>>"$TMP/warnings" || fail "$B: apply --confirm B"
	wd=$(track)
	tlsfw confirm >"$TMP/confirm.out" || fail "$B: confirm"
	grep -q "confirmed $NEW" "$TMP/confirm.out" || { cat "$TMP/confirm.out"; fail "$B: confirm does not say what it confirmed"; }
	! grep -qs '^State:.*[RSD]' "/proc/$wd/status" || fail "$B: the watchdog $wd still runs after confirm"
	sleep 4
	dropped 8002
	passes 8001
	status_is "d['policy']['file']" "$NEW"
	status_is "d['confirm']" None
	ok "$B: confirmed within the window: B still in force past the deadline"

	# a second --confirm in the window: the target stays A
	tlsfw apply "$A" >/dev/null 2>>"$TMP/warnings" || fail "$B: apply A"
	tlsfw apply --confirm 30 "$NEW" >/dev/null 2>>"$TMP/warnings" || fail "$B: apply --confirm B"
	wd1=$(track)
	tlsfw apply --confirm 3 "$NEW" >/dev/null 2>>"$TMP/warnings" || fail "$B: apply --confirm B again"
	wd2=$(track)
	[ "$wd1" != "$wd2" ] || fail "$B: the second --confirm kept the watchdog"
	! grep -qs '^State:.*[RSD]' "/proc/$wd1/status" || fail "$B: the replaced watchdog $wd1 still runs"
	status_is "(d['confirm']['rollback_policy'], d['confirm']['seconds_left'] <= 3)" "('$A', True)"
	past_deadline
	dropped 8001
	passes 8002
	status_is "d['policy']['file']" "$A"
	ok "$B: a second --confirm in the window kept A as the rollback target"

	# SIGKILL of apply as soon as its record is written (most often half-way through)
	ip netns exec "$GW" "$TLSFW" apply --confirm 3 "$NEW" >/dev/null 2>&1 &
	apid=$!
	for i in $(seq 2000); do
		[ -e "$RECORD" ] && break
		sleep 0.005
	done
	kill -KILL $apid
	wait $apid 2>/dev/null
	track >/dev/null
	past_deadline
	dropped 8001
	passes 8002
	status_is "d['policy']['file']" "$A"
	ok "$B: SIGKILL of the apply process: A back at the deadline"

	# SIGKILL of the whole session it ran in, after it returned
	rm -f "$TMP/session.done"
	setsid bash -c 'ip netns exec "$1" "$2" apply --confirm 3 "$3" >"$4.out" 2>&1; echo $? >"$4"; exec sleep 60' \
		_ "$GW" "$TLSFW" "$NEW" "$TMP/session.done" &
	spid=$!
	_pids+=("$spid")
	wait_file "$TMP/session.done"
	[ "$(cat "$TMP/session.done")" = 0 ] || { cat "$TMP/session.done.out"; fail "$B: apply --confirm in the session failed"; }
	track >/dev/null
	dropped 8002
	kill -KILL -- -"$spid" || fail "$B: cannot kill the session's process group"
	past_deadline
	dropped 8001
	passes 8002
	status_is "d['policy']['file']" "$A"
	ok "$B: SIGKILL of the session's process group: A back at the deadline"

	# the file of the policy in force changed: --confirm cannot restore it
	cp "$A" "$TMP/a.saved"
	echo "# edited" >>"$A"
	tlsfw apply --confirm 3 "$NEW" >/dev/null 2>"$TMP/edited.err"
	rc=$?
	[ $rc = 1 ] || { cat "$TMP/edited.err"; fail "$B: --confirm over an edited policy file: exit $rc, expected 1"; }
	grep -q "cannot restore the policy in force: $A changed since it was applied" "$TMP/edited.err" ||
		{ cat "$TMP/edited.err"; fail "$B: the refusal does not say the file changed"; }
	[ -e "$RECORD" ] && fail "$B: a refused --confirm left a record"
	dropped 8001
	passes 8002
	cp "$TMP/a.saved" "$A"
	ok "$B: --confirm refused when the enforced policy's file changed; nothing changed"

	# an interface of the policy in force detached by hand: a rollback would attach it again
	sed 's/^  - name: lan0$/  - name: lan0\n  - name: wan0\n    hooks: [egress]/' "$A" >"$TMP/a2-$B.conf"
	tlsfw apply "$TMP/a2-$B.conf" >/dev/null 2>>"$TMP/warnings" || fail "$B: apply A on lan0 and wan0"
	tlsfw detach wan0 >/dev/null || fail "$B: detach wan0"
	tlsfw apply --confirm 3 "$NEW" >/dev/null 2>"$TMP/partial.err"
	rc=$?
	[ $rc = 1 ] || { cat "$TMP/partial.err"; fail "$B: --confirm over a policy detached from wan0: exit $rc, expected 1"; }
	grep -q "cannot restore the policy in force: $TMP/a2-$B.conf names wan0, where it is no longer enforced" "$TMP/partial.err" ||
		{ cat "$TMP/partial.err"; fail "$B: the refusal does not name wan0"; }
	[ -e "$RECORD" ] || [ -e "${RECORD%.confirm}.rollback" ] && fail "$B: a refused --confirm left a record or a rollback copy"
	status_is "[i['name'] for i in d['interfaces']]" "['lan0']"
	dropped 8001
	passes 8002
	tlsfw apply "$A" >/dev/null 2>>"$TMP/warnings" || fail "$B: apply A again"
	ok "$B: --confirm refused when an interface of the enforced policy was detached by hand; nothing changed"

	# detach during the window: nothing comes back at the deadline
	tlsfw apply --confirm 3 "$NEW" >/dev/null 2>>"$TMP/warnings" || fail "$B: apply --confirm B"
	track >/dev/null
	tlsfw detach lan0 >/dev/null 2>"$TMP/detach.err"
	rc=$?
	[ $rc = 1 ] || { cat "$TMP/detach.err"; fail "$B: detach of one interface in the window: exit $rc, expected 1"; }
	tlsfw detach >"$TMP/detach.out" || fail "$B: detach"
	grep -q "pending confirmation of $NEW ends" "$TMP/detach.out" || { cat "$TMP/detach.out"; fail "$B: detach does not say it ended the confirmation"; }
	sleep 4
	passes 8001
	passes 8002
	status_is "d['enforced']" False
	ok "$B: detach in the window ended the confirmation; nothing restored"
done
