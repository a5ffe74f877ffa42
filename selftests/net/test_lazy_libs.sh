#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Libraries that only probes and the metrics endpoint use are opened on first use
# (userspace/lazylib.h): OpenSSL alone cost every tlsfw process 3.5 ms at start (issue 14,
# performance.md "Process start"). Both binaries under test (the ASan one and the optimized
# one) name none of them as a dependency; `tlsfw check` loads none of them (the dynamic
# loader's own account, LD_DEBUG=files); a TLS probe does open libssl and libcrypto, so the
# check of `check` can fail. The optimized binary takes libbpf, libyaml, libnftnl, json-c,
# Nettle, libxcrypt, libelf and zlib from their archives (the Makefile's STATIC_LIBS, default
# 1): none of them is a dependency either.
. "$(dirname "$0")/lib.sh"

LAZY='libssl|libcrypto|libcurl|libunbound|libmicrohttpd|libgnutls'
OPT=$ROOT/${BUILD:-build}/tlsfw
[ -x "$OPT" ] || fail "no optimized binary at $OPT (make builds it)"

for bin in "$TLSFW" "$OPT"; do
	objdump -p "$bin" >"$TMP/deps" || fail "objdump -p $bin"
	grep -q 'NEEDED.*libc\.so' "$TMP/deps" || fail "objdump -p $bin lists no libc: not read"
	grep -E "NEEDED.*($LAZY)" "$TMP/deps" && fail "$bin links a library it should open on use"
	ok "$(basename "$(dirname "$bin")")/tlsfw: none of $LAZY is a dependency"
done

STATIC='libbpf|libyaml|libnftnl|libjson-c|libnettle|libcrypt|libelf|libz\.'
if [ "${STATIC_LIBS:-1}" = 1 ]; then
	objdump -p "$OPT" | grep -E "NEEDED.*($STATIC)" &&
		fail "$OPT links a library it should take from its archive"
	ok "$(basename "$(dirname "$OPT")")/tlsfw: none of $STATIC is a shared dependency"
fi

# loaded: the libraries the dynamic loader opened for: $OPT ARGS...
loaded() {
	LD_DEBUG=files "$OPT" "$@" 2>&1 >/dev/null |
		grep -Eo 'file=[^ ]+ \[0\]; +(needed|dynamically loaded)' | awk '{ print $1 }' | sort -u
}

loaded check "$ROOT/policies/block-quic.conf" >"$TMP/check"
grep -q 'file=libc\.so' "$TMP/check" || fail "LD_DEBUG=files shows no libc for check: not read"
grep -E "$LAZY" "$TMP/check" && fail "tlsfw check opened a library it does not use"
ok "tlsfw check opens $(wc -l <"$TMP/check") libraries, none of $LAZY"

# Port 1 of loopback: refused, but the probe sets up TLS first.
loaded probe 127.0.0.1:1 --starttls none --timeout 2000 >"$TMP/probe"
for lib in libssl libcrypto; do
	grep -q "file=$lib" "$TMP/probe" || fail "tlsfw probe did not open $lib: $(cat "$TMP/probe")"
done
ok "tlsfw probe opens libssl and libcrypto on use"
