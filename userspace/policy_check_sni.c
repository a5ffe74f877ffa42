// SPDX-License-Identifier: GPL-2.0
/* Stage 2 for server-name rules (issue 13): sni:, sni_match:, ech:. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "../bpf/tlsfw_content_abi.h"
#include "catalog.h"
#include "name_table.h"
#include "policy_sni.h"
#include "rules.h"

#define DNS_NAME_MAX 253 /* RFC 1035 2.3.4, without the trailing dot */

/* Why pattern s is not a server name the data plane can match, or NULL. */
static const char *bad_name(const char *s)
{
	char out[TLSFW_SNI_MAX + 1];
	size_t len;

	if (strlen(s) > DNS_NAME_MAX)
		return "longer than 253 characters";
	for (const char *q = s; *q; q++) {
		char c = *q;

		if (c == '*' && q != s)
			return "a wildcard is a leading '*.' only";
		if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && !(c >= '0' && c <= '9') &&
		    c != '-' && c != '_' && c != '.' && c != '*')
			return "a character other than letters, digits, '-', '_' and '.'";
	}
	if (s[0] == '*' && s[1] != '.')
		return "a wildcard is a leading '*.' only";
	if (name_normalize(s, out, &len) < 0)
		return s[0] == '*' && strlen(s) > 2 && !strstr(s, "..") && s[strlen(s) - 1] != '.' ?
			       "a wildcard may have at most 16 labels after '*.'" :
			       "an empty label";
	return NULL;
}

static int cmp_lower(const void *a, const void *b)
{
	return strcasecmp(*(char *const *)a, *(char *const *)b);
}

/* Each name valid; a name written twice (in any case) a warning. */
static void check_list(const struct pol_rule *pr, struct diag *d)
{
	const char **sorted = calloc(pr->sni.n ? pr->sni.n : 1, sizeof(*sorted));

	for (size_t j = 0; j < pr->sni.n; j++) {
		const char *why = bad_name(pr->sni.v[j]);

		if (why)
			diag_error(d, &pr->sni.locs[j], "sni: '%s' is not a server name: %s",
				   pr->sni.v[j], why);
		if (sorted)
			sorted[j] = pr->sni.v[j];
	}
	if (!sorted)
		return;
	qsort(sorted, pr->sni.n, sizeof(*sorted), cmp_lower);
	for (size_t j = 1; j < pr->sni.n; j++) {
		if (strcasecmp(sorted[j - 1], sorted[j]))
			continue;
		for (size_t k = 0; k < pr->sni.n; k++)
			if (pr->sni.v[k] == sorted[j])
				diag_warning(d, &pr->sni.locs[k], "sni: '%s' is listed twice",
					     pr->sni.v[k]);
	}
	free(sorted);
}

static const struct loc *names_loc(const struct pol_rule *pr)
{
	return pr->has_sni ? &pr->sni.loc : &pr->ech_loc;
}

static int other_than_tcp(const struct plan_rule *r)
{
	for (unsigned int i = 0; i < 256; i++)
		if (i != IPPROTO_TCP && proto_has(&r->protos, i))
			return 1;
	return 0;
}

/* service: doh (a service with server names): alone, and without sni:. Its index or -1. */
static int check_named_service(const struct pol_rule *pr, struct diag *d)
{
	for (size_t j = 0; j < pr->services.n; j++) {
		const struct service *s = catalog_find(pr->services.v[j]);

		if (!s || !s->names)
			continue;
		if (pr->services.n > 1)
			diag_error(
				d, &pr->services.locs[j],
				"service: %s matches by server name, which would apply to the rule's other services too: give it a rule of its own",
				s->name);
		else if (pr->has_sni)
			diag_error(
				d, &pr->sni.loc,
				"sni: and service: %s (a list of names already): write two rules",
				s->name);
		return (int)j;
	}
	return -1;
}

void check_sni(const struct policy *p, const struct plan_rule *rules, struct diag *d, uint8_t *skip)
{
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct pol_rule *pr = &p->rules[i];
		const char *key = pr->has_sni ? "sni" : "ech";
		int svc = check_named_service(pr, d);

		if (svc >= 0 && !pol_rule_has_names(pr)) {
			skip[i] = 1;
			if (p->backend == POL_BACKEND_NFT)
				diag_error(
					d, &pr->services.locs[svc],
					"service: %s needs backend: bpf: it matches by server name, and nftables cannot parse a TLS ClientHello across segments (write backend: bpf)",
					pr->services.v[svc]);
			continue;
		}

		if (pr->sni_match_loc.line && !pr->has_sni)
			diag_error(d, &pr->sni_match_loc,
				   "sni_match: says how sni: matches, but rule '%s' has no sni:",
				   pr->name ? pr->name : "?");
		if (!pol_rule_has_names(pr))
			continue;
		skip[i] = 1;
		if (p->backend == POL_BACKEND_NFT) {
			diag_error(
				d, names_loc(pr),
				"%s needs backend: bpf: nftables cannot parse a TLS ClientHello across segments (write backend: bpf, or remove the key)",
				key);
			continue;
		}
		if (pr->payload_quic || pr->require_tls) {
			diag_error(d, names_loc(pr),
				   "%s cannot be combined with %s in one rule: write two rules",
				   key, pr->payload_quic ? "payload: quic" : "require: tls");
			continue;
		}
		if (other_than_tcp(&rules[i]))
			diag_error(
				d, names_loc(pr),
				"%s applies to TCP flows only (server names in QUIC are encrypted), but rule '%s' also matches other protocols (write proto: tcp)",
				key, pr->name ? pr->name : "?");
		if (pr->has_sni && !pr->sni_none)
			check_list(pr, d);
	}
}
