// SPDX-License-Identifier: GPL-2.0
/*
 * `tlsfw check --json`: the diagnostics and a summary of the policy and its plan as one JSON
 * document (json-c), for programs, as `nft -j` is for nftables. The schema is in tlsfw(8).
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_json.h"
#include "tlsfw.h"

#define SCHEMA 1

static json_object *str_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

struct order {
	unsigned int line, col;
	size_t owner, rec; /* a note sorts with the record it follows */
};

static int order_cmp(const void *pa, const void *pb)
{
	const struct order *a = pa, *b = pb;

	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	if (a->col != b->col)
		return a->col < b->col ? -1 : 1;
	if (a->owner != b->owner)
		return a->owner < b->owner ? -1 : 1;
	return (a->rec > b->rec) - (a->rec < b->rec);
}

/* The records in the order tlsfw check prints them: by place, notes after their record. */
static json_object *diagnostics(const struct diag *d)
{
	static const char *const levels[] = { "error", "warning", "note" };
	json_object *a = json_object_new_array();
	struct order *ord = calloc(d->n + 1, sizeof(*ord));
	size_t owner = 0;

	if (!ord)
		return a;
	for (size_t i = 0; i < d->n; i++) {
		if (d->recs[i].level != DIAG_NOTE)
			owner = i;
		ord[i] =
			(struct order){ d->recs[owner].loc.line, d->recs[owner].loc.col, owner, i };
	}
	qsort(ord, d->n, sizeof(*ord), order_cmp);
	for (size_t k = 0; k < d->n; k++) {
		const struct diag_record *r = &d->recs[ord[k].rec];
		json_object *o = json_object_new_object();

		json_object_object_add(o, "level", json_object_new_string(levels[r->level]));
		json_object_object_add(o, "file", str_or_null(r->loc.file));
		json_object_object_add(o, "line",
				       r->loc.line ? json_object_new_int(r->loc.line) : NULL);
		json_object_object_add(
			o, "column",
			r->loc.line ? json_object_new_int(r->loc.col ? r->loc.col : 1) : NULL);
		json_object_object_add(
			o, "length",
			r->loc.line ? json_object_new_int(r->loc.len ? r->loc.len : 1) : NULL);
		json_object_object_add(o, "message", json_object_new_string(r->msg));
		json_object_array_add(a, o);
	}
	free(ord);
	return a;
}

static json_object *policy_json(const struct policy *p)
{
	static const char *const backends[] = { "bpf", "nft" };
	json_object *o = json_object_new_object();
	char hash[7 + 64 + 1] = "sha256:";

	for (int i = 0; i < 32; i++)
		snprintf(hash + 7 + 2 * i, 3, "%02x", p->sha256[i]);
	json_object_object_add(o, "file", str_or_null(p->file));
	json_object_object_add(o, "sha256", json_object_new_string(hash));
	json_object_object_add(o, "backend", json_object_new_string(backends[p->backend & 1]));
	json_object_object_add(o, "default",
			       json_object_new_string(pol_action_names[p->default_action % 3]));
	json_object_object_add(o, "fragments",
			       json_object_new_string(pol_frag_names[p->fragments % 3]));
	json_object_object_add(o, "malformed",
			       json_object_new_string(pol_action_names[p->malformed % 3]));
	return o;
}

static json_object *interfaces(const struct policy *p)
{
	static const char *const xdp[] = { "auto", "native", "generic" };
	json_object *a = json_object_new_array();

	for (size_t i = 0; i < p->n_ifaces; i++) {
		const struct pol_iface *f = &p->ifaces[i];
		json_object *o = json_object_new_object(), *hooks = json_object_new_array();

		if (f->hooks & POL_HOOK_INGRESS)
			json_object_array_add(hooks, json_object_new_string("ingress"));
		if (f->hooks & POL_HOOK_EGRESS)
			json_object_array_add(hooks, json_object_new_string("egress"));
		json_object_object_add(o, "name", json_object_new_string(f->name));
		json_object_object_add(o, "hooks", hooks);
		json_object_object_add(o, "xdp_mode", json_object_new_string(xdp[f->xdp_mode % 3]));
		json_object_object_add(o, "line", json_object_new_int(f->loc.line));
		json_object_array_add(a, o);
	}
	return a;
}

static json_object *rules(const struct policy *p)
{
	json_object *a = json_object_new_array();
	char match[512];

	for (size_t i = 0; i < p->n_rules; i++) {
		const struct pol_rule *r = &p->rules[i];
		json_object *o = json_object_new_object();

		json_object_object_add(o, "name", str_or_null(r->name));
		json_object_object_add(o, "action",
				       json_object_new_string(pol_action_names[r->action % 3]));
		json_object_object_add(o, "mode",
				       json_object_new_string(pol_mode_names[r->mode & 1]));
		json_object_object_add(o, "line", json_object_new_int(r->loc.line));
		json_object_object_add(
			o, "match",
			json_object_new_string(policy_rule_match(r, match, sizeof(match))));
		json_object_array_add(a, o);
	}
	return a;
}

static json_object *count(size_t n)
{
	return json_object_new_int64(n);
}

static json_object *bpf_json(const struct plan *pl)
{
	static const char *const fields[] = { "sport", "dport", "src", "dst" };
	json_object *o = json_object_new_object(), *f = json_object_new_array();
	json_object *cls = json_object_new_object(), *ent = json_object_new_object();

	for (unsigned int i = 0; i < 4; i++)
		if (pl->fields & (1u << i))
			json_object_array_add(f, json_object_new_string(fields[i]));
	json_object_object_add(o, "fields", f);
	json_object_object_add(cls, "proto", count(pl->n_proto_cls));
	json_object_object_add(cls, "sport", count(pl->n_sport_cls));
	json_object_object_add(cls, "dport", count(pl->n_dport_cls));
	json_object_object_add(cls, "src", count(pl->n_src_cls));
	json_object_object_add(cls, "dst", count(pl->n_dst_cls));
	json_object_object_add(cls, "ctx", count(pl->n_ctx_cls));
	json_object_object_add(cls, "A", count(pl->n_a_cls));
	json_object_object_add(cls, "B", count(pl->n_b_cls));
	json_object_object_add(o, "classes", cls);
	json_object_object_add(ent, "src", count(pl->n_src));
	json_object_object_add(ent, "dst", count(pl->n_dst));
	json_object_object_add(ent, "comb1", count(pl->n_comb1));
	json_object_object_add(ent, "comb2", count(pl->n_comb2));
	json_object_object_add(ent, "comb3", count(pl->n_comb3));
	json_object_object_add(o, "entries", ent);
	return o;
}

static json_object *nft_json(const struct plan *pl)
{
	json_object *o = json_object_new_object();
	size_t elems = 0;

	for (size_t i = 0; i < pl->nft.n_sets; i++)
		elems += pl->nft.sets[i].n;
	json_object_object_add(o, "table", json_object_new_string("inet tlsfw"));
	json_object_object_add(o, "chains", count(pl->nft.n_chains));
	json_object_object_add(o, "sets", count(pl->nft.n_sets));
	json_object_object_add(o, "elements", count(elems));
	json_object_object_add(o, "rules", count(pl->nft.n_rules));
	json_object_object_add(o, "counters", count(pl->nft.n_counters));
	return o;
}

static json_object *plan_json(const struct plan *pl)
{
	json_object *o;

	if (!pl->has_bpf && !pl->has_nft)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "rules", count(pl->n_rules));
	json_object_object_add(o, "probe_rules", count(pl->n_probe_rules));
	json_object_object_add(o, "bpf", pl->has_bpf ? bpf_json(pl) : NULL);
	json_object_object_add(o, "nft", pl->has_nft ? nft_json(pl) : NULL);
	return o;
}

int check_json_print(const struct compiled *c, const struct diag *d, int exit_status, FILE *out)
{
	json_object *doc = json_object_new_object(), *hdr = json_object_new_object();
	const bool read = c->pol.file && c->pol.version_loc.line;
	int ret;

	json_object_object_add(hdr, "tlsfw", json_object_new_string(TLSFW_VERSION));
	json_object_object_add(hdr, "schema", json_object_new_int(SCHEMA));
	json_object_object_add(hdr, "exit", json_object_new_int(exit_status));
	json_object_object_add(doc, "check", hdr);
	json_object_object_add(doc, "policy", read ? policy_json(&c->pol) : NULL);
	json_object_object_add(doc, "errors", json_object_new_int(d->errors + d->truncated));
	json_object_object_add(doc, "warnings", json_object_new_int(d->warnings));
	json_object_object_add(doc, "diagnostics", diagnostics(d));
	json_object_object_add(doc, "interfaces", interfaces(&c->pol));
	json_object_object_add(doc, "rules", rules(&c->pol));
	json_object_object_add(doc, "plan", exit_status ? NULL : plan_json(&c->plan));
	ret = fprintf(out, "%s\n",
		      json_object_to_json_string_ext(
			      doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE)) < 0;
	json_object_put(doc);
	return ret ? -EIO : 0;
}
