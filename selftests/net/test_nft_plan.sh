#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `tlsfw check --print-plan` of a backend: nft policy prints table inet tlsfw from the plan,
# as nft lists it: for every shipped policy (with `backend: nft`) the text is valid input for
# `nft -c -f` on the gateway, and equal, line for line, to what `nft list table inet tlsfw`
# shows once `tlsfw apply` has installed the same policy (counter values aside). A shipped
# policy with content rules must be refused, naming the key's line.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nft_lib.sh"

topo_up
n=0
for src in "$ROOT"/policies/*.conf; do
	base=$(basename "$src" .conf)
	conf=$(nft_policy "$src" "$base")
	# content rules (payload:, require:) need backend: bpf: refused at the key, nothing applied
	key=$(grep -n -m1 -E '^ +(payload|require):' "$conf" | cut -d: -f1)
	if [ -n "$key" ]; then
		"$TLSFW" check --print-plan "$conf" >"$TMP/$base.plan" 2>"$TMP/$base.err" &&
			fail "$base: check --print-plan took a content rule under backend: nft"
		grep -q "^$conf:$key:[0-9]*: error: .* needs backend: bpf" "$TMP/$base.err" ||
			{ cat "$TMP/$base.err"; fail "$base: the refusal does not name line $key"; }
		ok "$base: refused under backend: nft at line $key (content rule)"
		continue
	fi
	"$TLSFW" check --print-plan "$conf" >"$TMP/$base.plan" 2>"$TMP/$base.err" ||
		{ cat "$TMP/$base.err"; fail "$base: check --print-plan"; }
	gw nft -c -f "$TMP/$base.plan" >"$TMP/$base.nftc" 2>&1 ||
		{ head -20 "$TMP/$base.nftc"; fail "$base: nft -c -f refuses the printed plan"; }
	nftfw apply "$conf" >"$TMP/$base.apply" 2>&1 || { cat "$TMP/$base.apply"; fail "$base: apply"; }
	gw nft list table inet tlsfw | sed 's/packets [0-9]* bytes [0-9]*/packets 0 bytes 0/' \
		>"$TMP/$base.listed" || fail "$base: nft list"
	diff -u "$TMP/$base.listed" "$TMP/$base.plan" || fail "$base: the printed plan is not what nft lists after apply"
	nftfw detach >/dev/null || fail "$base: detach"
	ok "$base: the printed plan reads with nft -f and is what nft lists after apply"
	n=$((n + 1))
done
[ $n -ge 6 ] || fail "only $n shipped policies"
