// SPDX-License-Identifier: GPL-2.0
/*
 * Stage 1: YAML text -> struct policy. yaml_tree.c composes libyaml's events into a tree of
 * nodes with their locations; this file walks it key by key. Values that the model cannot
 * hold (an unknown action, port 70000, a malformed address) are diagnosed here; everything
 * that needs the whole policy is left to policy_check.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "../bpf/tlsfw_content_abi.h"
#include "catalog.h"
#include "policy.h"
#include "policy_hash.h"
#include "policy_read.h"
#include "yaml_tree.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
/* ---- helpers over the tree ---------------------------------------------------------------- */

const char *rd_type_name(const struct ynode *n)
{
	return n->type == Y_SEQ ? "a list" : n->type == Y_MAP ? "a mapping" : "a single value";
}

/* A single value is expected: say so for a list or a mapping. */
int rd_want_scalar(struct reader *rd, const char *key, const struct ynode *v)
{
	if (v->type == Y_SCALAR)
		return 1;
	diag_error(rd->d, &v->loc, "'%s' takes a single value, not %s", key, rd_type_name(v));
	return 0;
}

/* Join candidate names for a message: "allow, drop or reject". */
static void join_names(char *buf, size_t len, const char *const *names, size_t n)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && used < len; i++) {
		int r = snprintf(buf + used, len - used, "%s%s",
				 i == 0	    ? "" :
				 i + 1 == n ? " or " :
					      ", ",
				 names[i]);
		if (r < 0)
			break;
		used += r;
	}
}

/* One of names[]; -1 after a diagnostic. what names the thing in the message: "action",
 * or "key:what" when the key and the thing differ ("default:default verdict"). */
int rd_enum(struct reader *rd, const char *what, const struct ynode *v, const char *const *names,
	    size_t n)
{
	const char *hint, *colon = strchr(what, ':');
	char list[256], key[32];

	/* the key only for the message (formatted for every value, it cost 600 instructions a rule) */
	if (v->type != Y_SCALAR) {
		snprintf(key, sizeof(key), "%.*s", colon ? (int)(colon - what) : (int)strlen(what),
			 what);
		rd_want_scalar(rd, key, v); /* says what it is instead */
		return -1;
	}
	if (colon)
		what = colon + 1;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v->val, names[i]))
			return i;
	hint = did_you_mean(v->val, names, n);
	if (hint) {
		diag_error(rd->d, &v->loc, "unknown %s '%s' (did you mean '%s'?)", what, v->val,
			   hint);
	} else {
		join_names(list, sizeof(list), names, n);
		diag_error(rd->d, &v->loc, "unknown %s '%s' (expected %s)", what, v->val, list);
	}
	return -1;
}

char *rd_strdup(struct reader *rd, const char *s)
{
	char *c = strdup(s);

	if (!c)
		diag_error(rd->d, NULL, "out of memory");
	return c;
}

/*
 * Walk a mapping: duplicate, unknown and value-less keys are diagnosed here, known keys go to
 * their handler. what names the mapping in messages ("a rule").
 */
static void read_map(struct reader *rd, const struct ynode *map, const char *what,
		     const struct keydef *keys, size_t nkeys, void *obj)
{
	/* the key names, for "did you mean" and the list of valid keys: as many as there are */
	const char *names[nkeys ? nkeys : 1];

	for (size_t i = 0; i < nkeys; i++)
		names[i] = keys[i].name;
	for (size_t i = 0; i + 1 < map->n; i += 2) {
		const struct ynode *k = map->kids[i], *v = map->kids[i + 1];
		const struct keydef *def = NULL;
		int dup = 0;

		if (k->type != Y_SCALAR) {
			diag_error(rd->d, &k->loc, "a key in %s must be a word, not %s", what,
				   rd_type_name(k));
			continue;
		}
		for (size_t j = 0; j < i && !dup; j += 2) {
			const struct ynode *prev = map->kids[j];

			if (prev->type == Y_SCALAR && !strcmp(prev->val, k->val)) {
				diag_error(rd->d, &k->loc,
					   "duplicate key '%s' in %s (first at line %u)", k->val,
					   what, prev->loc.line);
				dup = 1;
			}
		}
		if (dup)
			continue;
		/* key names are unique; the first letter first (4,096 rules: 650,000 calls) */
		for (size_t j = 0; j < nkeys && !def; j++)
			if (keys[j].name[0] == k->val[0] && !strcmp(keys[j].name, k->val))
				def = &keys[j];
		if (!def) {
			const char *hint = did_you_mean(k->val, names, nkeys);
			char list[256];

			if (hint) {
				diag_error(rd->d, &k->loc,
					   "unknown key '%s' in %s (did you mean '%s'?)", k->val,
					   what, hint);
			} else {
				join_names(list, sizeof(list), names, nkeys);
				diag_error(rd->d, &k->loc, "unknown key '%s' in %s (expected %s)",
					   k->val, what, list);
			}
			continue;
		}
		if (v->diagnosed)
			continue;
		if (ynode_is_null(v)) {
			diag_error(rd->d, &k->loc, "'%s' has no value", k->val);
			continue;
		}
		def->fn(rd, obj, k, v);
	}
}

/* Call fn for a single value or for each item of a list of single values. */
int rd_for_each_item(struct reader *rd, const char *key, const struct ynode *v,
		     int (*fn)(struct reader *rd, void *obj, const struct ynode *item), void *obj)
{
	int ok = 1;

	if (v->type == Y_MAP) {
		diag_error(rd->d, &v->loc, "'%s' takes a value or a list, not a mapping", key);
		return 0;
	}
	if (v->type == Y_SCALAR)
		return fn(rd, obj, v);
	if (!v->n) {
		diag_error(rd->d, &v->loc, "'%s' is an empty list", key);
		return 0;
	}
	for (size_t i = 0; i < v->n; i++) {
		if (v->kids[i]->diagnosed) {
			ok = 0;
			continue;
		}
		if (v->kids[i]->type != Y_SCALAR) {
			diag_error(rd->d, &v->kids[i]->loc,
				   "items of '%s' must be single values, not %s", key,
				   rd_type_name(v->kids[i]));
			ok = 0;
			continue;
		}
		if (ynode_is_null(v->kids[i])) {
			diag_error(rd->d, &v->kids[i]->loc, "empty item in '%s'", key);
			ok = 0;
			continue;
		}
		if (!fn(rd, obj, v->kids[i]))
			ok = 0;
	}
	return ok;
}

/* ---- interfaces ----------------------------------------------------------------------------- */

static void iface_name(struct reader *rd, void *obj, const struct ynode *k, const struct ynode *v)
{
	struct pol_iface *f = obj;

	if (!rd_want_scalar(rd, "name", v))
		return;
	f->loc = v->loc;
	if (!v->len) {
		diag_error(rd->d, &v->loc, "interface name is empty");
		return;
	}
	if (v->len >= IFNAMSIZ) {
		diag_error(rd->d, &v->loc,
			   "interface name '%s' is too long (at most %d characters)", v->val,
			   IFNAMSIZ - 1);
		return;
	}
	memcpy(f->name, v->val, v->len + 1);
	if (strlen(f->name) != v->len)
		f->name[0] = '/'; /* an embedded NUL: let check call it invalid */
}

static int add_hook(struct reader *rd, void *obj, const struct ynode *item)
{
	static const char *const names[] = { "ingress", "egress" };
	struct pol_iface *f = obj;
	int i = rd_enum(rd, "hook", item, names, 2);

	if (i < 0)
		return 0;
	f->hooks |= i == 0 ? POL_HOOK_INGRESS : POL_HOOK_EGRESS;
	return 1;
}

static void iface_hooks(struct reader *rd, void *obj, const struct ynode *k, const struct ynode *v)
{
	struct pol_iface *f = obj;

	f->hooks_loc = v->loc;
	f->hooks = 0;
	if (!rd_for_each_item(rd, "hooks", v, add_hook, f) || !f->hooks)
		f->hooks = POL_HOOK_INGRESS; /* diagnosed */
}

static void iface_xdp_mode(struct reader *rd, void *obj, const struct ynode *k,
			   const struct ynode *v)
{
	static const char *const names[] = { "auto", "native", "generic" };
	struct pol_iface *f = obj;
	int i = rd_enum(rd, "xdp_mode", v, names, 3);

	f->xdp_mode_loc = v->loc;
	if (i >= 0)
		f->xdp_mode = i;
}

static const struct keydef iface_keys[] = {
	{ "name", iface_name },
	{ "hooks", iface_hooks },
	{ "xdp_mode", iface_xdp_mode },
};

/* ---- probes --------------------------------------------------------------------------------- */

static void probe_str(struct reader *rd, const char *key, const struct ynode *v, char **out,
		      struct loc *loc)
{
	if (!rd_want_scalar(rd, key, v))
		return;
	free(*out);
	*out = rd_strdup(rd, v->val);
	*loc = v->loc;
}

static void probe_name(struct reader *rd, void *obj, const struct ynode *k, const struct ynode *v)
{
	struct pol_probe *pr = obj;

	probe_str(rd, "name", v, &pr->name, &pr->name_loc);
}

static void probe_target(struct reader *rd, void *obj, const struct ynode *k, const struct ynode *v)
{
	struct pol_probe *pr = obj;

	probe_str(rd, "target", v, &pr->target, &pr->target_loc);
}

static void probe_domain(struct reader *rd, void *obj, const struct ynode *k, const struct ynode *v)
{
	struct pol_probe *pr = obj;

	probe_str(rd, "domain", v, &pr->domain, &pr->domain_loc);
}

static void probe_trust_anchor(struct reader *rd, void *obj, const struct ynode *k,
			       const struct ynode *v)
{
	struct pol_probe *pr = obj;

	probe_str(rd, "trust_anchor", v, &pr->trust_anchor, &pr->trust_anchor_loc);
}

static void probe_starttls(struct reader *rd, void *obj, const struct ynode *k,
			   const struct ynode *v)
{
	struct pol_probe *pr = obj;

	probe_str(rd, "starttls", v, &pr->starttls, &pr->starttls_loc);
}

static void probe_min_tls(struct reader *rd, void *obj, const struct ynode *k,
			  const struct ynode *v)
{
	struct pol_probe *pr = obj;

	probe_str(rd, "min_tls", v, &pr->min_tls, &pr->min_tls_loc);
}

static void probe_verify(struct reader *rd, void *obj, const struct ynode *k, const struct ynode *v)
{
	static const char *const names[] = { "false", "true" };
	struct pol_probe *pr = obj;
	int i = rd_enum(rd, "verify:verify value", v, names, 2);

	pr->verify_loc = v->loc;
	if (i >= 0)
		pr->verify = i;
}

static void probe_on_fail(struct reader *rd, void *obj, const struct ynode *k,
			  const struct ynode *v)
{
	static const char *const names[] = { "warn", "block" };
	struct pol_probe *pr = obj;
	int i = rd_enum(rd, "on_fail:on_fail value", v, names, 2);

	pr->on_fail_loc = v->loc;
	if (i >= 0)
		pr->on_fail_block = i;
}

static const struct keydef probe_keys[] = {
	{ "name", probe_name },	      { "target", probe_target },
	{ "domain", probe_domain },   { "starttls", probe_starttls },
	{ "min_tls", probe_min_tls }, { "verify", probe_verify },
	{ "on_fail", probe_on_fail }, { "trust_anchor", probe_trust_anchor },
};

/* ---- top level ------------------------------------------------------------------------------ */

/*
 * A list of mappings (interfaces, rules, probes): each item is read with its keys, then the
 * keys it cannot do without are asked for.
 */
struct list_def {
	const char *key;  /* "rules" */
	const char *what; /* "rule" */
	size_t size;	  /* of one element */
	const struct keydef *keys;
	size_t nkeys;
	const char *const *required; /* NULL-terminated */
	void (*init)(void *elem, const struct loc *loc);
};

static const struct ynode *map_get(const struct ynode *map, const char *key)
{
	for (size_t i = 0; i + 1 < map->n; i += 2)
		if (map->kids[i]->type == Y_SCALAR && !strcmp(map->kids[i]->val, key))
			return map->kids[i + 1];
	return NULL;
}

static void require_keys(struct reader *rd, const struct list_def *ld, const struct ynode *item)
{
	const struct ynode *name = map_get(item, "name");

	for (const char *const *req = ld->required; *req; req++) {
		if (map_get(item, *req))
			continue;
		if (name && name->type == Y_SCALAR && !ynode_is_null(name))
			diag_error(rd->d, &item->loc, "missing key '%s' in %s '%s'", *req, ld->what,
				   name->val);
		else
			diag_error(rd->d, &item->loc, "missing key '%s' in %s %s", *req,
				   strchr("aeiou", ld->what[0]) ? "an" : "a", ld->what);
	}
}

static void *read_list(struct reader *rd, const struct list_def *ld, const struct ynode *v,
		       size_t *n)
{
	const char *key = ld->key, *what = ld->what;
	size_t size = ld->size;
	char *arr, where[32];

	*n = 0;
	if (v->type != Y_SEQ) {
		diag_error(rd->d, &v->loc,
			   "'%s' must be a list of %ss (each item starting with '- name:'), not %s",
			   key, what, rd_type_name(v));
		return NULL;
	}
	arr = calloc(v->n ? v->n : 1, size);
	if (!arr) {
		diag_error(rd->d, &v->loc, "out of memory");
		return NULL;
	}
	snprintf(where, sizeof(where), "%s %s", strchr("aeiou", what[0]) ? "an" : "a", what);
	for (size_t i = 0; i < v->n; i++) {
		const struct ynode *item = v->kids[i];
		void *elem = arr + *n * size;

		if (item->type != Y_MAP) {
			if (!item->diagnosed) /* an alias: said once */
				diag_error(
					rd->d, &item->loc,
					"each item of '%s' must be a mapping (name: ...), not %s",
					key, rd_type_name(item));
			continue;
		}
		ld->init(elem, &item->loc);
		read_map(rd, item, where, ld->keys, ld->nkeys, elem);
		require_keys(rd, ld, item);
		(*n)++;
	}
	return arr;
}

static void init_iface(void *elem, const struct loc *loc)
{
	struct pol_iface *f = elem;

	f->hooks = POL_HOOK_INGRESS;
	f->xdp_mode = POL_XDP_AUTO;
	f->loc = *loc;
}

static void init_rule(void *elem, const struct loc *loc)
{
	struct pol_rule *r = elem;

	r->loc = *loc;
	r->action = POL_DROP; /* never used: a rule without action is an error */
	r->mode = POL_ENFORCE;
}

static void init_probe(void *elem, const struct loc *loc)
{
	struct pol_probe *pr = elem;

	pr->loc = *loc;
	pr->verify = true;
}

static void top_version(struct reader *rd, void *obj, const struct ynode *k, const struct ynode *v)
{
	struct policy *p = obj;
	long num;

	p->version_loc = v->loc;
	if (!rd_want_scalar(rd, "version", v)) {
		p->version = 1;
		return;
	}
	num = rd_num(v->val, v->len);
	p->version = 1; /* anything else is diagnosed here: keep check quiet */
	if (num == 1)
		return;
	/* the text as written: a number too large for a word is still not 1 */
	if (strspn(v->val, "0123456789") == v->len)
		diag_error(rd->d, &v->loc, "unsupported version %s: this tlsfw reads version 1",
			   v->val);
	else if (strspn(v->val, "0123456789.+-eE") == v->len)
		diag_error(
			rd->d, &v->loc,
			"unsupported version %s: versions are whole numbers; this tlsfw reads 'version: 1'",
			v->val);
	else
		diag_error(rd->d, &v->loc,
			   "version must be a number: this tlsfw reads 'version: 1'");
}

static void top_backend(struct reader *rd, void *obj, const struct ynode *k, const struct ynode *v)
{
	static const char *const names[] = { "bpf", "nft" };
	struct policy *p = obj;
	int i = rd_enum(rd, "backend", v, names, 2);

	p->backend_loc = v->loc;
	if (i >= 0)
		p->backend = i;
}

static void top_interfaces(struct reader *rd, void *obj, const struct ynode *k,
			   const struct ynode *v)
{
	struct policy *p = obj;

	p->ifaces_loc = v->loc;
	static const char *const required[] = { "name", NULL };
	static const struct list_def ld = { "interfaces",
					    "interface",
					    sizeof(struct pol_iface),
					    iface_keys,
					    ARRAY_SIZE(iface_keys),
					    required,
					    init_iface };

	p->ifaces = read_list(rd, &ld, v, &p->n_ifaces);
}

static void top_default(struct reader *rd, void *obj, const struct ynode *k, const struct ynode *v)
{
	static const char *const names[] = { "allow", "drop" };
	struct policy *p = obj;
	int i = rd_enum(rd, "default:default verdict", v, names, 2);

	p->default_loc = v->loc;
	if (i >= 0)
		p->default_action = i == 0 ? POL_ALLOW : POL_DROP;
}

static void top_fragments(struct reader *rd, void *obj, const struct ynode *k,
			  const struct ynode *v)
{
	struct policy *p = obj;
	int i = rd_enum(rd, "fragments:fragments mode", v, pol_frag_names, 3);

	p->fragments_loc = v->loc;
	if (i >= 0)
		p->fragments = i;
}

static void top_malformed(struct reader *rd, void *obj, const struct ynode *k,
			  const struct ynode *v)
{
	static const char *const names[] = { "allow", "drop" };
	struct policy *p = obj;
	int i = rd_enum(rd, "malformed:malformed verdict", v, names, 2);

	p->malformed_loc = v->loc;
	if (i >= 0)
		p->malformed = i == 0 ? POL_ALLOW : POL_DROP;
}

static void top_sni_unordered(struct reader *rd, void *obj, const struct ynode *k,
			      const struct ynode *v)
{
	static const char *const names[] = { "allow", "drop" };
	struct policy *p = obj;
	int i = rd_enum(rd, "sni_unordered:verdict", v, names, 2);

	p->sni_unordered_loc = v->loc;
	if (i >= 0)
		p->sni_unordered = i == 0 ? POL_ALLOW : POL_DROP;
}

static void top_midstream(struct reader *rd, void *obj, const struct ynode *k,
			  const struct ynode *v)
{
	static const char *const names[] = { "allow", "drop" };
	struct policy *p = obj;
	int i = rd_enum(rd, "midstream:midstream verdict", v, names, 2);

	p->midstream_loc = v->loc;
	if (i >= 0)
		p->midstream = i == 0 ? POL_ALLOW : POL_DROP;
}

/* flows: the flow table's entries (TLSFW_FLOWS_MIN..TLSFW_FLOWS_MAX). */
static void top_flows(struct reader *rd, void *obj, const struct ynode *k, const struct ynode *v)
{
	struct policy *p = obj;
	long num;

	p->flows_loc = v->loc;
	if (!rd_want_scalar(rd, "flows", v))
		return;
	num = rd_num(v->val, v->len);
	if (num < TLSFW_FLOWS_MIN || num > TLSFW_FLOWS_MAX) {
		diag_error(
			rd->d, &v->loc,
			"flows must be a whole number from %u to %u (the flow table's entries; default %u)",
			TLSFW_FLOWS_MIN, TLSFW_FLOWS_MAX, TLSFW_FLOWS_DEFAULT);
		return;
	}
	p->flows = num;
}

static void top_essentials(struct reader *rd, void *obj, const struct ynode *k,
			   const struct ynode *v)
{
	static const char *const names[] = { "allow", "drop" };
	struct policy *p = obj;
	int i = rd_enum(rd, "essentials:essentials verdict", v, names, 2);

	p->essentials_loc = v->loc;
	if (i >= 0)
		p->essentials = i == 0 ? POL_ALLOW : POL_DROP;
}

static void top_rules(struct reader *rd, void *obj, const struct ynode *k, const struct ynode *v)
{
	struct policy *p = obj;

	static const char *const required[] = { "name", "action", NULL };
	const struct list_def ld = { "rules",	"rule",	     sizeof(struct pol_rule),
				     rule_keys, n_rule_keys, required,
				     init_rule };

	p->rules_loc = v->loc;
	p->rules = read_list(rd, &ld, v, &p->n_rules);
}

static void top_probes(struct reader *rd, void *obj, const struct ynode *k, const struct ynode *v)
{
	struct policy *p = obj;

	/* target or domain: policy_check says which is missing */
	static const char *const required[] = { "name", NULL };
	static const struct list_def ld = {
		"probes", "probe",   sizeof(struct pol_probe), probe_keys, ARRAY_SIZE(probe_keys),
		required, init_probe
	};

	p->probes = read_list(rd, &ld, v, &p->n_probes);
}

static const struct keydef top_keys[] = {
	{ "version", top_version },	  { "backend", top_backend },
	{ "interfaces", top_interfaces }, { "default", top_default },
	{ "fragments", top_fragments },	  { "malformed", top_malformed },
	{ "rules", top_rules },		  { "probes", top_probes },
	{ "midstream", top_midstream },	  { "flows", top_flows },
	{ "essentials", top_essentials }, { "sni_unordered", top_sni_unordered },
};

/* ---- entry points --------------------------------------------------------------------------- */

static void policy_init(struct policy *p, const char *file)
{
	memset(p, 0, sizeof(*p));
	p->file = file;
	p->default_action = POL_ALLOW;
	p->fragments = POL_FRAG_FOLLOW;
	p->malformed = POL_DROP;
	p->backend = POL_BACKEND_BPF;
	p->sni_unordered = POL_ALLOW;
}

int policy_read_mem(struct policy *out, const char *name, const char *buf, size_t len,
		    struct diag *d)
{
	struct reader rd = { .d = d, .p = out };
	struct ytree t;
	int err;

	rd.file = diag_intern_file(d, name, buf, len);
	policy_init(out, rd.file);
	if (!rd.file)
		return -ENOMEM;
	policy_hash(buf, len, out->sha256);
	err = ytree_load(&t, rd.file, buf, len, d);
	if (!err && (!t.root || ynode_is_null(t.root))) {
		struct loc l = { .file = rd.file };

		diag_error(d, &l, "the policy is empty: start it with 'version: 1'");
		err = -ENODATA;
	} else if (!err && t.root->type != Y_MAP) {
		diag_error(
			d, &t.root->loc,
			"a policy is a mapping of keys (version:, interfaces:, rules:, ...), not %s",
			rd_type_name(t.root));
		err = -ENODATA;
	}
	if (!err)
		read_map(&rd, t.root, "the policy", top_keys, ARRAY_SIZE(top_keys), out);
	ytree_free(&t);
	return err;
}

int policy_read_file(struct policy *out, const char *path, struct diag *d)
{
	const char *name = strcmp(path, "-") ? path : "<stdin>";
	char *buf = NULL, why[160];
	size_t len = 0;
	int err = policy_file_bytes(path, &buf, &len, why, sizeof(why));

	if (!err) {
		err = policy_read_mem(out, name, buf ? buf : "", len, d);
		free(buf);
		return err;
	}
	{
		struct loc l = { .file = diag_intern_file(d, name, NULL, 0) };

		policy_init(out, l.file);
		diag_error(d, &l, "cannot read the policy: %s", why);
	}
	return err;
}

static void free_names(struct pol_names *nn)
{
	for (size_t i = 0; i < nn->n; i++)
		free(nn->v[i]);
	free(nn->v);
	free(nn->locs);
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_rules; i++) {
		struct pol_rule *r = &p->rules[i];

		free(r->name);
		free(r->proto_items);
		free(r->sport.r);
		free(r->dport.r);
		free(r->src.p);
		free(r->dst.p);
		free_names(&r->services);
		free_names(&r->ifaces);
		free_names(&r->sni);
		free(r->icmp_types.v);
	}
	free(p->rules);
	for (size_t i = 0; i < p->n_probes; i++) {
		free(p->probes[i].name);
		free(p->probes[i].target);
		free(p->probes[i].domain);
		free(p->probes[i].trust_anchor);
		free(p->probes[i].starttls);
		free(p->probes[i].min_tls);
	}
	free(p->probes);
	free(p->ifaces);
	memset(p, 0, sizeof(*p));
}
