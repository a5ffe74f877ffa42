#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Golden tests for `tlsfw check`.
#   bad/NAME.conf:  stderr must equal bad/NAME.expected (the last line is "exit: N");
#                   bad/NAME.env, when present, holds VAR=value lines set for that check
#                   (SSH_CONNECTION for the lock-out guard; the caller's is never used).
#   good: every policies/*.conf and good/*.conf must pass (exit 0), and
#         `tlsfw check --print-plan F` must equal good/<basename>.plan; every policies/*.conf
#         with `backend: nft` must print good/<basename>.nft.plan.
#   json: `tlsfw check --json json/NAME.conf` must be one JSON document equal to json/NAME.json.
# REGEN=1 rewrites every expectation (review the diff before committing).
# Paths in messages are relative to the repository root: run from there (this script cd's).
set -u
# The lock-out guard reads SSH_CONNECTION: only bad/NAME.env may set it (below).
unset SSH_CONNECTION
cd "$(dirname "$0")/../.."
TLSFW=${TLSFW:-build/asan/tlsfw}
REGEN=${REGEN:-0}
DIR=selftests/policy
tmp=$(mktemp -d /tmp/tlsfw-golden-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

if [ ! -x "$TLSFW" ]; then
	echo "golden: $TLSFW is not built (make BUILD=... tests, or set TLSFW)" >&2
	exit 1
fi

pass=0
fail=0
failed() { # name
	fail=$((fail + 1))
	echo "FAIL $1"
}

n_bad=0
for conf in "$DIR"/bad/*.conf; do
	[ -e "$conf" ] || continue
	n_bad=$((n_bad + 1))
	exp=${conf%.conf}.expected
	out=$tmp/out
	envs=()
	[ -f "${conf%.conf}.env" ] && mapfile -t envs <"${conf%.conf}.env"
	env "${envs[@]}" "$TLSFW" check "$conf" >/dev/null 2>"$out"
	echo "exit: $?" >>"$out"
	if [ "$REGEN" = 1 ]; then
		cp "$out" "$exp"
		continue
	fi
	if [ ! -f "$exp" ]; then
		failed "$conf: no $exp (run REGEN=1 $0 and review)"
		continue
	fi
	if diff -u "$exp" "$out" >"$tmp/diff"; then
		pass=$((pass + 1))
	else
		failed "$conf"
		cat "$tmp/diff"
	fi
done

for conf in policies/*.conf "$DIR"/good/*.conf; do
	[ -e "$conf" ] || continue
	base=$(basename "$conf" .conf)
	plan=$DIR/good/$base.plan
	if ! "$TLSFW" check "$conf" >"$tmp/table" 2>"$tmp/err"; then
		failed "$conf: rejected"
		cat "$tmp/err"
		continue
	fi
	"$TLSFW" check --print-plan "$conf" >"$tmp/plan" 2>"$tmp/err"
	rc=$?
	if grep -q "plan compiler is not built" "$tmp/err"; then
		# The placeholder lowering prints the rule table: never a golden plan.
		if [ "$REGEN" = 1 ] || [ ! -f "$plan" ]; then
			failed "$conf: no plan (lowering is still the placeholder)"
			continue
		fi
	fi
	if [ $rc -ne 0 ]; then
		failed "$conf: --print-plan exit $rc"
		cat "$tmp/err"
		continue
	fi
	if [ "$REGEN" = 1 ]; then
		cp "$tmp/plan" "$plan"
		continue
	fi
	if [ ! -f "$plan" ]; then
		failed "$conf: no $plan (run REGEN=1 $0 and review)"
		continue
	fi
	if diff -u "$plan" "$tmp/plan" >"$tmp/diff"; then
		pass=$((pass + 1))
	else
		failed "$conf: plan differs from $plan"
		head -n 60 "$tmp/diff"
	fi
done

# The nftables half: every shipped policy again with `backend: nft` (a copy under the same
# name, so the table's comment is the same), its plan in good/<name>.nft.plan.
mkdir -p "$tmp/nft"
for conf in policies/*.conf; do
	base=$(basename "$conf" .conf)
	plan=$DIR/good/$base.nft.plan
	grep -v '^backend:' "$conf" | sed 's/^version: 1$/version: 1\nbackend: nft/' >"$tmp/nft/$base.conf"
	# content rules need backend: bpf: the refusal must name the key's line
	key=$(grep -n -m1 -E '^ +(payload|require):' "$tmp/nft/$base.conf" | cut -d: -f1)
	if [ -n "$key" ]; then
		if "$TLSFW" check "$tmp/nft/$base.conf" >/dev/null 2>"$tmp/err" ||
			! grep -q "^$tmp/nft/$base.conf:$key:[0-9]*: error: .* needs backend: bpf" "$tmp/err"; then
			failed "$conf (backend: nft): not refused at line $key"
			cat "$tmp/err"
		else
			pass=$((pass + 1))
		fi
		continue
	fi
	if ! "$TLSFW" check --print-plan "$tmp/nft/$base.conf" >"$tmp/plan" 2>"$tmp/err"; then
		failed "$conf (backend: nft): --print-plan failed"
		cat "$tmp/err"
		continue
	fi
	if [ "$REGEN" = 1 ]; then
		cp "$tmp/plan" "$plan"
		continue
	fi
	if [ ! -f "$plan" ]; then
		failed "$conf (backend: nft): no $plan (run REGEN=1 $0 and review)"
	elif diff -u "$plan" "$tmp/plan" >"$tmp/diff"; then
		pass=$((pass + 1))
	else
		failed "$conf (backend: nft): plan differs from $plan"
		head -n 60 "$tmp/diff"
	fi
done

# check --json: one JSON document (python reads it, as a witness), equal to json/<name>.json.
for conf in "$DIR"/json/*.conf; do
	[ -e "$conf" ] || continue
	want=${conf%.conf}.json
	"$TLSFW" check --json "$conf" >"$tmp/json" 2>"$tmp/err"
	rc=$?
	if [ -s "$tmp/err" ] || ! python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$tmp/json"; then
		failed "$conf: check --json (exit $rc) wrote to stderr or no JSON"
		cat "$tmp/err"
		continue
	fi
	if [ "$REGEN" = 1 ]; then
		cp "$tmp/json" "$want"
	elif diff -u "$want" "$tmp/json" >"$tmp/diff"; then
		pass=$((pass + 1))
	else
		failed "$conf: check --json differs from $want"
		head -n 60 "$tmp/diff"
	fi
done

if [ "$REGEN" = 1 ]; then
	echo "golden: expectations rewritten; review with git diff $DIR"
	[ $fail -eq 0 ]
	exit
fi
if [ $n_bad -lt 45 ]; then
	echo "golden: only $n_bad bad policies (at least 45 expected)"
	fail=$((fail + 1))
fi
echo "golden: $pass passed, $fail failed"
[ $fail -eq 0 ] && [ $pass -gt 0 ]
