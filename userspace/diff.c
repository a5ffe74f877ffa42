// SPDX-License-Identifier: GPL-2.0
/*
 * The changes between two diff_sides, computed once into a JSON document (json-c) that is
 * either printed as it is (--json) or walked for the text form, so both say the same.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "diff.h"
#include "icmp_types.h"
#include "textsafe.h"

enum {
	F_PROTO,
	F_SERVICE,
	F_SPORT,
	F_DPORT,
	F_SRC,
	F_DST,
	F_FAMILY,
	F_DIRECTION,
	F_INTERFACE,
	F_ICMP_TYPE,
	F_PAYLOAD,
	F_REQUIRE,
	F_STATE,
	F_LOG,
	N_F
};
static const char *const field_names[N_F] = { "proto",	   "service",	"sport",   "dport",
					      "src",	   "dst",	"family",  "direction",
					      "interface", "icmp_type", "payload", "require",
					      "state",	   "log" };

/* ---- the two sides ------------------------------------------------------------------------ */

int diff_side_policy(struct diff_side *s, const struct policy *p)
{
	memset(s, 0, sizeof(*s));
	s->file = p->file;
	s->backend = p->backend == POL_BACKEND_NFT ? "nft" : "bpf";
	s->default_action = p->default_action;
	s->rules = calloc(p->n_rules + 1, sizeof(*s->rules));
	if (!s->rules)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_rules; i++) {
		struct diff_rule *d = &s->rules[s->n_rules++];

		snprintf(d->name, sizeof(d->name), "%s", p->rules[i].name ? p->rules[i].name : "");
		d->line = p->rules[i].name_loc.line ? p->rules[i].name_loc.line :
						      p->rules[i].loc.line;
		d->action = p->rules[i].action;
		d->monitor = p->rules[i].mode == POL_MONITOR;
		d->r = &p->rules[i];
	}
	for (size_t i = 0; i < p->n_ifaces && i < TLSFW_MAX_IFACES; i++) {
		snprintf(s->ifaces[i].name, IFNAMSIZ, "%s", p->ifaces[i].name);
		s->ifaces[i].hooks = p->ifaces[i].hooks;
		s->n_ifaces++;
	}
	return 0;
}

static int by_order(const void *a, const void *b)
{
	const struct tlsfw_rule_info *x = *(const struct tlsfw_rule_info *const *)a;
	const struct tlsfw_rule_info *y = *(const struct tlsfw_rule_info *const *)b;

	return (x->order > y->order) - (x->order < y->order);
}

int diff_side_records(struct diff_side *s, const struct state_meta *sm)
{
	const struct tlsfw_rule_info **v = calloc(TLSFW_MAX_RULES, sizeof(*v));
	unsigned int bit = 1u << sm->gen;
	size_t n = 0;

	memset(s, 0, sizeof(*s));
	s->file = sm->meta.policy_file;
	s->backend = "bpf";
	s->default_action = sm->meta.default_action;
	s->rules = calloc(TLSFW_MAX_RULES, sizeof(*s->rules));
	if (!v || !s->rules)
		return free(v), diff_side_free(s), -ENOMEM;
	for (size_t i = 0; i < TLSFW_MAX_RULES; i++)
		if (sm->rules[i].in_use & bit)
			v[n++] = &sm->rules[i];
	qsort(v, n, sizeof(*v), by_order);
	for (size_t i = 0; i < n; i++) {
		struct diff_rule *d = &s->rules[s->n_rules++];

		snprintf(d->name, sizeof(d->name), "%.*s", TLSFW_NAME_MAX - 1, v[i]->name);
		d->line = v[i]->line;
		d->action = v[i]->action;
		d->monitor = v[i]->monitor;
	}
	for (size_t i = 0; i < TLSFW_MAX_CTX; i++) {
		const struct tlsfw_ctx_info *c = &sm->ctxs[i];
		size_t k;

		if (!(c->in_use & bit))
			continue;
		for (k = 0; k < s->n_ifaces && strncmp(s->ifaces[k].name, c->ifname, 16); k++)
			;
		if (k == s->n_ifaces && k < TLSFW_MAX_IFACES)
			snprintf(s->ifaces[s->n_ifaces++].name, IFNAMSIZ, "%.15s", c->ifname);
		if (k < TLSFW_MAX_IFACES)
			s->ifaces[k].hooks |=
				c->dir == TLSFW_DIR_EGRESS ? POL_HOOK_EGRESS : POL_HOOK_INGRESS;
	}
	free(v);
	return 0;
}

void diff_side_free(struct diff_side *s)
{
	if (!s)
		return;
	free(s->rules);
	s->rules = NULL;
	s->n_rules = 0;
}

/* ---- fields as written ---------------------------------------------------------------------- */

static void add(char *buf, size_t len, const char *word)
{
	size_t n = strlen(buf);

	snprintf(buf + n, len - n, "%s%s", n ? "," : "", word);
}

/* icmp_type (by name where the type has one), payload, require, state, log: "" when absent */
static void field_content_str(const struct pol_rule *r, int f, char *buf, size_t len)
{
	char one[32];

	switch (f) {
	case F_ICMP_TYPE:
		for (size_t i = 0; i < r->icmp_types.n; i++) {
			const struct pol_icmp_type *t = &r->icmp_types.v[i];
			const char *nm = t->v4 >= 0 ? icmp_type_name(t->v4, false) :
						      icmp_type_name(t->v6, true);

			if (!nm)
				snprintf(one, sizeof(one), "%d", t->v4 >= 0 ? t->v4 : t->v6);
			add(buf, len, nm ? nm : one);
		}
		break;
	case F_PAYLOAD:
		snprintf(buf, len, "%s", r->payload_quic ? "quic" : "");
		break;
	case F_REQUIRE:
		snprintf(buf, len, "%s", r->require_tls ? "tls" : "");
		break;
	case F_STATE:
		for (unsigned int i = 0; i < POL_ST_COUNT; i++)
			if (r->state & (1u << i))
				add(buf, len, pol_state_names[i]);
		break;
	case F_LOG:
		if (r->log_rate)
			snprintf(buf, len, "%u/s", r->log_rate);
		else
			snprintf(buf, len, "false");
		break;
	}
}

static void field_str(const struct pol_rule *r, int f, char *buf, size_t len)
{
	const struct pol_ports *pp = f == F_SPORT ? &r->sport : &r->dport;
	const struct pol_prefixes *px = f == F_SRC ? &r->src : &r->dst;
	const struct pol_names *nn = f == F_SERVICE ? &r->services : &r->ifaces;
	char one[64];

	buf[0] = '\0';
	switch (f) {
	case F_PROTO:
		for (unsigned int p = 0; r->has_proto && p < 256; p++) {
			if (!(r->protos[p / 8] >> (p % 8) & 1))
				continue;
			snprintf(one, sizeof(one), "%s",
				 p == 6	 ? "tcp" :
				 p == 17 ? "udp" :
				 p == 1	 ? "icmp" :
				 p == 58 ? "icmpv6" :
					   "");
			if (!one[0])
				snprintf(one, sizeof(one), "%u", p);
			add(buf, len, one);
		}
		break;
	case F_SPORT:
	case F_DPORT:
		for (size_t i = 0; (f == F_SPORT ? r->has_sport : r->has_dport) && i < pp->n; i++) {
			if (pp->r[i].lo == pp->r[i].hi)
				snprintf(one, sizeof(one), "%u", pp->r[i].lo);
			else
				snprintf(one, sizeof(one), "%u-%u", pp->r[i].lo, pp->r[i].hi);
			add(buf, len, one);
		}
		break;
	case F_SRC:
	case F_DST:
		for (size_t i = 0; (f == F_SRC ? r->has_src : r->has_dst) && i < px->n; i++)
			add(buf, len, pol_prefix_str(&px->p[i], one, sizeof(one)));
		break;
	case F_SERVICE:
	case F_INTERFACE:
		for (size_t i = 0; i < nn->n; i++)
			add(buf, len, nn->v[i]);
		break;
	case F_FAMILY:
		snprintf(buf, len, "%s",
			 r->family == POL_FAM_V4 ? "ipv4" :
			 r->family == POL_FAM_V6 ? "ipv6" :
						   "");
		break;
	case F_DIRECTION:
		snprintf(buf, len, "%s",
			 r->direction == POL_DIR_INGRESS ? "ingress" :
			 r->direction == POL_DIR_EGRESS	 ? "egress" :
							   "");
		break;
	default:
		field_content_str(r, f, buf, len);
		break;
	}
	if (!buf[0])
		snprintf(buf, len, "any");
}

/* ---- the changes -------------------------------------------------------------------------- */

static long find(const struct diff_side *s, const char *name)
{
	for (size_t i = 0; i < s->n_rules; i++)
		if (!strcmp(s->rules[i].name, name))
			return i;
	return -1;
}

static json_object *str(const char *s)
{
	return json_object_new_string(s);
}

static json_object *rule_ref(const struct diff_rule *r)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "name", str(r->name));
	json_object_object_add(o, "line", json_object_new_int(r->line));
	return o;
}

static void change(json_object *fields, const char *field, const char *old, const char *new)
{
	json_object *c = json_object_new_object();

	json_object_object_add(c, "field", str(field));
	json_object_object_add(c, "old", str(old));
	json_object_object_add(c, "new", str(new));
	json_object_array_add(fields, c);
}

/* Rank of rule i of s among the rules both sides have. */
static size_t common_rank(const struct diff_side *s, const struct diff_side *other, size_t i)
{
	size_t rank = 0;

	for (size_t k = 0; k < i; k++)
		rank += find(other, s->rules[k].name) >= 0;
	return rank;
}

/* The fields of a rule both sides have that differ, or NULL when none. */
static json_object *rule_changes(const struct diff_side *old, const struct diff_side *new,
				 size_t ni, size_t oi)
{
	const struct diff_rule *o = &old->rules[oi], *n = &new->rules[ni];
	json_object *fields = json_object_new_array();
	char a[512], b[512];

	if (o->action != n->action)
		change(fields, "action", pol_action_names[o->action], pol_action_names[n->action]);
	if (o->monitor != n->monitor)
		change(fields, "mode", pol_mode_names[o->monitor], pol_mode_names[n->monitor]);
	for (int f = 0; o->r && n->r && f < N_F; f++) {
		field_str(o->r, f, a, sizeof(a));
		field_str(n->r, f, b, sizeof(b));
		if (strcmp(a, b))
			change(fields, field_names[f], a, b);
	}
	/* first match decides: a rule that moved past another changes what it decides */
	if (common_rank(old, new, oi) != common_rank(new, old, ni)) {
		snprintf(a, sizeof(a), "%zu", common_rank(old, new, oi) + 1);
		snprintf(b, sizeof(b), "%zu", common_rank(new, old, ni) + 1);
		change(fields, "position", a, b);
	}
	if (!json_object_array_length(fields)) {
		json_object_put(fields);
		return NULL;
	}
	return fields;
}

static json_object *hooks_str(unsigned int hooks)
{
	return str(hooks == (POL_HOOK_INGRESS | POL_HOOK_EGRESS) ? "ingress,egress" :
		   hooks & POL_HOOK_EGRESS			 ? "egress" :
								   "ingress");
}

static json_object *iface_changes(const struct diff_side *old, const struct diff_side *new)
{
	json_object *o = json_object_new_array();

	for (int side = 0; side < 2; side++) {
		const struct diff_side *s = side ? new : old, *t = side ? old : new;

		for (size_t i = 0; i < s->n_ifaces; i++) {
			json_object *c;
			size_t k;

			for (k = 0; k < t->n_ifaces && strcmp(t->ifaces[k].name, s->ifaces[i].name);
			     k++)
				;
			if (k < t->n_ifaces && (side || t->ifaces[k].hooks == s->ifaces[i].hooks))
				continue;
			c = json_object_new_object();
			json_object_object_add(c, "name", str(s->ifaces[i].name));
			json_object_object_add(c, "change",
					       str(k < t->n_ifaces ? "hooks" :
						   side		   ? "added" :
								     "removed"));
			json_object_object_add(c, "old",
					       side ? NULL : hooks_str(s->ifaces[i].hooks));
			json_object_object_add(c, "new",
					       k < t->n_ifaces ? hooks_str(t->ifaces[k].hooks) :
					       side	       ? hooks_str(s->ifaces[i].hooks) :
								 NULL);
			json_object_array_add(o, c);
		}
	}
	return o;
}

static json_object *rule_lists(const struct diff_side *old, const struct diff_side *new,
			       json_object *counters)
{
	json_object *r = json_object_new_object(), *added = json_object_new_array(),
		    *removed = json_object_new_array(), *changed = json_object_new_array(),
		    *kept = json_object_new_array(), *reset = json_object_new_array(),
		    *released = json_object_new_array();
	size_t same = 0;

	for (size_t i = 0; i < new->n_rules; i++) {
		long k = find(old, new->rules[i].name);
		json_object *f = k < 0 ? NULL : rule_changes(old, new, i, k), *c;

		json_object_array_add(k < 0 ? reset : kept, str(new->rules[i].name));
		if (k < 0) {
			json_object_array_add(added, rule_ref(&new->rules[i]));
		} else if (f) {
			c = rule_ref(&new->rules[i]);
			json_object_object_add(c, "old_line",
					       json_object_new_int(old->rules[k].line));
			json_object_object_add(c, "fields", f);
			json_object_array_add(changed, c);
		} else {
			same++;
		}
	}
	for (size_t i = 0; i < old->n_rules; i++) {
		if (find(new, old->rules[i].name) >= 0)
			continue;
		json_object_array_add(removed, rule_ref(&old->rules[i]));
		json_object_array_add(released, str(old->rules[i].name));
	}
	json_object_object_add(r, "added", added);
	json_object_object_add(r, "removed", removed);
	json_object_object_add(r, "changed", changed);
	json_object_object_add(r, "unchanged", json_object_new_int(same));
	json_object_object_add(counters, "kept", kept);
	json_object_object_add(counters, "reset", reset);
	json_object_object_add(counters, "released", released);
	return r;
}

static json_object *diff_doc(const struct diff_side *old, const struct diff_side *new)
{
	json_object *doc = json_object_new_object(), *against = json_object_new_object(),
		    *counters = json_object_new_object(), *def = NULL;

	json_object_object_add(against, "file", str(old->file ? old->file : ""));
	json_object_object_add(against, "backend", str(old->backend));
	json_object_object_add(against, "fields_known", json_object_new_boolean(!old->note));
	if (old->note)
		json_object_object_add(against, "note", str(old->note));
	json_object_object_add(doc, "enforced", against);
	json_object_object_add(doc, "policy", str(new->file ? new->file : ""));
	if (old->default_action != new->default_action) {
		def = json_object_new_object();
		json_object_object_add(def, "old", str(pol_action_names[old->default_action]));
		json_object_object_add(def, "new", str(pol_action_names[new->default_action]));
	}
	json_object_object_add(doc, "default", def);
	json_object_object_add(doc, "backend",
			       strcmp(old->backend, new->backend) ? str(new->backend) : NULL);
	json_object_object_add(doc, "interfaces", iface_changes(old, new));
	json_object_object_add(doc, "rules", rule_lists(old, new, counters));
	json_object_object_add(doc, "counters", counters);
	return doc;
}

/* ---- text --------------------------------------------------------------------------------- */

static const char *get(json_object *o, const char *key)
{
	json_object *v = json_object_object_get(o, key);

	return v ? json_object_get_string(v) : "";
}

static void names_line(FILE *out, const char *what, json_object *list)
{
	size_t n = json_object_array_length(list);

	fprintf(out, "%s%s %zu", what, n ? ":" : "", n);
	for (size_t i = 0; i < n && i < 20; i++)
		fprintf(out, "%s%s", i ? ", " : " (",
			json_object_get_string(json_object_array_get_idx(list, i)));
	fprintf(out, "%s", n > 20 ? ", ...)" : n ? ")" : "");
}

static void print_rules(json_object *rules, FILE *out)
{
	json_object *v;

	v = json_object_object_get(rules, "added");
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		json_object *r = json_object_array_get_idx(v, i);

		fprintf(out, "+ rule '%s' at line %s\n", get(r, "name"), get(r, "line"));
	}
	v = json_object_object_get(rules, "removed");
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		json_object *r = json_object_array_get_idx(v, i);

		fprintf(out, "- rule '%s' (was at line %s)\n", get(r, "name"), get(r, "line"));
	}
	v = json_object_object_get(rules, "changed");
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		json_object *r = json_object_array_get_idx(v, i),
			    *f = json_object_object_get(r, "fields");

		fprintf(out, "~ rule '%s' at line %s:", get(r, "name"), get(r, "line"));
		for (size_t k = 0; k < json_object_array_length(f); k++) {
			json_object *c = json_object_array_get_idx(f, k);

			fprintf(out, "%s %s %s -> %s", k ? ";" : "", get(c, "field"), get(c, "old"),
				get(c, "new"));
		}
		fputc('\n', out);
	}
	fprintf(out, "  %s rules unchanged\n", get(rules, "unchanged"));
}

static void print_text(json_object *doc, FILE *out)
{
	json_object *en = json_object_object_get(doc, "enforced"), *def, *v, *c;
	char safe[TEXTSAFE_LEN(TLSFW_PATH_MAX)];

	fprintf(out, "enforced  %s (backend %s)\n", textsafe(get(en, "file"), safe, sizeof(safe)),
		get(en, "backend"));
	if (json_object_object_get(en, "note"))
		fprintf(out, "          only names, actions and modes are compared: %s\n",
			get(en, "note"));
	fprintf(out, "policy    %s\n", textsafe(get(doc, "policy"), safe, sizeof(safe)));
	if ((def = json_object_object_get(doc, "default")))
		fprintf(out, "default   %s -> %s\n", get(def, "old"), get(def, "new"));
	if (json_object_object_get(doc, "backend"))
		fprintf(out,
			"backend   -> %s (apply refuses while the other backend is in force: detach first)\n",
			get(doc, "backend"));
	v = json_object_object_get(doc, "interfaces");
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		json_object *f = json_object_array_get_idx(v, i);

		if (!strcmp(get(f, "change"), "hooks"))
			fprintf(out, "interface %s hooks %s -> %s\n", get(f, "name"), get(f, "old"),
				get(f, "new"));
		else
			fprintf(out, "interface %s %s (%s)\n", get(f, "name"), get(f, "change"),
				json_object_object_get(f, "new") ? get(f, "new") : get(f, "old"));
	}
	print_rules(json_object_object_get(doc, "rules"), out);
	c = json_object_object_get(doc, "counters");
	names_line(out, "counters  kept", json_object_object_get(c, "kept"));
	names_line(out, "; start at zero", json_object_object_get(c, "reset"));
	names_line(out, "; released", json_object_object_get(c, "released"));
	fputc('\n', out);
}

int diff_print(const struct diff_side *old, const struct diff_side *new, bool json, FILE *out)
{
	json_object *doc = diff_doc(old, new);

	if (!doc)
		return -ENOMEM;
	if (json)
		fprintf(out, "%s\n",
			json_object_to_json_string_ext(
				doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	else
		print_text(doc, out);
	json_object_put(doc);
	return 0;
}
