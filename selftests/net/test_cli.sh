#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The command line, from one usage table per command: tlsfw(8)'s SYNOPSIS names every option
# each command accepts and nothing else; `tlsfw --help`, each command's --help (exit 0) and
# the usage printed with a usage error are the same text; every option shown is accepted and
# an unknown one refused (exit 1); "--opt=value" and "--" work everywhere. Commands that
# would read or change kernel state run in a network namespace of their own (unshare), so
# that nothing here touches the host's.
. "$(dirname "$0")/lib.sh"

MAN=$ROOT/Documentation/tlsfw.8.scd
in_ns() {
	timeout 20 unshare --net -- "$TLSFW" "$@"
}

"$TLSFW" --help >"$TMP/help" || fail "tlsfw --help exited $?"
# "  tlsfw CMD ..." lines of the command list, as "CMD ..." lines
sed -n 's/^  tlsfw //p' "$TMP/help" >"$TMP/list"
[ -s "$TMP/list" ] || fail "tlsfw --help lists no command"
cmds=$(cut -d' ' -f1 "$TMP/list" | uniq)

# each command's --help: exit 0, and its lines of the command list, word for word
for c in $cmds; do
	"$TLSFW" "$c" --help >"$TMP/h.$c" 2>"$TMP/e.$c" || fail "tlsfw $c --help exited $?"
	[ -s "$TMP/e.$c" ] && fail "tlsfw $c --help wrote to stderr: $(cat "$TMP/e.$c")"
	sed 's/^\(usage: \|       \)tlsfw //' "$TMP/h.$c" >"$TMP/got"
	grep "^$c\( \|$\)" "$TMP/list" >"$TMP/want"
	cmp -s "$TMP/got" "$TMP/want" || { diff "$TMP/want" "$TMP/got"; fail "tlsfw $c --help is not its part of tlsfw --help"; }
	# the usage printed with a usage error is the same text again
	"$TLSFW" "$c" --no-such-option >/dev/null 2>"$TMP/u.$c"
	rc=$?
	[ $rc = 1 ] || fail "tlsfw $c --no-such-option exited $rc, expected 1"
	grep -q "^tlsfw: $c: unknown option '--no-such-option'" "$TMP/u.$c" || fail "tlsfw $c: $(cat "$TMP/u.$c")"
	grep -v "^tlsfw: " "$TMP/u.$c" | sed 's/^\(usage: \|       \)tlsfw //' | cmp -s - "$TMP/want" ||
		fail "tlsfw $c: the usage of a usage error differs from --help: $(cat "$TMP/u.$c")"
done
ok "every command's --help exits 0 and is its part of tlsfw --help, as the usage of an error is"

# tlsfw(8) SYNOPSIS against the usage table: per command, the same set of options
$PY - "$MAN" "$TMP/list" <<'PYEOF' || fail "tlsfw(8) SYNOPSIS and the usage table disagree"
import re, sys
man, listed = open(sys.argv[1]).read(), open(sys.argv[2]).read()
syn = man.split("# SYNOPSIS", 1)[1].split("\n# ", 1)[0]
def opts(entries):
    out = {}
    for e in entries:
        m = re.match(r"\W*tlsfw (\w+)", e)
        if m:
            out.setdefault(m.group(1), set()).update(re.findall(r"--[a-z0-9-]+", e))
    return out
want = opts(syn.split("\n\n"))
got = opts(["tlsfw " + l for l in listed.splitlines()])
bad = False
for c in sorted(set(want) | set(got)):
    if want.get(c) != got.get(c):
        print("%s: tlsfw(8) names %s, the command accepts %s" %
              (c, sorted(want.get(c, [])), sorted(got.get(c, []))))
        bad = True
sys.exit(bad)
PYEOF
ok "tlsfw(8) SYNOPSIS names exactly the options each command accepts"

# every option shown is accepted: a value that is wrong for it is refused as that value, never
# as an unknown option
for c in $cmds; do
	for o in $(grep "^$c\( \|$\)" "$TMP/list" | grep -o -- '--[a-z0-9-]*' | sort -u); do
		in_ns "$c" "$o=x" >"$TMP/out" 2>&1
		grep -q "unknown option\|needs a value" "$TMP/out" && fail "tlsfw $c $o=x: $(cat "$TMP/out")"
		in_ns "$c" "$o" >"$TMP/out" 2>&1 </dev/null
		grep -q "unknown option" "$TMP/out" && fail "tlsfw $c $o: $(cat "$TMP/out")"
	done
done
ok "every option in the usage is accepted"

# --opt=value is --opt value; -- ends the options
out=$(in_ns stats --watch=0 2>&1)
[ $? = 1 ] && echo "$out" | grep -q "^tlsfw: stats: --watch '0' is not a number" || fail "--watch=0: $out"
out=$(in_ns stats --watch 0 2>&1)
[ $? = 1 ] && echo "$out" | grep -q "^tlsfw: stats: --watch '0' is not a number" || fail "--watch 0: $out"
printf 'version: 1\ninterfaces:\n  - name: lan0\nrules:\n  - name: a\n    dport: 443\n    action: drop\n' >"$TMP/-dash.conf"
(cd "$TMP" && "$TLSFW" check -- -dash.conf >"$TMP/out" 2>&1) || fail "check -- -dash.conf: $(cat "$TMP/out")"
(cd "$TMP" && "$TLSFW" check -dash.conf >"$TMP/out" 2>&1) && fail "check -dash.conf took an option as a file"
ok "--opt=value works as --opt value; -- ends the options"

# one parser of TLS versions: what the policy's min_tls refuses, --min-tls refuses too
out=$(in_ns probe --min-tls 1 127.0.0.1:443 2>&1)
[ $? = 1 ] && echo "$out" | grep -q "min-tls takes 1.0, 1.1, 1.2 or 1.3, not '1'" || fail "--min-tls 1: $out"
ok "--min-tls 1 is refused, as min_tls: \"1\" is"
