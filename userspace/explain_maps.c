// SPDX-License-Identifier: GPL-2.0
/*
 * The data plane's classification (bpf/decide.h: context, classify) done from userspace on
 * the enforced maps: the same tables, read in the form tlsfw_cfg names, in the same order.
 * What the programs would decide for a packet, without sending one. When decide.h gains a
 * look-up (a payload class, conntrack state), this file gains the same one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "explain_maps.h"
#include "name_table.h"

/* The inner map of generation gen in an array of maps: fd, or -ENOENT when it has none. */
static int inner_map(int outer, uint32_t gen)
{
	uint32_t id;
	int fd;

	if (bpf_map_lookup_elem(outer, &gen, &id))
		return errno == ENOENT ? -ENOENT : -errno;
	fd = bpf_map_get_fd_by_id(id);
	return fd < 0 ? -errno : fd;
}

/* A look-up in generation gen's map of an array of maps: 0, -ENOENT (no map, no entry). */
static int gen_lookup(int outer, uint32_t gen, const void *key, void *val)
{
	int fd = inner_map(outer, gen), err = 0;

	if (fd < 0)
		return fd;
	if (bpf_map_lookup_elem(fd, key, val))
		err = -errno;
	close(fd);
	return err;
}

static int array_word(int fd, uint32_t idx, uint32_t *out)
{
	return bpf_map_lookup_elem(fd, &idx, out) ? -errno : 0;
}

static int addr_class(int outer, uint32_t gen, const uint8_t *addr, uint32_t *cls)
{
	struct tlsfw_lpm_key k = { .prefixlen = 128 };

	memcpy(k.addr, addr, 16);
	return gen_lookup(outer, gen, &k, cls);
}

/* classify_addrs: B, or -ENOENT when no rule can match. */
static int classify_addrs(const struct bpf_maps *m, uint32_t gen, uint32_t fields,
			  const struct explain_pkt *p, uint32_t *b)
{
	struct tlsfw_comb_key k = { 0 };
	int err = 0;

	if (fields & TLSFW_F_SRC)
		err = addr_class(m->src, gen, p->src, &k.a);
	if (!err && (fields & TLSFW_F_DST))
		err = addr_class(m->dst, gen, p->dst, &k.b);
	return err ?: gen_lookup(m->comb2, gen, &k, b);
}

/* Phase 0 and comb1: A (or, fused, the rule word in *rule with *fused set). unknown: the
 * packet's state and content class not known yet, the data plane's first lookup. */
static int classify_a(const struct explain_live *l, const struct explain_pkt *p, uint32_t ctx_cls,
		      bool unknown, uint32_t *a, uint32_t *rule, bool *fused)
{
	const struct tlsfw_cfg *cfg = &l->cfg;
	struct tlsfw_comb_key k = { 0 };
	uint32_t idx, fam = p->family == 6, ct, pl;
	int err;

	/* The packet's state as given (--state), else one that no state rule lists: as
	 * explain_plan, state rules then do not match. */
	ct = p->ct_state ? p->ct_state : TLSFW_CT_NONE;
	/* The content class as given (--payload), else PLAIN, which no content rule admits:
	 * content rules then do not match, as in explain_plan. */
	pl = p->pl ? p->pl : TLSFW_PL_PLAIN;
	if (unknown)
		ct = TLSFW_CT_UNKNOWN, pl = TLSFW_PL_UNKNOWN;
	err = array_word(l->m->proto,
			 l->gen * TLSFW_PROTO_SLOTS + (ct * TLSFW_PL_VALUES + pl) * 512 +
				 fam * 256 + p->proto,
			 &k.a);
	if (!err && (cfg->fields & TLSFW_F_SPORT))
		err = array_word(l->m->sport,
				 l->gen * TLSFW_PORT_SLOTS +
					 (p->has_ports ? p->sport : TLSFW_PORT_NONE),
				 &k.b);
	if (!err && (cfg->fields & TLSFW_F_DPORT))
		err = array_word(l->m->dport, l->gen * TLSFW_PORT_SLOTS + explain_dkey(p), &k.c);
	if (err)
		return err;
	if (!(cfg->flags & TLSFW_CFG_COMB1_DIRECT))
		return gen_lookup(l->m->comb1, l->gen, &k, a);
	idx = (k.a * cfg->n_sport + k.b) * cfg->n_dport + k.c;
	if (idx >= cfg->comb1_len)
		return -ENOENT;
	if (cfg->flags & TLSFW_CFG_FUSED) {
		*fused = true;
		*rule = l->words[(cfg->comb1_base + ctx_cls * cfg->comb1_len + idx) &
				 (TLSFW_DIRECT_WORDS - 1)];
		return 0;
	}
	*a = l->words[(cfg->comb1_base + idx) & (TLSFW_DIRECT_WORDS - 1)];
	if (!*a)
		return -ENOENT;
	(*a)--;
	return 0;
}

/* classify(): the rule word, 0 when no rule matches (unknown: as for classify_a). */
static int classify(const struct explain_live *l, const struct explain_pkt *p, uint32_t ctx_cls,
		    bool unknown, uint32_t *rule)
{
	const struct tlsfw_cfg *cfg = &l->cfg;
	struct tlsfw_comb_key k = { .a = ctx_cls };
	struct tlsfw_rule_val rv;
	bool fused = false;
	uint32_t a = 0, b, idx;
	int err;

	*rule = 0;
	if ((cfg->flags & (TLSFW_CFG_B_CONST | TLSFW_CFG_NO_MATCH)) ==
	    (TLSFW_CFG_B_CONST | TLSFW_CFG_NO_MATCH))
		return 0;
	err = classify_a(l, p, ctx_cls, unknown, &a, rule, &fused);
	if (err || fused)
		return err == -ENOENT ? 0 : err;
	if (cfg->flags & TLSFW_CFG_B_CONST)
		b = cfg->b_const;
	else if ((err = classify_addrs(l->m, l->gen, cfg->fields, p, &b)))
		return err == -ENOENT ? 0 : err;
	if (cfg->flags & TLSFW_CFG_COMB3_DIRECT) {
		idx = (ctx_cls * cfg->n_a + a) * cfg->n_b + b;
		if (idx < cfg->comb3_len)
			*rule = l->words[(cfg->comb3_base + idx) & (TLSFW_DIRECT_WORDS - 1)];
		return 0;
	}
	k.b = a;
	k.c = b;
	err = gen_lookup(l->m->comb3, l->gen, &k, &rv);
	if (err)
		return err == -ENOENT ? 0 : err;
	/* as the data plane's rule_word() builds it (bpf/decide.h) */
	*rule = TLSFW_DW_VALID | (rv.monitor ? TLSFW_DW_MONITOR : 0) |
		(rv.content & TLSFW_RV_INSPECT ? TLSFW_DW_INSPECT : 0) |
		(rv.content & TLSFW_RV_REQUIRE ? TLSFW_DW_REQUIRE : 0) |
		(rv.content & TLSFW_RV_NAME ? TLSFW_DW_NAME : 0) |
		(rv.content & TLSFW_RV_STATE ? TLSFW_DW_STATE : 0) |
		(rv.content & TLSFW_RV_LOG ? TLSFW_DW_LOG : 0) |
		(uint32_t)(rv.action & 3) << TLSFW_DW_ACTION_SHIFT | (rv.rule_slot & TLSFW_DW_LOW);
	return 0;
}

static int map_find(void *fd, const struct tlsfw_name_key *k, struct tlsfw_name_val *v)
{
	return bpf_map_lookup_elem(*(int *)fd, k, v) ? -errno : 0;
}

/* The content class of p's ClientHello (--sni) under the active generation: its name class
 * read from tlsfw_names as bpf/names.h reads it. */
static int live_hello_pl(const struct explain_live *l, const struct explain_pkt *p, uint8_t *pl)
{
	bool names = l->cfg.flags & TLSFW_CFG_NAMES;
	struct tlsfw_content_cfg cc;
	uint32_t cls = 0;
	int fd = l->m->names;

	if (names && p->sni[0]) {
		if (bpf_map_lookup_elem(l->m->content_cfg, &l->gen, &cc))
			return -errno;
		cls = name_class_of(p->sni, cc.seed, cc.wild_mask, l->gen, map_find, &fd);
	}
	*pl = explain_hello_pl(p, names, cls);
	return 0;
}

int explain_live_open(struct explain_live *l, const struct bpf_maps *m)
{
	uint32_t zero = 0;
	struct tlsfw_state st = { 0 };
	int err = 0;

	memset(l, 0, sizeof(*l));
	l->m = m;
	l->words = malloc(sizeof(struct tlsfw_words));
	if (!l->words)
		return -ENOMEM;
	if (bpf_map_lookup_elem(m->state, &zero, &st))
		err = -errno;
	l->gen = st.gen & 1;
	if (!err && bpf_map_lookup_elem(m->cfg, &l->gen, &l->cfg))
		err = -errno;
	/* one copy of the generation's direct words (4 MiB), as the programs see them */
	if (!err && bpf_map_lookup_elem(m->direct, &l->gen, l->words))
		err = -errno;
	if (err)
		explain_live_close(l);
	return err;
}

void explain_live_close(struct explain_live *l)
{
	free(l->words);
	l->words = NULL;
}

int explain_live_decide(const struct explain_live *l, uint32_t ifindex,
			const struct explain_pkt *in, struct explain_live_verdict *v)
{
	struct explain_pkt q = *in, *p = &q;
	struct tlsfw_ctx_key ck = { .ifindex = ifindex, .gen = l->gen, .dir = p->dir };
	struct tlsfw_ctx_val cv = { 0 };
	uint32_t cw;
	int err;

	memset(v, 0, sizeof(*v));
	v->default_action = l->cfg.default_action;
	if (ifindex >= TLSFW_IFX_DIRECT && bpf_map_lookup_elem(l->m->ctx, &ck, &cv) &&
	    errno != ENOENT)
		return -errno;
	cw = ifindex < TLSFW_IFX_DIRECT ? l->words[p->dir * TLSFW_IFX_DIRECT + ifindex] : cv.word;
	if (!(cw & TLSFW_DW_VALID) ||
	    ((cw >> TLSFW_DW_SLOT_SHIFT) & TLSFW_DW_SLOT_MASK) >= TLSFW_MAX_CTX)
		return 0;
	v->hooked = true;
	err = q.hello ? live_hello_pl(l, &q, &q.pl) : 0;
	/*
	 * Two lookups, as the data plane's decide_rule(): state and content UNKNOWN first, and
	 * under the packet's facts only when that finds a rule with a state or content
	 * condition. The result is the one lookup under the facts would give (every rule admits
	 * UNKNOWN: a rule found first without such a condition is the first that matches under
	 * any facts), and reads only the protocol slots a policy without such rules has written
	 * (plan_proto_slots in plan.h).
	 */
	err = err ?: classify(l, p, cw & TLSFW_DW_LOW, true, &v->rule_word);
	if (!err && (v->rule_word & (TLSFW_DW_INSPECT | TLSFW_DW_STATE)))
		err = classify(l, p, cw & TLSFW_DW_LOW, false, &v->rule_word);
	if (err)
		return err;
	v->matched = v->rule_word != 0;
	v->rule_slot = v->rule_word & TLSFW_DW_LOW;
	v->action = (v->rule_word >> TLSFW_DW_ACTION_SHIFT) & 3;
	v->monitor = !!(v->rule_word & TLSFW_DW_MONITOR);
	return 0;
}
