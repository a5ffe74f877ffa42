// SPDX-License-Identifier: GPL-2.0
/*
 * Reference decision for server-name rules (sni:, sni_match:, ech:, service: doh), read from
 * tlsfw.conf(5) as a user reads it: the ClientHello's server name against the rule's list by
 * plain string comparison, one pattern after the other. Shares nothing with
 * userspace/name_table.c or bpf/names.h (no hashing, no classes), so a bug there cannot hide
 * by being repeated here.
 */
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

#include "../../bpf/tlsfw_abi.h"
#include "../../bpf/tlsfw_content_abi.h"
#include "catalog.h"
#include "ref_decide.h"

/* The built-in names of a service the rule names (service: doh), or NULL. */
static const char *const *service_names(const struct pol_rule *r)
{
	for (size_t i = 0; i < r->services.n; i++) {
		const struct service *s = catalog_find(r->services.v[i]);

		if (s && s->names)
			return s->names;
	}
	return NULL;
}

bool ref_rule_has_names(const struct pol_rule *r)
{
	return r->has_sni || r->ech != POL_ECH_ANY || service_names(r);
}

/* "name" matches itself in any case; "*.suffix" matches one or more labels before ".suffix". */
static bool pattern_matches(const char *pattern, const char *name)
{
	size_t nl = strlen(name), sl;

	if (strncmp(pattern, "*.", 2))
		return !strcasecmp(pattern, name);
	sl = strlen(pattern + 1); /* ".suffix" */
	return nl > sl && name[nl - sl - 1] != '.' && !strcasecmp(name + nl - sl, pattern + 1);
}

static bool in_list(const struct pol_rule *r, const char *name)
{
	const char *const *builtin = service_names(r);

	for (size_t i = 0; i < r->sni.n; i++)
		if (pattern_matches(r->sni.v[i], name))
			return true;
	for (size_t i = 0; builtin && builtin[i]; i++)
		if (pattern_matches(builtin[i], name))
			return true;
	return false;
}

/*
 * tlsfw.conf(5): a name rule matches TCP flows by their ClientHello once it is complete (the
 * segment that completes it and every later one, a RST too, which then passes: ref_decide);
 * never before (PLAIN), never a flow that does not start with a ClientHello or was met
 * mid-stream. A malformed ClientHello is matched by every name rule (fail closed); a segment
 * beyond a gap before the ClientHello ended, only under sni_unordered: drop.
 */
bool ref_names_match(const struct policy *p, const struct pol_rule *r, const struct ref_pkt *pkt)
{
	bool has_list = r->has_sni || service_names(r), in;

	if (pkt->proto != IPPROTO_TCP)
		return false;
	switch (pkt->hello) {
	case TLSFW_HELLO_MALFORMED:
		return true;
	case TLSFW_HELLO_UNORDERED:
		return p->sni_unordered == POL_DROP;
	case TLSFW_HELLO_NAME:
	case TLSFW_HELLO_NO_NAME:
		break;
	default:
		return false;
	}
	if ((r->ech == POL_ECH_PRESENT && !pkt->ech) || (r->ech == POL_ECH_ABSENT && pkt->ech))
		return false;
	if (!has_list)
		return true; /* ech: alone */
	if (r->sni_none)
		in = pkt->hello == TLSFW_HELLO_NO_NAME;
	else
		in = pkt->hello == TLSFW_HELLO_NAME && in_list(r, pkt->name);
	return in != r->sni_not;
}
