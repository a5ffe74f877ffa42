// SPDX-License-Identifier: GPL-2.0
/*
 * Random server-name rules for randpol (issue 13): sni: lists drawn from a small pool, so
 * that lists overlap and wildcards cover exact names, in mixed case; sni_match: not,
 * sni: none, ech:, service: doh. The pool is also where test traffic takes its names.
 */
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "randpol.h"

/* Exact names under the wildcards below, the wildcards, and names of the doh list. */
static const char *const sni_pool[] = {
	"example.com",		"a.example.com",   "b.example.com",
	"x.a.example.com",	"*.example.com",   "*.a.example.com",
	"dns.google",		"*.google",	   "cloudflare-dns.com",
	"*.cloudflare-dns.com", "doh.mullvad.net", "*.dns.mullvad.net",
	"chat.example.org",	"*.org",
};

#define SNI_POOL_LEN (sizeof(sni_pool) / sizeof(sni_pool[0]))

/* Host names for traffic: the pool's exact names, names only a wildcard covers (one and two
 * labels deep), the wildcards' suffixes themselves, and names in no list. */
static const char *const host_pool[] = {
	"example.com",
	"a.example.com",
	"b.example.com",
	"x.a.example.com",
	"c.example.com",
	"d.e.example.com",
	"y.a.example.com",
	"z.y.a.example.com",
	"dns.google",
	"www.google",
	"dns64.dns.google",
	"cloudflare-dns.com",
	"mozilla.cloudflare-dns.com",
	"doh.mullvad.net",
	"x.dns.mullvad.net",
	"dns.mullvad.net",
	"chat.example.org",
	"example.org",
	"www.other.net",
	"exampleXcom",
	"aexample.com",
	"google",
	"dns.quad9.net",
	"doh.opendns.com",
};

/* Upper case at random places, as policies and clients may write them. */
static void mixed_case(struct rp_rng *r, char *s)
{
	for (; *s; s++)
		if (!rp_below(r, 3))
			*s = toupper((unsigned char)*s);
}

void randpol_host_name(struct rp_rng *r, char *buf, size_t len)
{
	snprintf(buf, len, "%s", host_pool[rp_below(r, sizeof(host_pool) / sizeof(host_pool[0]))]);
	if (!rp_below(r, 4))
		mixed_case(r, buf);
}

static int rand_list(struct rp_rng *r, struct pol_rule *rule)
{
	unsigned int n = 1 + rp_below(r, 4);
	bool used[SNI_POOL_LEN] = { false };
	int err = 0;

	for (unsigned int i = 0; !err && i < n; i++) {
		unsigned int k = rp_below(r, SNI_POOL_LEN);
		char name[64];

		if (used[k])
			continue; /* a name listed twice is a warning */
		used[k] = true;
		snprintf(name, sizeof(name), "%s", sni_pool[k]);
		if (!rp_below(r, 4))
			mixed_case(r, name);
		err = randpol_add_name(&rule->sni, name);
	}
	return err;
}

int randpol_names_rule(struct rp_rng *r, struct pol_rule *rule)
{
	unsigned int kind = rp_below(r, 10);
	int err = 0;

	if (kind == 9) { /* service: doh: tcp/443 and the catalog's names */
		err = randpol_add_name(&rule->services, "doh");
	} else {
		randpol_add_proto(rule, IPPROTO_TCP);
		if (rp_below(r, 2)) {
			rule->has_dport = true;
			err = randpol_add_range(&rule->dport, 443, 443);
			if (!err && rp_below(r, 2))
				err = randpol_add_range(&rule->dport, 8443, 8443);
		}
	}
	if (kind < 6) {
		rule->has_sni = true;
		err = err ?: rand_list(r, rule);
		rule->sni_not = !rp_below(r, 4);
	} else if (kind == 6) {
		rule->has_sni = rule->sni_none = true;
	}
	/* ech: alone (kinds 7, 8) or with a list */
	if (kind == 7 || kind == 8 || !rp_below(r, 4))
		rule->ech = rp_below(r, 2) ? POL_ECH_PRESENT : POL_ECH_ABSENT;
	return err;
}
