#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Shared by selftests/net/test_nft_*.sh, sourced after lib.sh: the nftables backend.
#
#   nft_policy SRC NAME   copy of policy SRC with `backend: nft`, path printed
#   nftfw ARGS...         apply/status/stats/detach through the nftables backend, in the
#                         gateway: `tlsfw` once its apply knows `backend: nft`, else the
#                         test-only driver (build/asan/tests/unit/test_nft_build)
#   nft_counter NAME      packets of named counter NAME in table inet tlsfw (read by `nft`,
#                         an independent witness)
NFTDRV=${NFTDRV:-$(dirname "$TLSFW")/tests/unit/test_nft_build}

command -v nft >/dev/null || fail "nft (the witness) is not installed"

nft_policy() {
	sed 's/^version: 1$/version: 1\nbackend: nft/' "$1" >"$TMP/$2.conf"
	grep -q '^backend: nft' "$TMP/$2.conf" || fail "cannot make an nft copy of $1"
	echo "$TMP/$2.conf"
}

# The product's own command when it has the nft branch (it says so by not refusing the
# backend in a dry run); otherwise the driver.
_nft_use_tlsfw=""
_nft_probe_done=""
_nft_probe() {
	[ -n "$_nft_probe_done" ] && return
	_nft_probe_done=1
	local p
	p=$(nft_policy "$ROOT/policies/block-quic.conf" nftprobe)
	if ip netns exec "$GW" "$TLSFW" apply "$p" --dry-run >"$TMP/nftprobe.out" 2>&1; then
		_nft_use_tlsfw=1
	elif grep -q 'not available' "$TMP/nftprobe.out"; then
		[ -x "$NFTDRV" ] || fail "no nft test driver at $NFTDRV"
	else
		cat "$TMP/nftprobe.out"
		fail "tlsfw apply --dry-run of an nft policy failed"
	fi
}

nftfw() {
	_nft_probe
	if [ -n "$_nft_use_tlsfw" ]; then
		ip netns exec "$GW" "$TLSFW" "$@"
	else
		ip netns exec "$GW" "$NFTDRV" "$@"
	fi
}

nft_counter() {
	gw nft list counter inet tlsfw "$1" | awk '/packets/ { print $2 }'
}

nft_counter_bytes() {
	gw nft list counter inet tlsfw "$1" | awk '/packets/ { print $4 }'
}
