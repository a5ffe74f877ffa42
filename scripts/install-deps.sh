#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Install every Debian package that building, testing and the demo need.
# Idempotent and quiet: packages already present are not fetched again.
set -eu

PKGS="make gcc clang llvm clang-format pkg-config libbpf-dev bpftool libelf-dev zlib1g-dev
libyaml-dev libnftnl-dev libmnl-dev libjson-c-dev nettle-dev libssl-dev libmicrohttpd-dev
iproute2 nftables openssl socat scdoc ethtool tcpdump curl python3 prometheus strace
postfix dovecot-imapd dovecot-pop3d slapd ldap-utils testssl.sh
libunbound-dev libcurl4-openssl-dev libcrypt-dev libgnutls28-dev unbound ldnsutils bind9-dnsutils
caddy chromium libnss3-tools ngtcp2-client openvpn openssh-server openssh-client apache2-utils systemd
dns-root-data iputils-ping tshark"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages:$missing (run as root to install them)" >&2
	exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# Daemons (postfix, dovecot, slapd) must not start in the host: tests start their own in
# network namespaces. A policy-rc.d that answers 101 stops invoke-rc.d; ours is removed again.
rcd=/usr/sbin/policy-rc.d
own_rcd=""
if [ ! -e "$rcd" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$rcd"
	chmod 0755 "$rcd"
	own_rcd=1
	trap 'rm -f "$rcd"' EXIT
fi
# postfix asks for a mailer type: keep it unconfigured (tests bring their own main.cf).
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
apt-get update -qq >/dev/null
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
[ -n "$own_rcd" ] && rm -f "$rcd"
trap - EXIT
