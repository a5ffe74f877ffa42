#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# MTA-STS policy hosts for the mail-domain tests and the benchmark, sourced after lib.sh:
# Caddy serves https://mta-sts.DOMAIN.example/.well-known/mta-sts.txt with certificates made
# by the test (automatic HTTPS off, admin off, storage and home in $TMP: it never tries
# ACME and writes nowhere else).
#
#   sts_site DOMAIN [CERT] [REDIRECT-URL]   a site for mta-sts.DOMAIN.example, with
#                                 $TMP/ca/CERT.pem (default: web), or a redirect
#   sts_policy DOMAIN TEXT        the policy file of DOMAIN (printf %b: \n, \r\n)
#   caddy_up ADDR                 Caddy on ADDR:443 with every site
_sts_sites=()

sts_site() {
	_sts_sites+=("$1|${2:-web}|${3:-}")
	mkdir -p "$TMP/www/$1"
}

sts_policy() {
	mkdir -p "$TMP/www/$1/.well-known"
	printf '%b' "$2" >"$TMP/www/$1/.well-known/mta-sts.txt"
}

caddy_up() {
	local s d cert redir
	mkdir -p "$TMP/caddy/home"
	{
		printf '{\n\tauto_https off\n\tadmin off\n\tskip_install_trust\n\tocsp_stapling off\n'
		printf '\tstorage file_system %s\n}\n' "$TMP/caddy/storage"
		for s in "${_sts_sites[@]}"; do
			IFS='|' read -r d cert redir <<<"$s"
			printf 'https://mta-sts.%s.example:443 {\n\tbind %s\n' "$d" "$1"
			printf '\ttls %s %s\n' "$TMP/ca/$cert.pem" "$TMP/ca/$cert.key"
			if [ -n "$redir" ]; then
				printf '\tredir %s\n}\n' "$redir"
			else
				printf '\troot * %s\n\tfile_server\n}\n' "$TMP/www/$d"
			fi
		done
	} >"$TMP/caddy/Caddyfile"
	bg "$TMP/caddy/caddy.log" srv env HOME="$TMP/caddy/home" XDG_DATA_HOME="$TMP/caddy/home" \
		XDG_CONFIG_HOME="$TMP/caddy/home" caddy run --adapter caddyfile \
		--config "$TMP/caddy/Caddyfile"
	wait_port 443 "$1"
}
