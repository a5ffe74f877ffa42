// SPDX-License-Identifier: GPL-2.0
/*
 * Stage 1: YAML text -> struct policy. libyaml's event stream is composed into a small tree of
 * our own (so that every node keeps libyaml's marks and aliases can be refused: they would let
 * a few bytes of YAML expand into gigabytes of rules), then the tree is walked key by key.
 * Values that the model cannot hold (an unknown action, port 70000, a malformed address) are
 * diagnosed here; everything that needs the whole policy is left to policy_check.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "catalog.h"
#include "policy.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_DEPTH 32		   /* policies nest 4 deep; deeper is a mistake or an attack */
#define MAX_FILE_SIZE (256u << 20) /* 100,000 prefixes take about 3 MiB */

enum ytype { Y_SCALAR, Y_SEQ, Y_MAP };

struct ynode {
	enum ytype type;
	char *val; /* scalar text, NUL-terminated */
	size_t len;
	int plain;     /* a plain (unquoted) scalar: may be null */
	int diagnosed; /* an alias: already reported, skip quietly */
	struct loc loc;
	struct ynode **kids; /* mapping: key, value, key, value, ... */
	size_t n, cap;
};

struct reader {
	struct diag *d;
	struct policy *p;
	const char *file;
	yaml_parser_t parser;
	int failed; /* a syntax error: stop composing */
};

/* ---- composing the tree ------------------------------------------------------------------ */

static void ynode_free(struct ynode *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++)
		ynode_free(n->kids[i]);
	free(n->kids);
	free(n->val);
	free(n);
}

static struct loc mark_loc(const struct reader *rd, yaml_mark_t start, yaml_mark_t end)
{
	struct loc l = {
		.file = rd->file, .line = start.line + 1, .col = start.column + 1, .len = 1
	};

	if (end.line == start.line && end.column > start.column)
		l.len = end.column - start.column;
	return l;
}

static void syntax_error(struct reader *rd)
{
	yaml_parser_t *ps = &rd->parser;
	struct loc l = { .file = rd->file, .len = 1 };

	if (ps->error == YAML_SCANNER_ERROR || ps->error == YAML_PARSER_ERROR) {
		l.line = ps->problem_mark.line + 1;
		l.col = ps->problem_mark.column + 1;
	}
	if (ps->error == YAML_MEMORY_ERROR)
		diag_error(rd->d, &l, "out of memory while reading YAML");
	else if (ps->context && (ps->error == YAML_SCANNER_ERROR || ps->error == YAML_PARSER_ERROR))
		diag_error(rd->d, &l, "invalid YAML: %s %s (line %zu)",
			   ps->problem ? ps->problem : "error", ps->context,
			   ps->context_mark.line + 1);
	else
		diag_error(rd->d, &l, "invalid YAML: %s", ps->problem ? ps->problem : "error");
	rd->failed = 1;
}

static int next_event(struct reader *rd, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&rd->parser, ev)) {
		syntax_error(rd);
		return -EINVAL;
	}
	return 0;
}

static int add_kid(struct ynode *n, struct ynode *kid)
{
	if (n->n == n->cap) {
		size_t cap = n->cap ? n->cap * 2 : 4;
		struct ynode **k = realloc(n->kids, cap * sizeof(*k));

		if (!k)
			return -ENOMEM;
		n->kids = k;
		n->cap = cap;
	}
	n->kids[n->n++] = kid;
	return 0;
}

/* Build the node that starts with ev (consumed); its children are read from the parser. */
static int compose(struct reader *rd, yaml_event_t *ev, struct ynode **out, int depth)
{
	struct ynode *n = calloc(1, sizeof(*n));
	yaml_event_type_t end;
	int err = 0;

	*out = NULL;
	if (!n) {
		yaml_event_delete(ev);
		return -ENOMEM;
	}
	n->loc = mark_loc(rd, ev->start_mark, ev->end_mark);
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		n->type = Y_SCALAR;
		n->len = ev->data.scalar.length;
		n->val = malloc(n->len + 1);
		if (!n->val) {
			err = -ENOMEM;
			break;
		}
		memcpy(n->val, ev->data.scalar.value, n->len);
		n->val[n->len] = '\0';
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		break;
	case YAML_ALIAS_EVENT:
		diag_error(rd->d, &n->loc,
			   "YAML aliases are not supported in policies: write the value out");
		n->type = Y_SCALAR;
		n->val = strdup("");
		n->diagnosed = 1;
		if (!n->val)
			err = -ENOMEM;
		break;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		n->type = ev->type == YAML_SEQUENCE_START_EVENT ? Y_SEQ : Y_MAP;
		end = ev->type == YAML_SEQUENCE_START_EVENT ? YAML_SEQUENCE_END_EVENT :
							      YAML_MAPPING_END_EVENT;
		n->loc.len = 1;
		if (depth >= MAX_DEPTH) {
			diag_error(rd->d, &n->loc,
				   "the policy nests too deeply (more than %d levels)", MAX_DEPTH);
			rd->failed = 1;
			err = -EINVAL;
			break;
		}
		yaml_event_delete(ev);
		for (;;) {
			yaml_event_t kid_ev;
			struct ynode *kid;

			err = next_event(rd, &kid_ev);
			if (err)
				break;
			if (kid_ev.type == end) {
				yaml_event_delete(&kid_ev);
				break;
			}
			err = compose(rd, &kid_ev, &kid, depth + 1);
			if (!err && add_kid(n, kid)) {
				ynode_free(kid);
				err = -ENOMEM;
			}
			if (err)
				break;
		}
		if (err)
			ynode_free(n);
		else
			*out = n;
		return err;
	default:
		diag_error(rd->d, &n->loc, "unexpected YAML event");
		err = -EINVAL;
		rd->failed = 1;
	}
	yaml_event_delete(ev);
	if (err)
		ynode_free(n);
	else
		*out = n;
	return err;
}

/* The whole stream: exactly one document. */
static int load(struct reader *rd, struct ynode **root)
{
	yaml_event_t ev;
	int err, docs = 0;

	*root = NULL;
	for (;;) {
		err = next_event(rd, &ev);
		if (err)
			return err;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			yaml_event_delete(&ev);
			return 0;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs == 2) {
				struct loc l = mark_loc(rd, ev.start_mark, ev.end_mark);

				diag_error(rd->d, &l,
					   "a policy is one YAML document; remove the second one");
			}
			yaml_event_delete(&ev);
			break;
		case YAML_SCALAR_EVENT:
		case YAML_ALIAS_EVENT:
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (docs > 1) {
				struct ynode *extra;

				err = compose(rd, &ev, &extra, 0);
				ynode_free(extra);
			} else {
				err = compose(rd, &ev, root, 0);
			}
			if (err)
				return err;
			break;
		default:
			yaml_event_delete(&ev);
			break;
		}
	}
}

/* ---- helpers over the tree ---------------------------------------------------------------- */

static int is_null(const struct ynode *n)
{
	return n->type == Y_SCALAR && n->plain &&
	       (!n->len || !strcmp(n->val, "~") || !strcmp(n->val, "null") ||
		!strcmp(n->val, "Null") || !strcmp(n->val, "NULL"));
}

static const char *type_name(const struct ynode *n)
{
	return n->type == Y_SEQ ? "a list" : n->type == Y_MAP ? "a mapping" : "a single value";
}

/* A single value is expected: say so for a list or a mapping. */
static int want_scalar(struct reader *rd, const char *key, const struct ynode *v)
{
	if (v->type == Y_SCALAR)
		return 1;
	diag_error(rd->d, &v->loc, "'%s' takes a single value, not %s", key, type_name(v));
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
static int read_enum(struct reader *rd, const char *what, const struct ynode *v,
		     const char *const *names, size_t n)
{
	const char *hint, *colon = strchr(what, ':');
	char list[256], key[32];

	snprintf(key, sizeof(key), "%.*s", colon ? (int)(colon - what) : (int)strlen(what), what);
	if (colon)
		what = colon + 1;
	if (!want_scalar(rd, key, v))
		return -1;
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

static char *xstrdup(struct reader *rd, const char *s)
{
	char *c = strdup(s);

	if (!c)
		diag_error(rd->d, NULL, "out of memory");
	return c;
}

typedef void (*key_fn)(struct reader *rd, void *obj, const struct ynode *key,
		       const struct ynode *val);

struct keydef {
	const char *name;
	key_fn fn;
};

/*
 * Walk a mapping: duplicate, unknown and value-less keys are diagnosed here, known keys go to
 * their handler. what names the mapping in messages ("a rule").
 */
static void read_map(struct reader *rd, const struct ynode *map, const char *what,
		     const struct keydef *keys, size_t nkeys, void *obj)
{
	const char *names[16];

	for (size_t i = 0; i < nkeys && i < ARRAY_SIZE(names); i++)
		names[i] = keys[i].name;
	for (size_t i = 0; i + 1 < map->n; i += 2) {
		const struct ynode *k = map->kids[i], *v = map->kids[i + 1];
		const struct keydef *def = NULL;
		int dup = 0;

		if (k->type != Y_SCALAR) {
			diag_error(rd->d, &k->loc, "a key in %s must be a word, not %s", what,
				   type_name(k));
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
		for (size_t j = 0; j < nkeys; j++)
			if (!strcmp(keys[j].name, k->val))
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
		if (is_null(v)) {
			diag_error(rd->d, &k->loc, "'%s' has no value", k->val);
			continue;
		}
		def->fn(rd, obj, k, v);
	}
}

/* Call fn for a single value or for each item of a list of single values. */
static int for_each_item(struct reader *rd, const char *key, const struct ynode *v,
			 int (*fn)(struct reader *rd, void *obj, const struct ynode *item),
			 void *obj)
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
				   type_name(v->kids[i]));
			ok = 0;
			continue;
		}
		if (is_null(v->kids[i])) {
			diag_error(rd->d, &v->kids[i]->loc, "empty item in '%s'", key);
			ok = 0;
			continue;
		}
		if (!fn(rd, obj, v->kids[i]))
			ok = 0;
	}
	return ok;
}

/* ---- values ------------------------------------------------------------------------------- */

/* A decimal number of at most 9 digits; -1 when the text is anything else. */
static long parse_num(const char *s, size_t len)
{
	long v = 0;

	if (!len || len > 9)
		return len > 9 && strspn(s, "0123456789") == len ? LONG_MAX : -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/*
 * Room for element n of a list that grows geometrically: its capacity is the next power of
 * two (at least 4), so it is reallocated only when n reaches one. One realloc per element made
 * a list of 200 ports per rule cost 200 copies. Returns the (maybe moved) array, or NULL.
 */
static void *room_for(void *v, size_t n, size_t size)
{
	if (v && (n < 4 || (n & (n - 1))))
		return v;
	return realloc(v, (n < 4 ? 4 : 2 * n) * size);
}

static int add_name(struct reader *rd, void *obj, const struct ynode *item)
{
	struct pol_names *nn = obj;
	char **v = room_for(nn->v, nn->n, sizeof(*v));
	struct loc *l;

	if (!v)
		return 0;
	nn->v = v;
	l = room_for(nn->locs, nn->n, sizeof(*l));
	if (!l)
		return 0;
	nn->locs = l;
	nn->v[nn->n] = xstrdup(rd, item->val);
	if (!nn->v[nn->n])
		return 0;
	nn->locs[nn->n] = item->loc;
	nn->n++;
	return 1;
}

static void read_names(struct reader *rd, const char *key, const struct ynode *v,
		       struct pol_names *nn)
{
	nn->loc = v->loc;
	for_each_item(rd, key, v, add_name, nn);
}

static const char *const proto_names[] = { "tcp", "udp", "icmp", "icmpv6" };
static const uint8_t proto_numbers[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, IPPROTO_ICMPV6 };

static int add_proto(struct reader *rd, void *obj, const struct ynode *item)
{
	struct pol_rule *r = obj;
	long num = parse_num(item->val, item->len);
	int i;

	if (num > 255) {
		diag_error(rd->d, &item->loc, "protocol number %s is out of range (0-255)",
			   item->val);
		return 0;
	}
	if (num < 0) {
		i = read_enum(rd, "protocol", item, proto_names, ARRAY_SIZE(proto_names));
		if (i < 0)
			return 0;
		num = proto_numbers[i];
	}
	r->protos[num / 8] |= 1u << (num % 8);
	return 1;
}

static int add_range(struct reader *rd, struct pol_ports *pp, uint16_t lo, uint16_t hi,
		     const struct loc *loc)
{
	struct pol_port_range *r = room_for(pp->r, pp->n, sizeof(*r));

	if (!r)
		return 0;
	pp->r = r;
	pp->r[pp->n].lo = lo;
	pp->r[pp->n].hi = hi;
	pp->r[pp->n].loc = *loc;
	pp->n++;
	return 1;
}

static int check_port(struct reader *rd, long port, const char *text, const struct loc *loc)
{
	if (port == 0) {
		diag_error(rd->d, loc, "port 0 is not a valid port (ports are 1-65535)");
		return 0;
	}
	if (port > 65535) {
		diag_error(rd->d, loc, "port %s is out of range (ports are 1-65535)", text);
		return 0;
	}
	return 1;
}

/* "LOW-HIGH": 1 added, 0 diagnosed, -1 not a range at all. */
static int add_port_range(struct reader *rd, struct pol_ports *pp, const struct ynode *item)
{
	const char *s = item->val, *dash = strchr(s, '-'), *a = s, *b;
	char lotext[16], hitext[16];
	size_t alen, blen;
	long lo, hi;

	if (!dash || dash == s)
		return -1;
	b = dash + 1;
	alen = dash - s;
	blen = strlen(b);
	while (alen && a[alen - 1] == ' ')
		alen--;
	while (*b == ' ')
		b++, blen--;
	lo = parse_num(a, alen);
	hi = parse_num(b, blen);
	if (lo < 0 || hi < 0) {
		if (strspn(s, "0123456789- ") != item->len)
			return -1;
		diag_error(rd->d, &item->loc,
			   "malformed port range '%s' (write it as LOW-HIGH, e.g. 1000-2000)", s);
		return 0;
	}
	snprintf(lotext, sizeof(lotext), "%.*s", (int)(alen < 15 ? alen : 15), a);
	snprintf(hitext, sizeof(hitext), "%.*s", (int)(blen < 15 ? blen : 15), b);
	if (!check_port(rd, lo, lotext, &item->loc) || !check_port(rd, hi, hitext, &item->loc))
		return 0;
	if (lo > hi) {
		diag_error(rd->d, &item->loc, "reversed port range '%s' (did you mean '%ld-%ld'?)",
			   s, hi, lo);
		return 0;
	}
	return add_range(rd, pp, lo, hi, &item->loc);
}

/* A service name stands for its ports (all its protocols' ports). */
static int add_port_service(struct reader *rd, struct pol_ports *pp, const struct ynode *item)
{
	const struct service *svc = catalog_find(item->val);
	const char *names[64], *hint;
	size_t n = 0;

	if (svc) {
		for (size_t i = 0; i < svc->n_ports; i++) {
			int seen = 0;

			/* quic and dns list a port twice (two protocols): once is enough here */
			for (size_t j = 0; j < i; j++)
				seen |= svc->ports[j].lo == svc->ports[i].lo &&
					svc->ports[j].hi == svc->ports[i].hi;
			if (!seen &&
			    !add_range(rd, pp, svc->ports[i].lo, svc->ports[i].hi, &item->loc))
				return 0;
		}
		return 1;
	}
	for (size_t i = 0; i < catalog_len && n + 2 <= ARRAY_SIZE(names); i++) {
		names[n++] = catalog[i].name;
		if (catalog[i].alias)
			names[n++] = catalog[i].alias;
	}
	hint = did_you_mean(item->val, names, n);
	if (hint)
		diag_error(rd->d, &item->loc, "unknown port or service '%s' (did you mean '%s'?)",
			   item->val, hint);
	else
		diag_error(
			rd->d, &item->loc,
			"unknown port or service '%s' (expected a port, a range LOW-HIGH or a service from `tlsfw services`)",
			item->val);
	return 0;
}

static int add_port(struct reader *rd, void *obj, const struct ynode *item)
{
	struct pol_ports *pp = obj;
	long port = parse_num(item->val, item->len);
	int r;

	if (port >= 0)
		return check_port(rd, port, item->val, &item->loc) &&
		       add_range(rd, pp, port, port, &item->loc);
	r = add_port_range(rd, pp, item);
	if (r >= 0)
		return r;
	return add_port_service(rd, pp, item);
}

static void read_ports(struct reader *rd, const char *key, const struct ynode *v,
		       struct pol_ports *pp, bool *has)
{
	*has = true;
	pp->loc = v->loc;
	for_each_item(rd, key, v, add_port, pp);
}

/* "10.0.0.0/8", "fd00::/8", "192.0.2.1" (a host): the bits as written, host bits included
 * (check says when they are set). */
static int parse_prefix(struct reader *rd, const struct ynode *item, struct pol_prefix *out)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(item->val, '/');
	size_t alen = slash ? (size_t)(slash - item->val) : item->len;
	long plen = -1;
	struct in6_addr a6;
	struct in_addr a4;

	memset(out, 0, sizeof(*out));
	out->loc = item->loc;
	if (alen >= sizeof(addr))
		goto bad;
	memcpy(addr, item->val, alen);
	addr[alen] = '\0';
	if (slash) {
		plen = parse_num(slash + 1, strlen(slash + 1));
		if (plen < 0) {
			diag_error(rd->d, &item->loc, "malformed prefix length in '%s'", item->val);
			return 0;
		}
	}
	if (inet_pton(AF_INET, addr, &a4) == 1) {
		if (plen > 32) {
			diag_error(rd->d, &item->loc,
				   "prefix length /%ld is too long for IPv4 (at most 32) in '%s'",
				   plen, item->val);
			return 0;
		}
		out->family = POL_FAM_V4;
		out->addr[10] = out->addr[11] = 0xff;
		memcpy(out->addr + 12, &a4, 4);
		out->plen = 96 + (plen < 0 ? 32 : plen);
		return 1;
	}
	if (inet_pton(AF_INET6, addr, &a6) == 1) {
		if (plen > 128) {
			diag_error(rd->d, &item->loc,
				   "prefix length /%ld is too long for IPv6 (at most 128) in '%s'",
				   plen, item->val);
			return 0;
		}
		if (IN6_IS_ADDR_V4MAPPED(&a6)) {
			diag_error(rd->d, &item->loc,
				   "IPv4-mapped address '%s': write IPv4 addresses as a.b.c.d",
				   item->val);
			return 0;
		}
		out->family = POL_FAM_V6;
		memcpy(out->addr, &a6, 16);
		out->plen = plen < 0 ? 128 : plen;
		return 1;
	}
bad:
	diag_error(
		rd->d, &item->loc,
		"malformed address '%s' (expected an IPv4 or IPv6 address or prefix, e.g. 10.0.0.0/8 or fd00::/8)",
		item->val);
	return 0;
}

static int add_prefix(struct reader *rd, void *obj, const struct ynode *item)
{
	struct pol_prefixes *pp = obj;
	struct pol_prefix pfx, *p;

	if (!parse_prefix(rd, item, &pfx))
		return 0;
	p = room_for(pp->p, pp->n, sizeof(*p));
	if (!p)
		return 0;
	pp->p = p;
	pp->p[pp->n++] = pfx;
	return 1;
}

static void read_prefixes(struct reader *rd, const char *key, const struct ynode *v,
			  struct pol_prefixes *pp, bool *has)
{
	*has = true;
	pp->loc = v->loc;
	for_each_item(rd, key, v, add_prefix, pp);
}

/* ---- rules -------------------------------------------------------------------------------- */

static void rule_name(struct reader *rd, void *obj, const struct ynode *k, const struct ynode *v)
{
	struct pol_rule *r = obj;

	if (!want_scalar(rd, "name", v))
		return;
	r->name = xstrdup(rd, v->val);
	r->name_loc = v->loc;
}

static void rule_proto(struct reader *rd, void *obj, const struct ynode *k, const struct ynode *v)
{
	struct pol_rule *r = obj;

	r->has_proto = true;
	r->proto_loc = v->loc;
	if (!for_each_item(rd, "proto", v, add_proto, r))
		memset(r->protos, 0xff, sizeof(r->protos)); /* diagnosed: keep check quiet */
}

static void rule_sport(struct reader *rd, void *obj, const struct ynode *k, const struct ynode *v)
{
	struct pol_rule *r = obj;

	read_ports(rd, "sport", v, &r->sport, &r->has_sport);
}

static void rule_dport(struct reader *rd, void *obj, const struct ynode *k, const struct ynode *v)
{
	struct pol_rule *r = obj;

	read_ports(rd, "dport", v, &r->dport, &r->has_dport);
}

static void rule_service(struct reader *rd, void *obj, const struct ynode *k, const struct ynode *v)
{
	struct pol_rule *r = obj;

	read_names(rd, "service", v, &r->services);
}

static void rule_src(struct reader *rd, void *obj, const struct ynode *k, const struct ynode *v)
{
	struct pol_rule *r = obj;

	read_prefixes(rd, "src", v, &r->src, &r->has_src);
}

static void rule_dst(struct reader *rd, void *obj, const struct ynode *k, const struct ynode *v)
{
	struct pol_rule *r = obj;

	read_prefixes(rd, "dst", v, &r->dst, &r->has_dst);
}

static void rule_family(struct reader *rd, void *obj, const struct ynode *k, const struct ynode *v)
{
	static const char *const names[] = { "ipv4", "ipv6" };
	struct pol_rule *r = obj;
	int i = read_enum(rd, "family", v, names, 2);

	r->family_loc = v->loc;
	if (i >= 0)
		r->family = i == 0 ? POL_FAM_V4 : POL_FAM_V6;
}

static void rule_direction(struct reader *rd, void *obj, const struct ynode *k,
			   const struct ynode *v)
{
	static const char *const names[] = { "ingress", "egress" };
	struct pol_rule *r = obj;
	int i = read_enum(rd, "direction", v, names, 2);

	r->direction_loc = v->loc;
	if (i >= 0)
		r->direction = i == 0 ? POL_DIR_INGRESS : POL_DIR_EGRESS;
}

static void rule_interface(struct reader *rd, void *obj, const struct ynode *k,
			   const struct ynode *v)
{
	struct pol_rule *r = obj;

	read_names(rd, "interface", v, &r->ifaces);
}

static void rule_action(struct reader *rd, void *obj, const struct ynode *k, const struct ynode *v)
{
	struct pol_rule *r = obj;
	int i = read_enum(rd, "action", v, pol_action_names, 3);

	/* Set even when unknown, so check does not also call it missing. */
	r->action_loc = v->loc;
	if (i >= 0)
		r->action = i;
}

static void rule_mode(struct reader *rd, void *obj, const struct ynode *k, const struct ynode *v)
{
	struct pol_rule *r = obj;
	int i = read_enum(rd, "mode", v, pol_mode_names, 2);

	r->mode_loc = v->loc;
	if (i >= 0)
		r->mode = i;
}

static const struct keydef rule_keys[] = {
	{ "name", rule_name },
	{ "proto", rule_proto },
	{ "sport", rule_sport },
	{ "dport", rule_dport },
	{ "service", rule_service },
	{ "src", rule_src },
	{ "dst", rule_dst },
	{ "family", rule_family },
	{ "direction", rule_direction },
	{ "interface", rule_interface },
	{ "action", rule_action },
	{ "mode", rule_mode },
};

/* ---- interfaces ----------------------------------------------------------------------------- */

static void iface_name(struct reader *rd, void *obj, const struct ynode *k, const struct ynode *v)
{
	struct pol_iface *f = obj;

	if (!want_scalar(rd, "name", v))
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
	int i = read_enum(rd, "hook", item, names, 2);

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
	if (!for_each_item(rd, "hooks", v, add_hook, f) || !f->hooks)
		f->hooks = POL_HOOK_INGRESS; /* diagnosed */
}

static void iface_xdp_mode(struct reader *rd, void *obj, const struct ynode *k,
			   const struct ynode *v)
{
	static const char *const names[] = { "auto", "native", "generic" };
	struct pol_iface *f = obj;
	int i = read_enum(rd, "xdp_mode", v, names, 3);

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
	if (!want_scalar(rd, key, v))
		return;
	free(*out);
	*out = xstrdup(rd, v->val);
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
	int i = read_enum(rd, "verify:verify value", v, names, 2);

	if (i >= 0)
		pr->verify = i;
}

static void probe_on_fail(struct reader *rd, void *obj, const struct ynode *k,
			  const struct ynode *v)
{
	static const char *const names[] = { "warn", "block" };
	struct pol_probe *pr = obj;
	int i = read_enum(rd, "on_fail:on_fail value", v, names, 2);

	pr->on_fail_loc = v->loc;
	if (i >= 0)
		pr->on_fail_block = i;
}

static const struct keydef probe_keys[] = {
	{ "name", probe_name },	      { "target", probe_target }, { "starttls", probe_starttls },
	{ "min_tls", probe_min_tls }, { "verify", probe_verify }, { "on_fail", probe_on_fail },
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
		if (name && name->type == Y_SCALAR && !is_null(name))
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
	char *arr;

	*n = 0;
	if (v->type != Y_SEQ) {
		diag_error(rd->d, &v->loc,
			   "'%s' must be a list of %ss (each item starting with '- name:'), not %s",
			   key, what, type_name(v));
		return NULL;
	}
	arr = calloc(v->n ? v->n : 1, size);
	if (!arr) {
		diag_error(rd->d, &v->loc, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < v->n; i++) {
		const struct ynode *item = v->kids[i];
		void *elem = arr + *n * size;
		char where[32];

		if (item->type != Y_MAP) {
			diag_error(rd->d, &item->loc,
				   "each item of '%s' must be a mapping (name: ...), not %s", key,
				   type_name(item));
			continue;
		}
		ld->init(elem, &item->loc);
		snprintf(where, sizeof(where), "%s %s", strchr("aeiou", what[0]) ? "an" : "a",
			 what);
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
	if (!want_scalar(rd, "version", v)) {
		p->version = 1;
		return;
	}
	num = parse_num(v->val, v->len);
	if (num < 0) {
		diag_error(rd->d, &v->loc,
			   "version must be a number: this tlsfw reads 'version: 1'");
		p->version = 1; /* diagnosed: keep check quiet */
		return;
	}
	p->version = num > UINT_MAX ? UINT_MAX : num;
}

static void top_backend(struct reader *rd, void *obj, const struct ynode *k, const struct ynode *v)
{
	static const char *const names[] = { "bpf", "nft" };
	struct policy *p = obj;
	int i = read_enum(rd, "backend", v, names, 2);

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
	int i = read_enum(rd, "default:default verdict", v, names, 2);

	p->default_loc = v->loc;
	if (i >= 0)
		p->default_action = i == 0 ? POL_ALLOW : POL_DROP;
}

static void top_fragments(struct reader *rd, void *obj, const struct ynode *k,
			  const struct ynode *v)
{
	struct policy *p = obj;
	int i = read_enum(rd, "fragments:fragments mode", v, pol_frag_names, 3);

	p->fragments_loc = v->loc;
	if (i >= 0)
		p->fragments = i;
}

static void top_malformed(struct reader *rd, void *obj, const struct ynode *k,
			  const struct ynode *v)
{
	static const char *const names[] = { "allow", "drop" };
	struct policy *p = obj;
	int i = read_enum(rd, "malformed:malformed verdict", v, names, 2);

	p->malformed_loc = v->loc;
	if (i >= 0)
		p->malformed = i == 0 ? POL_ALLOW : POL_DROP;
}

static void top_rules(struct reader *rd, void *obj, const struct ynode *k, const struct ynode *v)
{
	struct policy *p = obj;

	p->rules_loc = v->loc;
	static const char *const required[] = { "name", "action", NULL };
	static const struct list_def ld = {
		"rules",  "rule",   sizeof(struct pol_rule), rule_keys, ARRAY_SIZE(rule_keys),
		required, init_rule
	};

	p->rules = read_list(rd, &ld, v, &p->n_rules);
}

static void top_probes(struct reader *rd, void *obj, const struct ynode *k, const struct ynode *v)
{
	struct policy *p = obj;

	static const char *const required[] = { "name", "target", NULL };
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
}

int policy_read_mem(struct policy *out, const char *name, const char *buf, size_t len,
		    struct diag *d)
{
	struct reader rd = { .d = d, .p = out };
	struct ynode *root = NULL;
	int err;

	rd.file = diag_intern_file(d, name, buf, len);
	policy_init(out, rd.file);
	if (!rd.file)
		return -ENOMEM;
	EVP_Digest(buf, len, out->sha256, NULL, EVP_sha256(), NULL);
	if (!yaml_parser_initialize(&rd.parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&rd.parser, (const unsigned char *)buf, len);
	err = load(&rd, &root);
	yaml_parser_delete(&rd.parser);
	if (err) {
		ynode_free(root);
		return err;
	}
	if (!root || is_null(root)) {
		struct loc l = { .file = rd.file };

		diag_error(d, &l, "the policy is empty: start it with 'version: 1'");
		ynode_free(root);
		return -ENODATA;
	}
	if (root->type != Y_MAP) {
		diag_error(
			d, &root->loc,
			"a policy is a mapping of keys (version:, interfaces:, rules:, ...), not %s",
			type_name(root));
		ynode_free(root);
		return -ENODATA;
	}
	read_map(&rd, root, "the policy", top_keys, ARRAY_SIZE(top_keys), out);
	ynode_free(root);
	return 0;
}

int policy_read_file(struct policy *out, const char *path, struct diag *d)
{
	const char *name = strcmp(path, "-") ? path : "<stdin>";
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int err = 0;

	if (!f) {
		err = -errno;
		goto fail;
	}
	for (;;) {
		size_t got;

		if (len == cap) {
			char *nb;

			if (cap >= MAX_FILE_SIZE) {
				err = -EFBIG;
				break;
			}
			cap = cap ? cap * 2 : 65536;
			nb = realloc(buf, cap);
			if (!nb) {
				err = -ENOMEM;
				break;
			}
			buf = nb;
		}
		errno = 0;
		got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0) {
			if (ferror(f))
				err = errno ? -errno : -EIO; /* a directory says EISDIR */
			break;
		}
	}
	if (f != stdin)
		fclose(f);
	if (err)
		goto fail;
	err = policy_read_mem(out, name, buf ? buf : "", len, d);
	free(buf);
	return err;
fail:
	free(buf);
	{
		struct loc l = { .file = diag_intern_file(d, name, NULL, 0) };

		policy_init(out, l.file);
		diag_error(d, &l, "cannot read the policy: %s", strerror(-err));
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
		free(r->sport.r);
		free(r->dport.r);
		free(r->src.p);
		free(r->dst.p);
		free_names(&r->services);
		free_names(&r->ifaces);
	}
	free(p->rules);
	for (size_t i = 0; i < p->n_probes; i++) {
		free(p->probes[i].name);
		free(p->probes[i].target);
		free(p->probes[i].starttls);
		free(p->probes[i].min_tls);
	}
	free(p->probes);
	free(p->ifaces);
	memset(p, 0, sizeof(*p));
}
