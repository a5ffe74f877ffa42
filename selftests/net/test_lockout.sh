#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The lock-out guard with a real SSH session through the gateway: sshd in the server
# namespace, ssh from the client. `apply` on the gateway runs with SSH_CONNECTION set to that
# session's 4-tuple as the gateway sees it (read with ss in the server namespace). A policy
# that drops the session's segments is refused (exit 1, the rule's line), nothing is applied
# and the session still answers; `check` warns at the same place; a policy that only drops
# ssh from another source is applied; `apply --force` enforces the dropping policy and the
# session's next command gets no answer.
. "$(dirname "$0")/lib.sh"

command -v /usr/sbin/sshd >/dev/null || fail "sshd (openssh-server) is not installed"
command -v ssh >/dev/null || fail "ssh (openssh-client) is not installed"
topo_up

# sshd on the server, keys and configuration of its own
ssh-keygen -q -t ed25519 -N '' -f "$TMP/host" || fail "ssh-keygen host"
ssh-keygen -q -t ed25519 -N '' -f "$TMP/user" || fail "ssh-keygen user"
cp "$TMP/user.pub" "$TMP/authorized_keys"
cat >"$TMP/sshd_config" <<EOF2
Port 22
ListenAddress $S4
HostKey $TMP/host
AuthorizedKeysFile $TMP/authorized_keys
PidFile $TMP/sshd.pid
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
EOF2
mkdir -p /run/sshd
bg ip netns exec "$SRV" /usr/sbin/sshd -D -e -f "$TMP/sshd_config" 2>"$TMP/sshd.log"
for i in $(seq 50); do
	srv ss -Hltn "sport = :22" | grep -q . && break
	sleep 0.1
done
srv ss -Hltn "sport = :22" | grep -q . || { cat "$TMP/sshd.log"; fail "sshd did not listen"; }

# A session that answers every line it reads: "got LINE".
mkfifo "$TMP/in"
exec 7<>"$TMP/in" # read-write: opening it never blocks, and ssh's read end then opens at once
# (not through bg: an asynchronous command without a redirection of its own reads /dev/null)
ip netns exec "$CLI" ssh -i "$TMP/user" -o BatchMode=yes -o StrictHostKeyChecking=no \
	-o UserKnownHostsFile=/dev/null -o ServerAliveInterval=0 -o ConnectTimeout=5 -T \
	"root@$S4" 'while read -r l; do echo "got $l"; done' <"$TMP/in" >"$TMP/out" 2>"$TMP/ssh.err" &
_pids+=("$!")

# answered LINE SECONDS: does the session echo LINE within SECONDS?
answered() {
	echo "$1" >&7
	for i in $(seq $(($2 * 10))); do
		grep -qx "got $1" "$TMP/out" && return 0
		sleep 0.1
	done
	return 1
}
answered hello 10 || { cat "$TMP/ssh.err" "$TMP/sshd.log"; fail "the ssh session does not answer"; }

# The session's 4-tuple as the server sees it; the gateway routes without NAT, so the same.
read -r local peer < <(srv ss -Htn state established "( sport = :22 )" | awk '{ print $3, $4 }')
[ -n "${peer:-}" ] || fail "no established ssh connection on the server"
SESSION="${peer%:*} ${peer##*:} ${local%:*} ${local##*:}"
ok "ssh session up: SSH_CONNECTION='$SESSION'"

cut=$(policy cut <<EOF2
version: 1
interfaces:
  - name: lan0
default: allow
rules:
  - name: web
    service: https
    action: allow
  - name: no-ssh
    proto: tcp
    dport: 22
    action: drop
EOF2
)
elsewhere=$(policy elsewhere <<EOF2
version: 1
interfaces:
  - name: lan0
default: allow
rules:
  - name: no-ssh-from-elsewhere
    proto: tcp
    dport: 22
    src: 192.0.2.0/24
    action: drop
EOF2
)

gwssh() { ip netns exec "$GW" env SSH_CONNECTION="$SESSION" "$TLSFW" "$@"; }

gwssh apply "$cut" >"$TMP/apply.out" 2>"$TMP/apply.err"
rc=$?
[ $rc = 1 ] || { cat "$TMP/apply.err"; fail "apply of a policy cutting the session: exit $rc, expected 1"; }
grep -q "^$cut:9:11: error: rule 'no-ssh' would drop the SSH session this command runs in (tcp ${SESSION%% *}:" "$TMP/apply.err" ||
	{ cat "$TMP/apply.err"; fail "the refusal does not name rule 'no-ssh' at line 9"; }
grep -q -- "--force" "$TMP/apply.err" || fail "the refusal does not say how to override it"
tlsfw status --json >"$TMP/status.json" || fail "status"
[ "$(jget "$TMP/status.json" "d['enforced']")" = False ] || fail "a refused apply enforced something"
answered after-refusal 5 || fail "the session stopped answering after a refused apply"
ok "apply refused at $cut:9, nothing applied, the session answers"

gwssh check "$cut" >/dev/null 2>"$TMP/check.err" || fail "check exits non-zero on a lock-out warning"
grep -q "^$cut:9:11: warning: rule 'no-ssh' would drop the SSH session" "$TMP/check.err" ||
	{ cat "$TMP/check.err"; fail "check does not warn at the rule"; }
ok "check warns at the same place"

gwssh apply "$elsewhere" >/dev/null 2>"$TMP/else.err" || { cat "$TMP/else.err"; fail "a policy that spares the session was refused"; }
answered with-other-policy 5 || fail "the session stopped answering under a policy that spares it"
ok "a policy dropping ssh from other sources applies; the session answers"

gwssh apply --force "$cut" >/dev/null 2>"$TMP/force.err" || { cat "$TMP/force.err"; fail "apply --force was refused"; }
if answered after-force 4; then
	fail "the session still answers after apply --force of a policy that drops it"
fi
tlsfw stats --json --exact >"$TMP/stats.json" || fail "stats"
n=$(stat_rule "$TMP/stats.json" no-ssh lan0 ingress packets)
[ "$n" -ge 1 ] || fail "rule no-ssh counted $n packets of the stalled session"
ok "apply --force enforces it: the session stalls, no-ssh dropped $n segments"
tlsfw detach >/dev/null || fail "detach"
answered after-force 20 || fail "the session did not recover after detach"
ok "after detach the stalled line arrives"

# --force with --confirm: the policy that cuts the session is enforced, nobody can confirm it
# from the stalled session, and at the deadline the policy before it is back: the session
# answers again.
gwssh apply "$elsewhere" >/dev/null 2>"$TMP/else2.err" || { cat "$TMP/else2.err"; fail "apply the sparing policy again"; }
answered before-confirm 10 || fail "the session does not answer before apply --confirm"
gwssh apply --force --confirm 6 "$cut" >/dev/null 2>"$TMP/confirm.err" || { cat "$TMP/confirm.err"; fail "apply --force --confirm was refused"; }
tlsfw status --json >"$TMP/status.json" || fail "status"
_pids+=("$(jget "$TMP/status.json" "d['confirm']['watchdog_pid']")") # killed by PID on exit
[ "$(jget "$TMP/status.json" "d['confirm']['rollback_policy']")" = "$elsewhere" ] || fail "the rollback target is not $elsewhere"
if answered in-window 3; then
	fail "the session answers under apply --force --confirm of a policy that drops it"
fi
answered in-window 25 || fail "the session did not come back after the --confirm deadline"
tlsfw status --json >"$TMP/status.json" || fail "status"
[ "$(jget "$TMP/status.json" "d['policy']['file']")" = "$elsewhere" ] || fail "after the deadline the enforced policy is not $elsewhere"
ok "apply --force --confirm 6: the session stalls, and answers again once $elsewhere is restored"
