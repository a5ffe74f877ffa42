// SPDX-License-Identifier: GPL-2.0
/*
 * `tlsfw check --print-plan` of a backend: nft policy: the messages `apply` would send to a
 * namespace without table inet tlsfw, in order, each under the policy element it comes
 * from. The messages themselves are decoded (libnftnl parses them back), not the policy, so
 * what is printed is what would be sent; the notation follows `nft list` where it can
 * (`meta l4proto . th dport @block-quic_pd.a counter name "..." goto tlsfw_reject`). Only the
 * expressions nft_build.c emits are known; anything else prints as "<name>". Nothing here
 * talks to the kernel.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "nft_encode.h"

#define LINE_MAX_LEN 4096
#define NREGS 32

struct line {
	char s[LINE_MAX_LEN];
	size_t n;
};

static void put(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct line *l, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (l->n >= sizeof(l->s) - 1)
		return;
	va_start(ap, fmt);
	k = vsnprintf(l->s + l->n, sizeof(l->s) - l->n, fmt, ap);
	va_end(ap);
	if (k > 0)
		l->n = l->n + (size_t)k < sizeof(l->s) ? l->n + (size_t)k : sizeof(l->s) - 1;
}

/* ---- raw attributes ----------------------------------------------------------------------- */

/*
 * libnftnl puts some strings without their NUL (an expression's object name) and, parsing a
 * message it built itself, reads past them; and 1.2.4 cannot parse back an element message
 * of more than one interval of a concatenation. Where it matters the attributes are read
 * here with libmnl, by their lengths.
 */
static const struct nlattr *child(const struct nlattr *nest, uint16_t type)
{
	const struct nlattr *a;

	if (!nest)
		return NULL;
	mnl_attr_for_each_nested(a, nest) if (mnl_attr_get_type(a) == type) return a;
	return NULL;
}

static const struct nlattr *top(const struct nlmsghdr *nlh, uint16_t type)
{
	const struct nlattr *a;

	mnl_attr_for_each(a, nlh,
			  sizeof(struct nfgenmsg)) if (mnl_attr_get_type(a) == type) return a;
	return NULL;
}

/* A string attribute, NUL or not, into buf. */
static void attr_str(const struct nlattr *a, char *buf, size_t len)
{
	if (!a) {
		snprintf(buf, len, "?");
		return;
	}
	snprintf(buf, len, "%.*s",
		 (int)strnlen(mnl_attr_get_payload(a), mnl_attr_get_payload_len(a)),
		 (const char *)mnl_attr_get_payload(a));
}

/* ---- rules -------------------------------------------------------------------------------- */

struct rule_ctx {
	char reg[NREGS][64]; /* what each register holds, in nft's words */
	struct line *l;
	char objref[8][160]; /* the rule's counter names, in order (read raw) */
	size_t n_objref, next_objref;
	int plen[NREGS]; /* an address masked to a prefix of this length, or -1 */
	int gte_reg;	 /* a ">=" waiting for its "<=" (a range), or -1 */
	char gte[64];
};

static void objrefs_read(const struct nlmsghdr *nlh, struct rule_ctx *r)
{
	const struct nlattr *list = top(nlh, NFTA_RULE_EXPRESSIONS), *el;

	if (!list)
		return;
	mnl_attr_for_each_nested(el, list)
	{
		const struct nlattr *name = child(el, NFTA_EXPR_NAME);
		char n[16];

		attr_str(name, n, sizeof(n));
		if (strcmp(n, "objref") || r->n_objref >= sizeof(r->objref) / sizeof(r->objref[0]))
			continue;
		attr_str(child(child(el, NFTA_EXPR_DATA), NFTA_OBJREF_IMM_NAME),
			 r->objref[r->n_objref], sizeof(r->objref[0]));
		r->n_objref++;
	}
}

static void reg_set(struct rule_ctx *r, uint32_t reg, const char *what)
{
	if (reg < NREGS) {
		snprintf(r->reg[reg], sizeof(r->reg[reg]), "%s", what);
		r->plen[reg] = -1;
	}
}

static const char *reg_get(const struct rule_ctx *r, uint32_t reg)
{
	return reg < NREGS && r->reg[reg][0] ? r->reg[reg] : "?";
}

static const char *payload_name(uint32_t base, uint32_t off, uint32_t len)
{
	if (base == NFT_PAYLOAD_NETWORK_HEADER) {
		if (off == 6 && len == 2)
			return "ip frag-off";
		if (off == 12 && len == 4)
			return "ip saddr";
		if (off == 16 && len == 4)
			return "ip daddr";
		if (off == 8 && len == 16)
			return "ip6 saddr";
		if (off == 24 && len == 16)
			return "ip6 daddr";
	} else if (base == NFT_PAYLOAD_TRANSPORT_HEADER && len == 2) {
		return off == 0 ? "th sport" : off == 2 ? "th dport" : "th ?";
	}
	return "payload ?";
}

static const char *proto_name(unsigned int p)
{
	switch (p) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_ICMP:
		return "icmp";
	case IPPROTO_ICMPV6:
		return "ipv6-icmp";
	case IPPROTO_SCTP:
		return "sctp";
	default:
		return NULL;
	}
}

static void cmp_value(struct line *l, const char *what, const uint8_t *v, uint32_t len)
{
	if ((!strncmp(what, "ip ", 3) && len == 4) || (!strncmp(what, "ip6 ", 4) && len == 16)) {
		char a[INET6_ADDRSTRLEN];

		inet_ntop(len == 4 ? AF_INET : AF_INET6, v, a, sizeof(a));
		put(l, "%s", a);
	} else if (!strcmp(what, "meta l4proto") && len == 1 && proto_name(v[0])) {
		put(l, "%s", proto_name(v[0]));
	} else if (!strcmp(what, "meta nfproto") && len == 1) {
		put(l, "%s", v[0] == NFPROTO_IPV4 ? "ipv4" : v[0] == NFPROTO_IPV6 ? "ipv6" : "?");
	} else {
		unsigned long long x = 0;

		for (uint32_t i = 0; i < len && i < 8; i++)
			x = x << 8 | v[i];
		put(l, "%llu", x);
	}
}

static int expr_cb(struct nftnl_expr *e, void *data)
{
	struct rule_ctx *r = data;
	const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
	struct line *l = r->l;
	uint32_t len = 0;

	if (!strcmp(name, "meta")) {
		uint32_t key = nftnl_expr_get_u32(e, NFTNL_EXPR_META_KEY);

		reg_set(r, nftnl_expr_get_u32(e, NFTNL_EXPR_META_DREG),
			key == NFT_META_L4PROTO ? "meta l4proto" :
			key == NFT_META_NFPROTO ? "meta nfproto" :
			key == NFT_META_OIFNAME ? "oifname" :
						  "meta ?");
	} else if (!strcmp(name, "payload")) {
		reg_set(r, nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_DREG),
			payload_name(nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_BASE),
				     nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET),
				     nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_LEN)));
	} else if (!strcmp(name, "exthdr")) {
		bool exists =
			nftnl_expr_is_set(e, NFTNL_EXPR_EXTHDR_FLAGS) &&
			(nftnl_expr_get_u32(e, NFTNL_EXPR_EXTHDR_FLAGS) & NFT_EXTHDR_F_PRESENT);

		reg_set(r, nftnl_expr_get_u32(e, NFTNL_EXPR_EXTHDR_DREG),
			exists ? "exthdr frag exists" : "frag frag-off");
	} else if (!strcmp(name, "bitwise")) {
		const uint8_t *m = nftnl_expr_get(e, NFTNL_EXPR_BITWISE_MASK, &len);
		uint32_t sreg = nftnl_expr_get_u32(e, NFTNL_EXPR_BITWISE_SREG);
		uint32_t dreg = nftnl_expr_get_u32(e, NFTNL_EXPR_BITWISE_DREG);
		char src[64], what[64];
		size_t k;
		int bits = 0;
		bool prefix = m != NULL;

		snprintf(src, sizeof(src), "%s", reg_get(r, sreg)); /* dreg may be sreg */

		/* an address under a contiguous mask is a prefix: "ip daddr 10.0.0.0/8" */
		for (uint32_t i = 0; m && i < len; i++) {
			for (int b = 7; b >= 0; b--) {
				if (m[i] >> b & 1) {
					if (bits != (int)(8 * i + 7 - b))
						prefix = false;
					bits++;
				}
			}
		}
		if (prefix && (!strncmp(src, "ip ", 3) || !strncmp(src, "ip6 ", 4)) &&
		    dreg < NREGS) {
			reg_set(r, dreg, src);
			r->plen[dreg] = bits;
			return 0;
		}
		k = (size_t)snprintf(what, sizeof(what), "%s & 0x", src);
		for (uint32_t i = 0; m && i < len && k + 3 < sizeof(what); i++)
			k += (size_t)snprintf(what + k, sizeof(what) - k, "%02x", m[i]);
		reg_set(r, nftnl_expr_get_u32(e, NFTNL_EXPR_BITWISE_DREG), what);
	} else if (!strcmp(name, "cmp")) {
		const char *what = reg_get(r, nftnl_expr_get_u32(e, NFTNL_EXPR_CMP_SREG));
		const uint8_t *v = nftnl_expr_get(e, NFTNL_EXPR_CMP_DATA, &len);
		uint32_t op = nftnl_expr_get_u32(e, NFTNL_EXPR_CMP_OP);

		if (!strcmp(what, "exthdr frag exists")) {
			put(l, "%s%s ", op == NFT_CMP_EQ ? "" : "!", what);
			return 0;
		}
		uint32_t sreg = nftnl_expr_get_u32(e, NFTNL_EXPR_CMP_SREG);
		if (op == NFT_CMP_GTE) { /* the start of a range, if "<=" follows */
			struct line t = { .n = 0 };

			cmp_value(&t, what, v, len);
			snprintf(r->gte, sizeof(r->gte), "%.63s", t.s);
			r->gte_reg = (int)sreg;
			return 0;
		}
		if (op == NFT_CMP_LTE && r->gte_reg == (int)sreg) {
			put(l, "%s %s-", what, r->gte);
			r->gte_reg = -1;
		} else {
			put(l, "%s %s", what,
			    op == NFT_CMP_EQ  ? "" :
			    op == NFT_CMP_NEQ ? "!= " :
			    op == NFT_CMP_LT  ? "< " :
			    op == NFT_CMP_LTE ? "<= " :
			    op == NFT_CMP_GT  ? "> " :
						">= ");
		}
		cmp_value(l, what, v, len);
		if (sreg < NREGS && r->plen[sreg] >= 0)
			put(l, "/%d", r->plen[sreg]);
		put(l, " ");
	} else if (!strcmp(name, "lookup")) {
		uint32_t sreg = nftnl_expr_get_u32(e, NFTNL_EXPR_LOOKUP_SREG);
		const char *set = nftnl_expr_get_str(e, NFTNL_EXPR_LOOKUP_SET);

		/* a concatenation occupies consecutive 32-bit registers (nft_build.c: protocol
		 * in NFT_REG32_00, port in NFT_REG32_01) */
		if (sreg == NFT_REG32_00 && r->reg[NFT_REG32_01][0])
			put(l, "%s . %s ", reg_get(r, sreg), reg_get(r, sreg + 1));
		else
			put(l, "%s ", reg_get(r, sreg));
		put(l, "%s@%s ",
		    nftnl_expr_is_set(e, NFTNL_EXPR_LOOKUP_DREG) &&
				    nftnl_expr_get_u32(e, NFTNL_EXPR_LOOKUP_DREG) ==
					    NFT_REG_VERDICT ?
			    "vmap " :
			    "",
		    set);
	} else if (!strcmp(name, "objref")) {
		put(l, "counter name \"%s\" ",
		    r->next_objref < r->n_objref ? r->objref[r->next_objref++] : "?");
	} else if (!strcmp(name, "immediate")) {
		int v = (int)nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_VERDICT);

		if (v == NF_ACCEPT)
			put(l, "accept ");
		else if (v == NF_DROP)
			put(l, "drop ");
		else
			put(l, "%s %s ", v == NFT_GOTO ? "goto" : "jump",
			    nftnl_expr_get_str(e, NFTNL_EXPR_IMM_CHAIN));
	} else if (!strcmp(name, "reject")) {
		uint32_t t = nftnl_expr_get_u32(e, NFTNL_EXPR_REJECT_TYPE);

		put(l, "%s ",
		    t == NFT_REJECT_TCP_RST	  ? "reject with tcp reset" :
		    t == NFT_REJECT_ICMPX_UNREACH ? "reject with icmpx admin-prohibited" :
						    "reject");
	} else {
		put(l, "<%s> ", name);
	}
	return 0;
}

static int comment_cb(const struct nftnl_udata *attr, void *data)
{
	const char *v = nftnl_udata_get(attr);
	uint8_t len = nftnl_udata_len(attr);

	if (nftnl_udata_type(attr) == NFTNL_UDATA_RULE_COMMENT && len && !v[len - 1])
		*(const char **)data = v;
	return 0;
}

static void print_rule(const struct nlmsghdr *nlh, FILE *out)
{
	struct nftnl_rule *x = nftnl_rule_alloc();
	struct line l = { .n = 0 };
	struct rule_ctx r = { .l = &l, .gte_reg = -1 };
	const char *comment = NULL;
	const void *ud;
	uint32_t len = 0;

	if (!x || nftnl_rule_nlmsg_parse(nlh, x) < 0) {
		fprintf(out, "add rule: (unreadable)\n");
		nftnl_rule_free(x);
		return;
	}
	for (int i = 0; i < NREGS; i++)
		r.plen[i] = -1;
	objrefs_read(nlh, &r);
	nftnl_expr_foreach(x, expr_cb, &r);
	ud = nftnl_rule_get_data(x, NFTNL_RULE_USERDATA, &len);
	if (ud && len)
		nftnl_udata_parse(ud, len, comment_cb, &comment);
	if (comment)
		put(&l, "comment \"%s\"", comment);
	else if (l.n)
		l.s[--l.n] = 0; /* the trailing space */
	fprintf(out, "add rule %s: %s\n", nftnl_rule_get_str(x, NFTNL_RULE_CHAIN), l.s);
	nftnl_rule_free(x);
}

/* ---- sets and their elements -------------------------------------------------------------- */

/* nftables' datatype numbers (nft_build.c): 6 bits per field of a concatenation. */
enum { T_IPV4 = 7, T_IPV6 = 8, T_PROTO = 12, T_SERVICE = 13, T_IFNAME = 41 };

static const char *type_name(uint32_t t)
{
	switch (t) {
	case T_IPV4:
		return "ipv4_addr";
	case T_IPV6:
		return "ipv6_addr";
	case T_PROTO:
		return "inet_proto";
	case T_SERVICE:
		return "inet_service";
	case T_IFNAME:
		return "ifname";
	default:
		return "?";
	}
}

struct set_state {
	char name[128];
	uint32_t key_type; /* the first field's type (or the only one) */
	uint32_t key_len;
	bool concat;
	uint8_t pending[16]; /* an interval start waiting for its end element */
	bool has_pending;
	size_t n;
	struct line *l;
};

static void addr_str(const uint8_t *a, uint32_t len, char *buf, size_t n)
{
	inet_ntop(len == 4 ? AF_INET : AF_INET6, a, buf, (socklen_t)n);
}

static void flush_pending(struct set_state *ss)
{
	char a[INET6_ADDRSTRLEN];

	if (!ss->has_pending)
		return;
	/* a start without an end: the interval reaches the top of the address space */
	addr_str(ss->pending, ss->key_len, a, sizeof(a));
	put(ss->l, "%s%s-%s", ss->n++ ? ", " : "", a,
	    ss->key_len == 4 ? "255.255.255.255" : "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	ss->has_pending = false;
}

/* One element (NFTA_LIST_ELEM of NFTA_SET_ELEM_LIST_ELEMENTS). */
static void elem_print(const struct nlattr *el, struct set_state *ss)
{
	const struct nlattr *kv = child(child(el, NFTA_SET_ELEM_KEY), NFTA_DATA_VALUE);
	const struct nlattr *kev = child(child(el, NFTA_SET_ELEM_KEY_END), NFTA_DATA_VALUE);
	const struct nlattr *fl = child(el, NFTA_SET_ELEM_FLAGS);
	const struct nlattr *ch =
		child(child(child(el, NFTA_SET_ELEM_DATA), NFTA_DATA_VERDICT), NFTA_VERDICT_CHAIN);
	uint32_t klen = kv ? mnl_attr_get_payload_len(kv) : 0;
	uint32_t elen = kev ? mnl_attr_get_payload_len(kev) : 0;
	const uint8_t *k = kv ? mnl_attr_get_payload(kv) : NULL;
	const uint8_t *ke = kev ? mnl_attr_get_payload(kev) : NULL;
	bool end = fl && (ntohl(mnl_attr_get_u32(fl)) & NFT_SET_ELEM_INTERVAL_END);
	const char *sep = ss->n ? ", " : "";

	if (!k)
		return;
	if (ss->concat && klen >= 8) {
		/* inet_proto . inet_service, each field in a 32-bit register */
		unsigned int lo = (unsigned int)(k[4] << 8 | k[5]);
		unsigned int hi = ke && elen >= 8 ? (unsigned int)(ke[4] << 8 | ke[5]) : lo;
		const char *p = proto_name(k[0]);

		put(ss->l, "%s%s . %u", sep, p ? p : "?", lo);
		if (hi != lo)
			put(ss->l, "-%u", hi);
		ss->n++;
	} else if (ss->key_type == T_IPV4 || ss->key_type == T_IPV6) {
		char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
		uint8_t last[16];

		if (!end) {
			flush_pending(ss);
			memcpy(ss->pending, k, klen < 16 ? klen : 16);
			ss->has_pending = true;
			return;
		}
		/* an end element: one past the interval's last address */
		memcpy(last, k, klen < 16 ? klen : 16);
		for (int i = (int)ss->key_len - 1; i >= 0 && last[i]-- == 0; i--)
			;
		addr_str(ss->pending, ss->key_len, a, sizeof(a));
		addr_str(last, ss->key_len, b, sizeof(b));
		put(ss->l, "%s%s-%s", sep, a, b);
		ss->has_pending = false;
		ss->n++;
	} else if (ss->key_type == T_IFNAME) {
		put(ss->l, "%s\"%.*s\"", sep, (int)strnlen((const char *)k, klen), (const char *)k);
		if (ch) {
			char chain[64];

			attr_str(ch, chain, sizeof(chain));
			put(ss->l, " : jump %s", chain);
		}
		ss->n++;
	} else if (ss->key_type == T_PROTO) {
		const char *p = proto_name(k[0]);

		if (p)
			put(ss->l, "%s%s", sep, p);
		else
			put(ss->l, "%s%u", sep, k[0]);
		ss->n++;
	}
}

static void print_set(const struct nlmsghdr *nlh, struct set_state *ss, FILE *out)
{
	struct nftnl_set *x = nftnl_set_alloc();
	uint32_t kt, flags;
	struct line l = { .n = 0 };
	char types[128] = "";

	if (!x || nftnl_set_nlmsg_parse(nlh, x) < 0) {
		fprintf(out, "add set: (unreadable)\n");
		nftnl_set_free(x);
		return;
	}
	memset(ss, 0, sizeof(*ss));
	snprintf(ss->name, sizeof(ss->name), "%s", nftnl_set_get_str(x, NFTNL_SET_NAME));
	kt = nftnl_set_get_u32(x, NFTNL_SET_KEY_TYPE);
	flags = nftnl_set_get_u32(x, NFTNL_SET_FLAGS);
	ss->key_len = nftnl_set_get_u32(x, NFTNL_SET_KEY_LEN);
	ss->concat = kt >> 6 != 0;
	/* fields, last in the low bits */
	{
		uint32_t f[4];
		int n = 0;

		for (uint32_t t = kt; t && n < 4; t >>= 6)
			f[n++] = t & 63;
		ss->key_type = n ? f[n - 1] : 0;
		for (int i = n - 1; i >= 0; i--)
			snprintf(types + strlen(types), sizeof(types) - strlen(types), "%s%s",
				 type_name(f[i]), i ? " . " : "");
	}
	put(&l, "type %s%s", types, flags & NFT_SET_MAP ? " : verdict" : "");
	if (nftnl_set_is_set(x, NFTNL_SET_DESC_SIZE))
		put(&l, "; size %u", nftnl_set_get_u32(x, NFTNL_SET_DESC_SIZE));
	if (flags & NFT_SET_INTERVAL)
		put(&l, "; flags interval");
	fprintf(out, "add set %s { %s }\n", ss->name, l.s);
	nftnl_set_free(x);
}

/* more: the next message adds elements to the same set (an interval's start may wait for
 * its end there); without it, a start without an end reaches the top of the space. */
static void print_elems(const struct nlmsghdr *nlh, struct set_state *ss, bool more, FILE *out)
{
	const struct nlattr *list = top(nlh, NFTA_SET_ELEM_LIST_ELEMENTS), *el;
	struct line l = { .n = 0 };
	char name[128];

	attr_str(top(nlh, NFTA_SET_ELEM_LIST_SET), name, sizeof(name));
	ss->l = &l;
	ss->n = 0;
	if (list)
		mnl_attr_for_each_nested(el, list) elem_print(el, ss);
	if (!more)
		flush_pending(ss);
	fprintf(out, "add element %s { %s }\n", name, l.s);
	ss->l = NULL;
}

/* ---- chains, counters, the table ---------------------------------------------------------- */

static void print_chain(const struct nlmsghdr *nlh, FILE *out)
{
	struct nftnl_chain *x = nftnl_chain_alloc();

	if (!x || nftnl_chain_nlmsg_parse(nlh, x) < 0) {
		fprintf(out, "add chain: (unreadable)\n");
		nftnl_chain_free(x);
		return;
	}
	fprintf(out, "add chain %s", nftnl_chain_get_str(x, NFTNL_CHAIN_NAME));
	if (nftnl_chain_is_set(x, NFTNL_CHAIN_HOOKNUM)) {
		uint32_t h = nftnl_chain_get_u32(x, NFTNL_CHAIN_HOOKNUM);

		fprintf(out, " { type filter hook %s",
			h == NF_INET_INGRESS   ? "ingress" :
			h == NF_INET_FORWARD   ? "forward" :
			h == NF_INET_LOCAL_OUT ? "output" :
			h == NF_INET_LOCAL_IN  ? "input" :
						 "?");
		if (nftnl_chain_is_set(x, NFTNL_CHAIN_DEV))
			fprintf(out, " device \"%s\"", nftnl_chain_get_str(x, NFTNL_CHAIN_DEV));
		fprintf(out, " priority %d; policy %s; }", nftnl_chain_get_s32(x, NFTNL_CHAIN_PRIO),
			nftnl_chain_get_u32(x, NFTNL_CHAIN_POLICY) == NF_DROP ? "drop" : "accept");
	}
	fprintf(out, "\n");
	nftnl_chain_free(x);
}

static void print_counter(const struct nlmsghdr *nlh, FILE *out)
{
	struct nftnl_obj *x = nftnl_obj_alloc();

	if (!x || nftnl_obj_nlmsg_parse(nlh, x) < 0)
		fprintf(out, "add counter: (unreadable)\n");
	else
		fprintf(out, "add counter %s\n", nftnl_obj_get_str(x, NFTNL_OBJ_NAME));
	nftnl_obj_free(x);
}

static void owner_head(const struct plan *pol, const struct nft_owner *ow, FILE *out)
{
	if (ow->kind == NFT_OWN_RULE && ow->idx >= 0 && (size_t)ow->idx < pol->n_rules)
		fprintf(out, "\n# rule %s (line %u)\n", pol->rules[ow->idx].name,
			pol->rules[ow->idx].line);
	else if (ow->kind == NFT_OWN_IFACE && ow->idx >= 0 && (size_t)ow->idx < pol->n_ifaces)
		fprintf(out, "\n# interface %s (line %u)\n", pol->ifaces[ow->idx].name,
			pol->ifaces[ow->idx].loc.line);
	else
		fprintf(out, "\n# %s\n", ow->kind == NFT_OWN_TABLE ? "table" : "policy");
}

int nft_batch_print(const struct nft_batch *b, const struct plan *pol, FILE *out)
{
	const struct nft_owner *prev = NULL;
	struct set_state *ss = calloc(1, sizeof(*ss));
	size_t off = 0;

	if (!ss)
		return -ENOMEM;
	fprintf(out, "# table inet %s: %u rules, %u sets (%u elements), %u chains, %u counters\n",
		NFT_TLSFW_TABLE, b->n_rules, b->n_sets, b->n_elems, b->n_chains, b->n_counters);
	fprintf(out, "# what apply sends to a namespace without the table, in order\n");
	for (size_t i = 0; i < b->n_msgs && off < b->len; i++) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)(b->buf + off);
		const struct nft_owner *ow = &b->owner[i];
		int type = nlh->nlmsg_type & 0xff;

		off += NLMSG_ALIGN(nlh->nlmsg_len);
		if (nlh->nlmsg_type == NFNL_MSG_BATCH_BEGIN) {
			fprintf(out, "\n# ---- transaction %s\n",
				i ? "2: the switch" : "1: the sets (nothing uses them yet)");
			prev = NULL;
			continue;
		}
		if (nlh->nlmsg_type == NFNL_MSG_BATCH_END)
			continue;
		if (!prev || prev->kind != ow->kind || prev->idx != ow->idx)
			owner_head(pol, ow, out);
		prev = ow;
		switch (type) {
		case NFT_MSG_NEWTABLE:
			fprintf(out, "add table inet %s\n", NFT_TLSFW_TABLE);
			break;
		case NFT_MSG_NEWCHAIN:
			print_chain(nlh, out);
			break;
		case NFT_MSG_NEWRULE:
			print_rule(nlh, out);
			break;
		case NFT_MSG_NEWSET:
			print_set(nlh, ss, out);
			break;
		case NFT_MSG_NEWSETELEM: {
			const struct nlmsghdr *next = (const struct nlmsghdr *)(b->buf + off);
			bool more = off < b->len &&
				    (next->nlmsg_type & 0xff) == NFT_MSG_NEWSETELEM &&
				    next->nlmsg_type != NFNL_MSG_BATCH_END;

			print_elems(nlh, ss, more, out);
			break;
		}
		case NFT_MSG_NEWOBJ:
			print_counter(nlh, out);
			break;
		default:
			fprintf(out, "%s\n", ow->what);
			break;
		}
	}
	free(ss);
	return 0;
}
