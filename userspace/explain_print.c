// SPDX-License-Identifier: GPL-2.0
/* An explanation as text (for people) and as one JSON document (for scripts). */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <json-c/json.h>

#include "explain.h"
#include "textsafe.h"

static void where(const struct explain *e, const struct explain_rule *r, char *buf, size_t len)
{
	char safe[TEXTSAFE_LEN(TLSFW_PATH_MAX)];

	if (!r->line && r->builtin)
		snprintf(buf, len, "(built in, see essentials: in tlsfw.conf(5))");
	else if (!r->line)
		snprintf(buf, len, "at (line unknown)");
	else if (e->file)
		snprintf(buf, len, "at %s:%u", textsafe(e->file, safe, sizeof(safe)), r->line);
	else
		snprintf(buf, len, "at line %u", r->line);
}

static void rule_name(const struct explain_rule *r, char *buf, size_t len)
{
	char safe[TEXTSAFE_LEN(TLSFW_NAME_MAX)];

	snprintf(buf, len, "'%s'", textsafe(r->name ? r->name : "?", safe, sizeof(safe)));
}

void explain_print(const struct explain *e, const struct explain_pkt *pkt, FILE *out)
{
	char p[200 + TLSFW_SNI_MAX], at[TEXTSAFE_LEN(TLSFW_PATH_MAX) + 16],
		name[TEXTSAFE_LEN(TLSFW_NAME_MAX) + 2];

	explain_pkt_str(pkt, p, sizeof(p));
	fprintf(out, "packet   %s\n", p);
	if (!e->hooked) {
		fprintf(out,
			"the policy does not hook %s %s: the packet passes untouched and uncounted\n",
			pkt->ifname, pkt->dir == TLSFW_DIR_EGRESS ? "egress" : "ingress");
		fprintf(out, "verdict  allow\n");
		return;
	}
	if (e->reasons_unknown)
		fprintf(out, "  (the rules before the deciding one cannot be explained: %s)\n",
			e->note ? e->note : "the enforced policy's file is not available");
	for (size_t i = 0; i < e->n_skipped; i++) {
		const struct explain_rule *r = &e->skipped[i];

		where(e, r, at, sizeof(at));
		rule_name(r, name, sizeof(name));
		if (r->failed == EXPLAIN_EMPTY)
			fprintf(out, "  no match  rule %s %s: matches no packet\n", name, at);
		else if (r->failed == EXPLAIN_NEEDS_STATE || r->failed == EXPLAIN_NEEDS_PAYLOAD ||
			 r->failed == EXPLAIN_NEEDS_SNI)
			fprintf(out, "  no match  rule %s %s: %s\n", name, at,
				explain_field_names[r->failed]);
		else
			fprintf(out, "  no match  rule %s %s: %s does not match\n", name, at,
				explain_field_names[r->failed]);
	}
	if (e->rule < 0) {
		fprintf(out, "  no rule matches: the default decides (%s)\n",
			pol_action_names[e->default_action]);
	} else {
		where(e, &e->decided, at, sizeof(at));
		rule_name(&e->decided, name, sizeof(name));
		fprintf(out, "  match     rule %s %s: action %s%s\n", name, at,
			pol_action_names[e->decided.action],
			e->decided.monitor ? ", mode monitor (counted; the packet passes)" : "");
	}
	if (e->note && !e->reasons_unknown)
		fprintf(out, "  (%s)\n", e->note);
	fprintf(out, "verdict  %s\n", pol_action_names[e->verdict]);
}

static json_object *rule_json(const struct explain_rule *r, bool decided)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(r->name ? r->name : ""));
	json_object_object_add(o, "line", r->line ? json_object_new_int(r->line) : NULL);
	json_object_object_add(o, "action", json_object_new_string(pol_action_names[r->action]));
	json_object_object_add(o, "mode",
			       json_object_new_string(pol_mode_names[r->monitor ? 1 : 0]));
	if (!decided)
		json_object_object_add(o, "failed",
				       json_object_new_string(explain_field_names[r->failed]));
	return o;
}

static json_object *pkt_json(const struct explain_pkt *pkt)
{
	json_object *o = json_object_new_object();
	char a[INET6_ADDRSTRLEN];

	json_object_object_add(o, "proto", json_object_new_int(pkt->proto));
	json_object_object_add(o, "family",
			       json_object_new_string(pkt->family == 4 ? "ipv4" : "ipv6"));
	for (int i = 0; i < 2; i++) {
		const uint8_t *addr = i ? pkt->dst : pkt->src;

		if (pkt->family == 4)
			inet_ntop(AF_INET, addr + 12, a, sizeof(a));
		else
			inet_ntop(AF_INET6, addr, a, sizeof(a));
		json_object_object_add(o, i ? "dst" : "src", json_object_new_string(a));
		if (pkt->has_ports)
			json_object_object_add(o, i ? "dport" : "sport",
					       json_object_new_int(i ? pkt->dport : pkt->sport));
	}
	json_object_object_add(o, "interface", json_object_new_string(pkt->ifname));
	json_object_object_add(
		o, "direction",
		json_object_new_string(pkt->dir == TLSFW_DIR_EGRESS ? "egress" : "ingress"));
	/* the packet facts given as options; null when not given */
	json_object_object_add(
		o, "state",
		pkt->ct_state ? json_object_new_string(pol_state_names[pkt->ct_state - 1]) : NULL);
	json_object_object_add(o, "payload",
			       !pkt->pl			? NULL :
			       pkt->pl == TLSFW_PL_QUIC ? json_object_new_string("quic") :
			       pkt->pl == TLSFW_PL_PLAIN && pkt->proto == IPPROTO_TCP ?
							  json_object_new_string("tls") :
							  json_object_new_string("other"));
	json_object_object_add(o, "sni",
			       !pkt->hello ? NULL :
			       pkt->sni[0] ? json_object_new_string(pkt->sni) :
					     json_object_new_string("none"));
	json_object_object_add(o, "ech", pkt->hello ? json_object_new_boolean(pkt->ech) : NULL);
	return o;
}

int explain_print_json(const struct explain *e, const struct explain_pkt *pkt, FILE *out)
{
	json_object *doc = json_object_new_object(), *skipped = json_object_new_array();

	if (!doc || !skipped)
		return json_object_put(doc), json_object_put(skipped), -ENOMEM;
	json_object_object_add(doc, "packet", pkt_json(pkt));
	json_object_object_add(doc, "policy", e->file ? json_object_new_string(e->file) : NULL);
	json_object_object_add(doc, "hooked", json_object_new_boolean(e->hooked));
	for (size_t i = 0; i < e->n_skipped; i++)
		json_object_array_add(skipped, rule_json(&e->skipped[i], false));
	json_object_object_add(doc, "not_matched", skipped);
	json_object_object_add(doc, "reasons_known", json_object_new_boolean(!e->reasons_unknown));
	json_object_object_add(doc, "rule",
			       e->hooked && e->rule >= 0 ? rule_json(&e->decided, true) : NULL);
	json_object_object_add(doc, "default", json_object_new_boolean(e->hooked && e->rule < 0));
	json_object_object_add(doc, "verdict",
			       json_object_new_string(pol_action_names[e->verdict]));
	if (e->note)
		json_object_object_add(doc, "note", json_object_new_string(e->note));
	fprintf(out, "%s\n",
		json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY |
							    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(doc);
	return 0;
}
