// SPDX-License-Identifier: GPL-2.0
/*
 * Stage 1, the rules: their keys and the values they hold (ports, protocols, addresses,
 * names), read from the YAML tree into struct pol_rule. policy_read.c reads the rest.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../bpf/tlsfw_abi.h"
#include "catalog.h"
#include "icmp_types.h"
#include "intervals.h"
#include "policy.h"
#include "policy_read.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- values ------------------------------------------------------------------------------- */

/* A decimal number of at most 9 digits; -1 when the text is anything else. */
long rd_num(const char *s, size_t len)
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
 * two, so it is reallocated only when n reaches one. One realloc per element made a list of
 * 200 ports per rule cost 200 copies; a first capacity of 4 left most lists (one protocol,
 * one port) three quarters empty, 0.8 MB of a 4,096-rule policy's heap. Returns the (maybe
 * moved) array, or NULL.
 */
void *rd_room_for(void *v, size_t n, size_t size)
{
	if (v && (n & (n - 1)))
		return v;
	return realloc(v, (n ? 2 * n : 1) * size);
}

static int add_name(struct reader *rd, void *obj, const struct ynode *item)
{
	struct pol_names *nn = obj;
	char **v = rd_room_for(nn->v, nn->n, sizeof(*v));
	struct loc *l;

	if (!v)
		return 0;
	nn->v = v;
	l = rd_room_for(nn->locs, nn->n, sizeof(*l));
	if (!l)
		return 0;
	nn->locs = l;
	nn->v[nn->n] = rd_strdup(rd, item->val);
	if (!nn->v[nn->n])
		return 0;
	nn->locs[nn->n] = item->loc;
	nn->n++;
	return 1;
}

int rd_sni_add(struct reader *rd, struct pol_names *nn, const struct ynode *item)
{
	return add_name(rd, nn, item);
}

void rd_names(struct reader *rd, const char *key, const struct ynode *v, struct pol_names *nn)
{
	nn->loc = v->loc;
	rd_for_each_item(rd, key, v, add_name, nn);
}

static const char *const proto_names[] = { "tcp", "udp", "icmp", "icmpv6" };
static const uint8_t proto_numbers[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, IPPROTO_ICMPV6 };

static int add_proto(struct reader *rd, void *obj, const struct ynode *item)
{
	struct pol_rule *r = obj;
	long num = rd_num(item->val, item->len);
	struct pol_proto_item *v;
	int i;

	if (num > 255) {
		diag_error(rd->d, &item->loc, "protocol number %s is out of range (0-255)",
			   item->val);
		return 0;
	}
	if (num < 0) {
		i = rd_enum(rd, "protocol", item, proto_names, ARRAY_SIZE(proto_names));
		if (i < 0)
			return 0;
		num = proto_numbers[i];
	}
	r->protos[num / 8] |= 1u << (num % 8);
	v = rd_room_for(r->proto_items, r->n_proto_items, sizeof(*v));
	if (!v)
		return 0;
	r->proto_items = v;
	v[r->n_proto_items++] = (struct pol_proto_item){ num, item->loc };
	return 1;
}

static int loc_cmp(const struct loc *a, const struct loc *b)
{
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	return (a->col > b->col) - (a->col < b->col);
}

static int proto_item_cmp(const void *a, const void *b)
{
	const struct pol_proto_item *x = a, *y = b;

	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	return loc_cmp(&x->loc, &y->loc);
}

/* A protocol listed twice is a slip (meant another one?): say where. */
static void duplicate_protos(struct reader *rd, const struct pol_rule *r)
{
	struct pol_proto_item *v;

	if (r->n_proto_items < 2)
		return;
	v = malloc(r->n_proto_items * sizeof(*v));
	if (!v)
		return;
	memcpy(v, r->proto_items, r->n_proto_items * sizeof(*v));
	qsort(v, r->n_proto_items, sizeof(*v), proto_item_cmp);
	for (size_t i = 1, first = 0; i < r->n_proto_items; i++) {
		char num[8];
		const char *name = num;

		if (v[i].proto != v[first].proto) {
			first = i;
			continue;
		}
		snprintf(num, sizeof(num), "%u", v[i].proto);
		for (size_t k = 0; k < ARRAY_SIZE(proto_numbers); k++)
			if (proto_numbers[k] == v[i].proto)
				name = proto_names[k];
		diag_error(rd->d, &v[i].loc,
			   "protocol %s is listed twice in proto (first at line %u, column %u)",
			   name, v[first].loc.line, v[first].loc.col);
	}
	free(v);
}

static int add_range(struct reader *rd, struct pol_ports *pp, uint16_t lo, uint16_t hi,
		     const struct loc *loc)
{
	struct pol_port_range *r = rd_room_for(pp->r, pp->n, sizeof(*r));

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
	lo = rd_num(a, alen);
	hi = rd_num(b, blen);
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

/* YAML 1.1 (and so many YAML tools) reads 010 as the octal number 8: a port written so is
 * ambiguous, not 10. */
static int leading_zero(struct reader *rd, const struct ynode *item)
{
	char *end;
	long oct = strtol(item->val, &end, 8);

	if (*end)
		diag_error(rd->d, &item->loc, "port %s has a leading zero: write %ld", item->val,
			   strtol(item->val, NULL, 10));
	else
		diag_error(
			rd->d, &item->loc,
			"port %s has a leading zero, which YAML 1.1 reads as octal (%ld): write %ld, or %ld",
			item->val, oct, strtol(item->val, NULL, 10), oct);
	return 0;
}

static int add_port(struct reader *rd, void *obj, const struct ynode *item)
{
	struct pol_ports *pp = obj;
	long port = rd_num(item->val, item->len);
	int r;

	if (port >= 0 && item->plain && item->len > 1 && item->val[0] == '0')
		return leading_zero(rd, item);
	if (port >= 0)
		return check_port(rd, port, item->val, &item->loc) &&
		       add_range(rd, pp, port, port, &item->loc);
	r = add_port_range(rd, pp, item);
	if (r >= 0)
		return r;
	return add_port_service(rd, pp, item);
}

static int range_cmp(const void *a, const void *b)
{
	const struct pol_port_range *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->hi != y->hi)
		return x->hi < y->hi ? -1 : 1;
	return loc_cmp(&x->loc, &y->loc);
}

/* The errors of one run of equal ranges (at least two): sorted by place, each item after the
 * first names it. */
static void duplicate_run(struct reader *rd, const char *key, const struct pol_ports *pp,
			  const uint64_t *run, size_t n)
{
	struct pol_port_range *v = malloc(n * sizeof(*v));

	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		v[i] = pp->r[(uint32_t)run[i]];
	qsort(v, n, sizeof(*v), range_cmp);
	for (size_t i = 1; i < n; i++) {
		if (!loc_cmp(&v[i].loc, &v[0].loc))
			continue; /* one item, a service naming the port twice */
		if (v[i].lo == v[i].hi)
			diag_error(rd->d, &v[i].loc,
				   "port %u is listed twice in %s (first at line %u, column %u)",
				   v[i].lo, key, v[0].loc.line, v[0].loc.col);
		else
			diag_error(
				rd->d, &v[i].loc,
				"ports %u-%u are listed twice in %s (first at line %u, column %u)",
				v[i].lo, v[i].hi, key, v[0].loc.line, v[0].loc.col);
	}
	free(v);
}

/*
 * A port (or range) listed twice in one list: the ranges sorted (as one key each, with their
 * index, by a radix sort: qsort's callbacks over 200 ports a rule were a tenth of `tlsfw
 * check`), then each run of equal ones, rare, by place.
 */
static void duplicate_ports(struct reader *rd, const char *key, const struct pol_ports *pp)
{
	uint64_t *k;

	if (pp->n < 2)
		return;
	k = malloc(2 * pp->n * sizeof(*k));
	if (!k)
		return;
	for (size_t i = 0; i < pp->n; i++)
		k[i] = PORT_KEY(pp->r[i].lo, pp->r[i].hi) | i;
	port_keys_sort(k, k + pp->n, pp->n);
	for (size_t i = 0, j; i < pp->n; i = j) {
		for (j = i + 1; j < pp->n && k[j] >> 32 == k[i] >> 32; j++)
			;
		if (j - i > 1)
			duplicate_run(rd, key, pp, k + i, j - i);
	}
	free(k);
}

static void read_ports(struct reader *rd, const char *key, const struct ynode *v,
		       struct pol_ports *pp, bool *has)
{
	*has = true;
	pp->loc = v->loc;
	rd_for_each_item(rd, key, v, add_port, pp);
	duplicate_ports(rd, key, pp);
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
		plen = rd_num(slash + 1, strlen(slash + 1));
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
	p = rd_room_for(pp->p, pp->n, sizeof(*p));
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
	rd_for_each_item(rd, key, v, add_prefix, pp);
}

/* ---- rules -------------------------------------------------------------------------------- */

static void rule_name(struct reader *rd, void *obj, const struct ynode *k, const struct ynode *v)
{
	struct pol_rule *r = obj;

	if (!rd_want_scalar(rd, "name", v))
		return;
	r->name = rd_strdup(rd, v->val);
	r->name_loc = v->loc;
}

static void rule_proto(struct reader *rd, void *obj, const struct ynode *k, const struct ynode *v)
{
	struct pol_rule *r = obj;

	r->has_proto = true;
	r->proto_loc = v->loc;
	if (!rd_for_each_item(rd, "proto", v, add_proto, r))
		memset(r->protos, 0xff, sizeof(r->protos)); /* diagnosed: keep check quiet */
	duplicate_protos(rd, r);
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

	rd_names(rd, "service", v, &r->services);
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
	int i = rd_enum(rd, "family", v, names, 2);

	r->family_loc = v->loc;
	if (i >= 0)
		r->family = i == 0 ? POL_FAM_V4 : POL_FAM_V6;
}

static void rule_direction(struct reader *rd, void *obj, const struct ynode *k,
			   const struct ynode *v)
{
	static const char *const names[] = { "ingress", "egress" };
	struct pol_rule *r = obj;
	int i = rd_enum(rd, "direction", v, names, 2);

	r->direction_loc = v->loc;
	if (i >= 0)
		r->direction = i == 0 ? POL_DIR_INGRESS : POL_DIR_EGRESS;
}

static void rule_interface(struct reader *rd, void *obj, const struct ynode *k,
			   const struct ynode *v)
{
	struct pol_rule *r = obj;

	rd_names(rd, "interface", v, &r->ifaces);
}

/* A number 0-255 (the same type in both families), or a name from icmp_types.c. */
static int add_icmp_type(struct reader *rd, void *obj, const struct ynode *item)
{
	struct pol_icmp_types *tt = obj;
	long num = rd_num(item->val, item->len);
	const struct icmp_type_name *e = NULL;
	struct pol_icmp_type *v;

	if (num > 255) {
		diag_error(rd->d, &item->loc, "ICMP type %s is out of range (0-255)", item->val);
		return 0;
	}
	if (num < 0) {
		const char *names[64], *hint;
		size_t n = 0;

		e = icmp_type_find(item->val);
		for (size_t i = 0; !e && i < n_icmp_type_names && n < 64; i++)
			names[n++] = icmp_type_names[i].name;
		hint = e ? NULL : did_you_mean(item->val, names, n);
		if (!e && hint) {
			diag_error(rd->d, &item->loc, "unknown ICMP type '%s' (did you mean '%s'?)",
				   item->val, hint);
			return 0;
		}
		if (!e) {
			diag_error(
				rd->d, &item->loc,
				"unknown ICMP type '%s' (expected a number 0-255 or a name as nft writes it, e.g. echo-request)",
				item->val);
			return 0;
		}
	}
	v = rd_room_for(tt->v, tt->n, sizeof(*v));
	if (!v)
		return 0;
	tt->v = v;
	v[tt->n].v4 = e ? e->v4 : num;
	v[tt->n].v6 = e ? e->v6 : num;
	v[tt->n].loc = item->loc;
	tt->n++;
	return 1;
}

static void rule_icmp_type(struct reader *rd, void *obj, const struct ynode *k,
			   const struct ynode *v)
{
	struct pol_rule *r = obj;

	r->icmp_types.loc = v->loc;
	rd_for_each_item(rd, "icmp_type", v, add_icmp_type, &r->icmp_types);
}

static void rule_action(struct reader *rd, void *obj, const struct ynode *k, const struct ynode *v)
{
	struct pol_rule *r = obj;
	int i = rd_enum(rd, "action", v, pol_action_names, 3);

	/* Set even when unknown, so check does not also call it missing. */
	r->action_loc = v->loc;
	if (i >= 0)
		r->action = i;
}

static void rule_mode(struct reader *rd, void *obj, const struct ynode *k, const struct ynode *v)
{
	struct pol_rule *r = obj;
	int i = rd_enum(rd, "mode", v, pol_mode_names, 2);

	r->mode_loc = v->loc;
	if (i >= 0)
		r->mode = i;
}

static void rule_payload(struct reader *rd, void *obj, const struct ynode *k, const struct ynode *v)
{
	static const char *const names[] = { "quic" };
	struct pol_rule *r = obj;

	r->payload_loc = v->loc;
	if (rd_enum(rd, "payload:payload class", v, names, 1) == 0)
		r->payload_quic = true;
}

static void rule_require(struct reader *rd, void *obj, const struct ynode *k, const struct ynode *v)
{
	static const char *const names[] = { "tls" };
	struct pol_rule *r = obj;

	r->require_loc = v->loc;
	if (rd_enum(rd, "require:requirement", v, names, 1) == 0)
		r->require_tls = true;
}

/* sni: a list of names, `none`, or @FILE (one name a line, # comments, relative to the
 * policy file; policy_read_sni_file reads it). */
static void rule_sni(struct reader *rd, void *obj, const struct ynode *k, const struct ynode *v)
{
	struct pol_rule *r = obj;

	r->has_sni = true;
	r->sni.loc = v->loc;
	if (v->type == Y_SCALAR && !strcmp(v->val, "none")) {
		r->sni_none = true;
		return;
	}
	if (v->type == Y_SCALAR && v->val[0] == '@') {
		rd_sni_file(rd, v, &r->sni);
		return;
	}
	rd_names(rd, "sni", v, &r->sni);
}

static void rule_sni_match(struct reader *rd, void *obj, const struct ynode *k,
			   const struct ynode *v)
{
	static const char *const names[] = { "in", "not" };
	struct pol_rule *r = obj;

	r->sni_match_loc = v->loc;
	if (rd_enum(rd, "sni_match", v, names, 2) == 1)
		r->sni_not = true;
}

static void rule_ech(struct reader *rd, void *obj, const struct ynode *k, const struct ynode *v)
{
	static const char *const names[] = { "present", "absent" };
	struct pol_rule *r = obj;
	int i = rd_enum(rd, "ech", v, names, 2);

	r->ech_loc = v->loc;
	if (i >= 0)
		r->ech = i == 0 ? POL_ECH_PRESENT : POL_ECH_ABSENT;
}

/* state: new | established | related | invalid, one or a list (POL_ST_* bits). */
static int add_state(struct reader *rd, void *obj, const struct ynode *item)
{
	int i = rd_enum(rd, "state:connection state", item, pol_state_names, POL_ST_COUNT);

	if (i < 0)
		return 0;
	*(unsigned int *)obj |= 1u << i;
	return 1;
}

static void rule_state(struct reader *rd, void *obj, const struct ynode *k, const struct ynode *v)
{
	struct pol_rule *r = obj;

	r->state_loc = v->loc;
	rd_for_each_item(rd, "state", v, add_state, &r->state);
}

/* log: true (TLSFW_LOG_RATE_DEFAULT per second), false, or N/s. */
static void rule_log(struct reader *rd, void *obj, const struct ynode *k, const struct ynode *v)
{
	struct pol_rule *r = obj;
	unsigned long n;
	char *end;

	r->log_loc = v->loc;
	if (!rd_want_scalar(rd, "log", v))
		return;
	if (!strcmp(v->val, "true")) {
		r->log_rate = TLSFW_LOG_RATE_DEFAULT;
		return;
	}
	if (!strcmp(v->val, "false"))
		return;
	errno = 0;
	n = v->val[0] >= '1' && v->val[0] <= '9' ? strtoul(v->val, &end, 10) : 0;
	if (n && !errno && !strcmp(end, "/s") && n <= TLSFW_LOG_RATE_MAX) {
		r->log_rate = n;
		return;
	}
	diag_error(
		rd->d, &v->loc,
		"unknown log value '%s' (expected true, false or a rate N/s with N from 1 to %u, e.g. 10/s)",
		v->val, TLSFW_LOG_RATE_MAX);
}

const struct keydef rule_keys[] = {
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
	{ "icmp_type", rule_icmp_type },
	{ "action", rule_action },
	{ "mode", rule_mode },
	{ "payload", rule_payload },
	{ "require", rule_require },
	{ "sni", rule_sni },
	{ "sni_match", rule_sni_match },
	{ "ech", rule_ech },
	{ "state", rule_state },
	{ "log", rule_log },
};

const size_t n_rule_keys = sizeof(rule_keys) / sizeof(rule_keys[0]);
