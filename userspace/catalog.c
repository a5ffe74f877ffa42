// SPDX-License-Identifier: GPL-2.0
/* The service catalog of POLICY.md: data, and two look-ups. */
#include <netinet/in.h>
#include <string.h>

#include "catalog.h"

#define TCP(lo, hi)                 \
	{                           \
		IPPROTO_TCP, lo, hi \
	}
#define UDP(lo, hi)                 \
	{                           \
		IPPROTO_UDP, lo, hi \
	}

/* DNS over HTTPS: public resolvers' host names, each as its operator documents it. */
static const char *const doh_names[] = {
	/* Google Public DNS: developers.google.com/speed/public-dns/docs/doh */
	"dns.google",
	"dns64.dns.google",
	/* Cloudflare 1.1.1.1 (also security., family., mozilla.):
	 * developers.cloudflare.com/1.1.1.1/encryption/dns-over-https/ */
	"cloudflare-dns.com",
	"*.cloudflare-dns.com",
	"one.one.one.one",
	/* Quad9: quad9.net/service/service-addresses-and-features */
	"dns.quad9.net",
	"dns9.quad9.net",
	"dns10.quad9.net",
	"dns11.quad9.net",
	/* Cisco OpenDNS: support.opendns.com (DNS over HTTPS, doh.opendns.com) */
	"doh.opendns.com",
	"doh.familyshield.opendns.com",
	/* NextDNS: nextdns.io (dns.nextdns.io/<profile>) */
	"dns.nextdns.io",
	/* Mullvad: mullvad.net/en/help/dns-over-https-and-dns-over-tls */
	"doh.mullvad.net",
	"dns.mullvad.net",
	"*.dns.mullvad.net",
	/* AdGuard DNS: adguard-dns.io/en/public-dns.html */
	"dns.adguard-dns.com",
	"unfiltered.adguard-dns.com",
	"family.adguard-dns.com",
	/* CleanBrowsing: cleanbrowsing.org/filters */
	"doh.cleanbrowsing.org",
	/* Control D: controld.com/free-dns */
	"freedns.controld.com",
	"dns.controld.com",
	/* DNS.SB: dns.sb/doh/ */
	"doh.dns.sb",
	NULL,
};

const struct service catalog[] = {
	{ "http", NULL, { TCP(80, 80) }, 1, TLS_NONE, NULL, "none" },
	{ "https", NULL, { TCP(443, 443) }, 1, TLS_IMPLICIT, NULL, "implicit" },
	{ "quic",
	  NULL,
	  { UDP(443, 443), UDP(80, 80) },
	  2,
	  TLS_QUIC,
	  NULL,
	  "built-in (QUIC); both ports, as firewall vendors block" },
	{ "http3", NULL, { UDP(443, 443) }, 1, TLS_QUIC, NULL, "built-in (QUIC)" },
	{ "smtp", NULL, { TCP(25, 25) }, 1, TLS_STARTTLS, "smtp", "STARTTLS" },
	{ "submissions", "smtps", { TCP(465, 465) }, 1, TLS_IMPLICIT, NULL, "implicit" },
	{ "submission", NULL, { TCP(587, 587) }, 1, TLS_STARTTLS, "smtp", "STARTTLS" },
	{ "ldap", NULL, { TCP(389, 389) }, 1, TLS_STARTTLS, "ldap", "STARTTLS" },
	{ "ldaps", NULL, { TCP(636, 636) }, 1, TLS_IMPLICIT, NULL, "implicit" },
	{ "imap", NULL, { TCP(143, 143) }, 1, TLS_STARTTLS, "imap", "STARTTLS" },
	{ "imaps", NULL, { TCP(993, 993) }, 1, TLS_IMPLICIT, NULL, "implicit" },
	{ "pop3", NULL, { TCP(110, 110) }, 1, TLS_STARTTLS, "pop3", "STARTTLS" },
	{ "pop3s", NULL, { TCP(995, 995) }, 1, TLS_IMPLICIT, NULL, "implicit" },
	{ "dns", NULL, { UDP(53, 53), TCP(53, 53) }, 2, TLS_NONE, NULL, "none" },
	{ "dot", NULL, { TCP(853, 853) }, 1, TLS_IMPLICIT, NULL, "implicit" },
	{ "doq", NULL, { UDP(853, 853) }, 1, TLS_QUIC, NULL, "built-in (QUIC)" },
	{ "ftp", NULL, { TCP(21, 21) }, 1, TLS_STARTTLS, "ftp", "STARTTLS (AUTH TLS)" },
	{ "ftps", NULL, { TCP(989, 990) }, 1, TLS_IMPLICIT, NULL, "implicit" },
	{ "nntp", NULL, { TCP(119, 119) }, 1, TLS_STARTTLS, "nntp", "STARTTLS" },
	{ "nntps", NULL, { TCP(563, 563) }, 1, TLS_IMPLICIT, NULL, "implicit" },
	{ "xmpp", NULL, { TCP(5222, 5222) }, 1, TLS_STARTTLS, "xmpp", "STARTTLS" },
	{ "postgres",
	  NULL,
	  { TCP(5432, 5432) },
	  1,
	  TLS_STARTTLS,
	  "postgres",
	  "STARTTLS (SSLRequest)" },
	{ "sieve", NULL, { TCP(4190, 4190) }, 1, TLS_STARTTLS, "sieve", "STARTTLS" },
	{ "https-alt", NULL, { TCP(8443, 8443) }, 1, TLS_IMPLICIT, NULL, "implicit" },
	{ "doh",
	  NULL,
	  { TCP(443, 443) },
	  1,
	  TLS_IMPLICIT,
	  NULL,
	  "implicit; server names of public DoH resolvers (needs backend: bpf)",
	  doh_names },
};

const size_t catalog_len = sizeof(catalog) / sizeof(catalog[0]);

const struct service *catalog_find(const char *name)
{
	for (size_t i = 0; i < catalog_len; i++)
		if (!strcmp(catalog[i].name, name) ||
		    (catalog[i].alias && !strcmp(catalog[i].alias, name)))
			return &catalog[i];
	return NULL;
}

const struct service *catalog_by_tcp_port(uint16_t port)
{
	for (size_t i = 0; i < catalog_len; i++)
		for (size_t j = 0; j < catalog[i].n_ports; j++)
			if (catalog[i].ports[j].proto == IPPROTO_TCP &&
			    catalog[i].ports[j].lo <= port && port <= catalog[i].ports[j].hi)
				return &catalog[i];
	return NULL;
}
