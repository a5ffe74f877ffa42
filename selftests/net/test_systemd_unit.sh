#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# scripts/tlsfw.service (issue 17, item 6): `systemd-analyze verify` accepts it (with the
# binary under test in ExecStart) together with this system's network configuration units
# and boot targets, which means no ordering cycle among them; a probe unit that orders
# itself after network-pre.target and before tlsfw is reported as a cycle, so the check can
# fail. The unit runs apply with a bounded --wait before network-pre.target, without default
# dependencies, and stops at shutdown.
. "$(dirname "$0")/lib.sh"

command -v systemd-analyze >/dev/null ||
	fail "systemd-analyze not found: install the Debian package systemd (scripts/install-deps.sh)"

UNIT=$ROOT/scripts/tlsfw.service
D=$TMP/units
mkdir "$D" || fail "mkdir"
sed "s#/usr/local/sbin/tlsfw#$TLSFW#g" "$UNIT" >"$D/tlsfw.service"

# The unit's own promises, as systemd reads them.
for want in 'DefaultDependencies=no' 'Wants=network-pre.target' \
	'Before=network-pre.target shutdown.target' 'Conflicts=shutdown.target' \
	'After=local-fs.target systemd-udev-trigger.service' \
	'ExecStart=/usr/local/sbin/tlsfw apply --wait 30 /etc/tlsfw/policy.conf' \
	'WantedBy=sysinit.target'; do
	grep -qxF "$want" "$UNIT" || fail "tlsfw.service lacks '$want'"
done

# The network configuration units this system has, and the targets of a boot.
others=(sysinit.target network-pre.target network.target multi-user.target shutdown.target)
for u in systemd-networkd.service networking.service NetworkManager.service \
	systemd-udev-trigger.service; do
	[ -e "/lib/systemd/system/$u" ] && others+=("$u")
done
(cd "$D" && systemd-analyze verify --man=no ./tlsfw.service "${others[@]}") >"$TMP/verify" 2>&1 ||
	fail "systemd-analyze verify: $(cat "$TMP/verify")"
[ -s "$TMP/verify" ] && fail "systemd-analyze verify complains: $(cat "$TMP/verify")"
ok "systemd-analyze verify: no complaint, no cycle with ${others[*]}"

printf '%s\n' '[Unit]' 'Description=cycle probe' 'DefaultDependencies=no' \
	'After=network-pre.target' 'Before=tlsfw.service' '[Service]' 'Type=oneshot' \
	'ExecStart=/bin/true' >"$D/probe.service"
(cd "$D" && systemd-analyze verify --man=no ./tlsfw.service ./probe.service) >"$TMP/cycle" 2>&1 &&
	fail "a cycle through tlsfw.service was not reported"
grep -q 'ordering cycle' "$TMP/cycle" || fail "no 'ordering cycle' in: $(cat "$TMP/cycle")"
ok "a unit after network-pre.target and before tlsfw is reported as a cycle"
