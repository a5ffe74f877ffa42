// SPDX-License-Identifier: GPL-2.0
/* One item of a rule of the nftables ruleset as libnftnl expressions (nft_expr.h). */
#include <errno.h>
#include <stdio.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/expr.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>

#include "nft_expr.h"
#include "policy.h"

/* "<name>.<generation>" for staged sets: the sets of the policy in force and of the one
 * replacing it exist side by side between the two transactions of an apply. */
void nft_set_fullname(const struct nft_rs_set *s, char tag, char *buf, size_t len)
{
	if (s->staged)
		snprintf(buf, len, "%s.%c", s->name, tag);
	else
		snprintf(buf, len, "%s", s->name);
}

int nft_item_set(const struct nft_rs_item *it)
{
	return it->kind == NFT_I_OIFNAME || it->kind == NFT_I_L4PROTO_SET ||
			       it->kind == NFT_I_PORT_SET || it->kind == NFT_I_PORT_VMAP ||
			       it->kind == NFT_I_ADDR_SET ?
		       it->ref :
		       -1;
}

void nft_chain_fullname(const struct nft_rs_chain *ch, char tag, char *buf, size_t len)
{
	if (ch->staged)
		snprintf(buf, len, "%s.%c", ch->name, tag);
	else
		snprintf(buf, len, "%s", ch->name);
}

/* ---- expressions -------------------------------------------------------------------------- */

static struct nftnl_expr *expr(struct nft_expr_ctx *c, struct nftnl_rule *r, const char *name)
{
	struct nftnl_expr *e;

	if (c->err)
		return NULL;
	e = nftnl_expr_alloc(name);
	if (!e) {
		c->err = -ENOMEM;
		return NULL;
	}
	nftnl_rule_add_expr(r, e);
	return e;
}

static void e_meta(struct nft_expr_ctx *c, struct nftnl_rule *r, uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *e = expr(c, r, "meta");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
}

static void e_cmp(struct nft_expr_ctx *c, struct nftnl_rule *r, uint32_t op, const void *data,
		  uint32_t len)
{
	struct nftnl_expr *e = expr(c, r, "cmp");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
}

static void e_payload(struct nft_expr_ctx *c, struct nftnl_rule *r, uint32_t base, uint32_t off,
		      uint32_t len, uint32_t dreg)
{
	struct nftnl_expr *e = expr(c, r, "payload");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
}

static void e_lookup(struct nft_expr_ctx *c, struct nftnl_rule *r, uint32_t sreg, const char *set,
		     bool vmap)
{
	struct nftnl_expr *e = expr(c, r, "lookup");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, sreg);
	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
	if (vmap)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, NFT_REG_VERDICT);
}

static void e_bitwise(struct nft_expr_ctx *c, struct nftnl_rule *r, const void *mask, uint32_t len)
{
	struct nftnl_expr *e = expr(c, r, "bitwise");
	uint8_t zero[16] = { 0 };

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero, len);
}

/* IPv6 fragment header (type 44): present, or its offset field */
static void e_exthdr_frag(struct nft_expr_ctx *c, struct nftnl_rule *r, bool offset)
{
	struct nftnl_expr *e = expr(c, r, "exthdr");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_DREG, NFT_REG_1);
	nftnl_expr_set_u8(e, NFTNL_EXPR_EXTHDR_TYPE, IPPROTO_FRAGMENT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_OFFSET, offset ? 2 : 0);
	nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_LEN, offset ? 2 : 1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_OP, NFT_EXTHDR_OP_IPV6);
	if (!offset)
		nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_FLAGS, NFT_EXTHDR_F_PRESENT);
}

static void ct_state_item(struct nft_expr_ctx *c, struct nftnl_rule *r, uint32_t bits)
{
	struct nftnl_expr *e = expr(c, r, "ct");
	uint32_t zero = 0;

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_STATE);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
	e_bitwise(c, r, &bits, sizeof(bits));
	e_cmp(c, r, NFT_CMP_NEQ, &zero, sizeof(zero));
}

static void e_counter(struct nft_expr_ctx *c, struct nftnl_rule *r, const char *name)
{
	struct nftnl_expr *e = expr(c, r, "objref");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_OBJREF_IMM_TYPE, NFT_OBJECT_COUNTER);
	nftnl_expr_set_str(e, NFTNL_EXPR_OBJREF_IMM_NAME, name);
}

static void e_verdict(struct nft_expr_ctx *c, struct nftnl_rule *r, int verdict, const char *chain)
{
	struct nftnl_expr *e = expr(c, r, "immediate");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, verdict);
	if (chain)
		nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain);
}

static void e_reject(struct nft_expr_ctx *c, struct nftnl_rule *r, uint32_t type, uint8_t code)
{
	struct nftnl_expr *e = expr(c, r, "reject");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, type);
	nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, code);
}

/* ---- items ------------------------------------------------------------------------------------ */

static void port_item(struct nft_expr_ctx *c, struct nftnl_rule *r, const struct nft_rs_item *it)
{
	uint16_t lo = htons(it->lo), hi = htons(it->hi);

	e_meta(c, r, NFT_META_L4PROTO, NFT_REG_1);
	e_cmp(c, r, NFT_CMP_EQ, &it->proto, 1);
	e_payload(c, r, NFT_PAYLOAD_TRANSPORT_HEADER, it->src ? 0 : 2, 2, NFT_REG_1);
	if (it->lo == it->hi) {
		e_cmp(c, r, NFT_CMP_EQ, &lo, 2);
	} else { /* big-endian bytes compare as numbers */
		e_cmp(c, r, NFT_CMP_GTE, &lo, 2);
		e_cmp(c, r, NFT_CMP_LTE, &hi, 2);
	}
}

/* The type is the first byte of the ICMP header, as `icmp type` / `icmpv6 type` load it. */
static void icmp_type_item(struct nft_expr_ctx *c, struct nftnl_rule *r,
			   const struct nft_rs_item *it)
{
	uint8_t lo = it->lo, hi = it->hi;

	e_meta(c, r, NFT_META_L4PROTO, NFT_REG_1);
	e_cmp(c, r, NFT_CMP_EQ, &it->proto, 1);
	e_payload(c, r, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1, NFT_REG_1);
	if (lo == hi) {
		e_cmp(c, r, NFT_CMP_EQ, &lo, 1);
	} else {
		e_cmp(c, r, NFT_CMP_GTE, &lo, 1);
		e_cmp(c, r, NFT_CMP_LTE, &hi, 1);
	}
}

static void addr_item(struct nft_expr_ctx *c, struct nftnl_rule *r, const struct nft_rs_item *it)
{
	bool v4 = it->fam == POL_FAM_V4;
	uint32_t off = v4 ? (it->src ? 12 : 16) : (it->src ? 8 : 24), alen = v4 ? 4 : 16;
	char name[96];

	e_payload(c, r, NFT_PAYLOAD_NETWORK_HEADER, off, alen, NFT_REG_1);
	if (it->kind == NFT_I_ADDR) { /* addr & mask == network */
		uint8_t mask[16] = { 0 }, net[16] = { 0 };

		for (uint32_t b = 0; b < alen; b++) {
			unsigned int bits = it->plen > 8 * b ? it->plen - 8 * b : 0;

			mask[b] = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));
			net[b] = it->addr[b] & mask[b];
		}
		e_bitwise(c, r, mask, alen);
		e_cmp(c, r, NFT_CMP_EQ, net, alen);
		return;
	}
	nft_set_fullname(&c->rs->sets[it->ref], c->tag, name, sizeof(name));
	e_lookup(c, r, NFT_REG_1, name, false);
}

static void frag_item(struct nft_expr_ctx *c, struct nftnl_rule *r, const struct nft_rs_item *it)
{
	uint16_t zero = 0;

	if (it->kind == NFT_I_FRAG4) {
		uint16_t mask = htons(it->lo);

		e_payload(c, r, NFT_PAYLOAD_NETWORK_HEADER, 6, 2, NFT_REG_1);
		e_bitwise(c, r, &mask, 2);
		e_cmp(c, r, NFT_CMP_NEQ, &zero, 2);
	} else if (it->kind == NFT_I_FRAG6) {
		uint8_t one = 1;

		e_exthdr_frag(c, r, false);
		e_cmp(c, r, NFT_CMP_EQ, &one, 1);
	} else {
		uint16_t mask = htons(0xfff8);

		e_exthdr_frag(c, r, true);
		e_bitwise(c, r, &mask, 2);
		e_cmp(c, r, NFT_CMP_NEQ, &zero, 2);
	}
}

/* The expressions of one item of a rule. Long only because it is one flat case per item kind
 * (enum nft_item_kind), mirroring print_item in plan_print_nft.c case for case. */
void nft_item_exprs(struct nft_expr_ctx *c, struct nftnl_rule *r, const struct nft_rs_item *it)
{
	char name[176];
	uint8_t v;

	switch (it->kind) {
	case NFT_I_NFPROTO:
		v = it->fam == POL_FAM_V4 ? NFPROTO_IPV4 : NFPROTO_IPV6;
		e_meta(c, r, NFT_META_NFPROTO, NFT_REG_1);
		e_cmp(c, r, NFT_CMP_EQ, &v, 1);
		break;
	case NFT_I_L4PROTO:
		e_meta(c, r, NFT_META_L4PROTO, NFT_REG_1);
		e_cmp(c, r, NFT_CMP_EQ, &it->proto, 1);
		break;
	case NFT_I_L4PROTO_SET:
		nft_set_fullname(&c->rs->sets[it->ref], c->tag, name, sizeof(name));
		e_meta(c, r, NFT_META_L4PROTO, NFT_REG_1);
		e_lookup(c, r, NFT_REG_1, name, false);
		break;
	case NFT_I_PORT:
		port_item(c, r, it);
		break;
	case NFT_I_PORT_SET:
		nft_set_fullname(&c->rs->sets[it->ref], c->tag, name, sizeof(name));
		e_meta(c, r, NFT_META_L4PROTO, NFT_REG32_00);
		e_payload(c, r, NFT_PAYLOAD_TRANSPORT_HEADER, it->src ? 0 : 2, 2, NFT_REG32_01);
		e_lookup(c, r, NFT_REG32_00, name, false);
		break;
	case NFT_I_PORT_VMAP:
		nft_set_fullname(&c->rs->sets[it->ref], c->tag, name, sizeof(name));
		e_meta(c, r, NFT_META_L4PROTO, NFT_REG_1);
		e_cmp(c, r, NFT_CMP_EQ, &it->proto, 1);
		e_payload(c, r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
		e_lookup(c, r, NFT_REG_1, name, true);
		break;
	case NFT_I_ADDR:
	case NFT_I_ADDR_SET:
		addr_item(c, r, it);
		break;
	case NFT_I_FRAG4:
	case NFT_I_FRAG6:
	case NFT_I_FRAG6_OFF:
		frag_item(c, r, it);
		break;
	case NFT_I_OIFNAME:
		e_meta(c, r, NFT_META_OIFNAME, NFT_REG_1);
		e_lookup(c, r, NFT_REG_1, c->rs->sets[it->ref].name, true);
		break;
	case NFT_I_COUNTER:
		e_counter(c, r, c->rs->counters[it->ref].name);
		break;
	case NFT_I_ACCEPT:
		e_verdict(c, r, NF_ACCEPT, NULL);
		break;
	case NFT_I_DROP:
		e_verdict(c, r, NF_DROP, NULL);
		break;
	case NFT_I_GOTO:
		nft_chain_fullname(&c->rs->chains[it->ref], c->tag, name, sizeof(name));
		e_verdict(c, r, NFT_GOTO, name);
		break;
	case NFT_I_REJECT_TCP:
		e_reject(c, r, NFT_REJECT_TCP_RST, 0);
		break;
	case NFT_I_REJECT_ICMPX:
		e_reject(c, r, NFT_REJECT_ICMPX_UNREACH, NFT_REJECT_ICMPX_ADMIN_PROHIBITED);
		break;
	case NFT_I_ICMP_TYPE:
		icmp_type_item(c, r, it);
		break;
	case NFT_I_CT_STATE: /* ct state & bits != 0, as nft writes a set of flags */
		ct_state_item(c, r, it->lo);
		break;
	case NFT_I_IIFNAME_NE:
		e_meta(c, r, NFT_META_IIFNAME, NFT_REG_1);
		e_cmp(c, r, NFT_CMP_NEQ, it->addr, IFNAMSIZ);
		break;
	case NFT_I_HOPLIMIT: /* ip6 hoplimit: byte 7 of the IPv6 header */
		v = it->lo;
		e_payload(c, r, NFT_PAYLOAD_NETWORK_HEADER, 7, 1, NFT_REG_1);
		e_cmp(c, r, NFT_CMP_EQ, &v, 1);
		break;
	}
}
