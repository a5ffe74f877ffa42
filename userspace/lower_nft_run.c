// SPDX-License-Identifier: GPL-2.0
/*
 * Stage 3, the nftables half: runs (lower_nft_priv.h). A run is NFT_RUN_MIN or more
 * consecutive rules of a chain that match destination ports alone; the chain looks the port
 * up once, in a verdict map per protocol, which jumps to the rule chain of the first member
 * holding the port: the rule first-match evaluation of the run picks. The kernel finds sets by
 * name in a list, so a set per rule made applies quadratic in the number of rules; a run needs
 * two sets whatever its length, and chains and counters are found through hash tables.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <linux/netfilter/nf_tables.h>

#include "lower_nft_priv.h"
#include "port_paint.h"

/*
 * A rule that matches destination ports and nothing else: its match is exactly the
 * (protocol . port) intervals of dport_by. A match added to struct plan_rule (payload,
 * icmp_type, state, ...) must make this false.
 */
static bool port_only(const struct plan_rule *r)
{
	/* ICMP types, hop limits, a family per term (the essentials rule) and content matches
	 * are more than a port: such a rule keeps its own nft rules */
	if (!r->n_terms || !r->any_dport || r->any_sport || r->has_src || r->has_dst ||
	    r->fams != (POL_FAM_V4 | POL_FAM_V6) || r->has_type || r->payload_quic ||
	    r->require_tls || r->state)
		return false;
	for (size_t i = 0; i < r->n_terms; i++)
		if (!r->terms[i].has_dport || r->terms[i].has_sport)
			return false;
	return true;
}

/* The run of port-only rules of chain (ii, egress) from rule start: its members are the rules
 * of [start, *end) that apply there. Returns their number. */
size_t nl_run_at(const struct plan *pl, size_t ii, bool egress, size_t start, size_t *end)
{
	size_t n = 0, ri;

	for (ri = start; ri < pl->n_rules; ri++) {
		if (!nl_rule_applies(&pl->rules[ri], ii, egress))
			continue;
		if (!port_only(&pl->rules[ri]))
			break;
		n++;
	}
	*end = ri;
	return n;
}

/* in_run[ri]: the rule is a member of a run in every chain it applies to, so it needs no set
 * of its own. */
void nl_runs_mark(struct nctx *c)
{
	const struct plan *pl = c->pl;

	for (size_t ri = 0; ri < pl->n_rules; ri++)
		c->in_run[ri] = port_only(&pl->rules[ri]);
	for (size_t k = 0; k < 2 * pl->n_ifaces; k++) {
		size_t ii = k / 2, end;
		bool egress = k % 2;

		if (!(pl->ifaces[ii].hooks & (egress ? POL_HOOK_EGRESS : POL_HOOK_INGRESS)))
			continue;
		for (size_t ri = 0; ri<pl->n_rules; ri = end> ri ? end : ri + 1)
			if (nl_run_at(pl, ii, egress, ri, &end) < NFT_RUN_MIN)
				for (size_t m = ri; m < end; m++)
					if (nl_rule_applies(&pl->rules[m], ii, egress))
						c->in_run[m] = false;
	}
}

/* The verdict map of the run's ports of protocol k ("lan0/in/udp0"), or -1 if none has any. */
static int run_map(struct nctx *c, const struct chain_ctx *cc, size_t start, size_t end, int k)
{
	const struct plan *pl = c->pl;
	unsigned int n = 0, ii = c->rs->chains[cc->chain].iface;
	struct nft_rs_set *set;
	char name[80];
	bool any = false;

	for (size_t ri = start; ri < end && !any; ri++)
		any = nl_rule_applies(&pl->rules[ri], ii, cc->egress) &&
		      pl->rules[ri].dport_by[k].n;
	if (!any)
		return -1;
	for (size_t i = 0; i < c->n_runs; i++)
		n += c->runs[i].ii == ii && c->runs[i].egress == cc->egress;
	snprintf(name, sizeof(name), "%s/%s/%s%u", cc->ifname, cc->egress ? "out" : "in",
		 k ? "udp" : "tcp", n);
	set = nl_set_new(c, name, -1, &pl->ifaces[ii].loc);
	if (!set)
		return -1;
	set->staged = true;
	set->key_type = NFT_TYPE_INET_SERVICE;
	set->key_len = 2;
	set->flags = NFT_SET_INTERVAL | NFT_SET_MAP;
	set->map = true;
	return c->rs->n_sets - 1;
}

/*
 * In the chain: a rule per protocol looking the destination port up in the run's verdict
 * map (filled by nl_run_chains() once the rule chains exist). Plain port intervals, not
 * protocol . port: the kernel checks a new element of a concatenation (pipapo) against all
 * the others, which made thousands of elements quadratic to add; an rbtree takes log n.
 */
void nl_run_lookup(struct nctx *c, struct chain_ctx *cc, size_t start, size_t end, size_t n)
{
	const struct plan *pl = c->pl;
	struct run *v = nl_grow(c, c->runs, c->n_runs, &c->cap_runs, sizeof(*v)), *run;
	unsigned int ii = c->rs->chains[cc->chain].iface;
	size_t last = end - 1;
	char comment[128];

	if (!v)
		return;
	c->runs = v;
	run = &c->runs[c->n_runs];
	*run = (struct run){ start,	 end,	  { -1, -1 }, cc->chain, cc->next_counter,
			     cc->reject, cc->own, ii,	      cc->egress };
	run->set[0] = run_map(c, cc, start, end, 0);
	run->set[1] = run_map(c, cc, start, end, 1);
	c->n_runs++;
	cc->next_counter += n;
	while (!nl_rule_applies(&pl->rules[last], ii, cc->egress))
		last--;
	snprintf(comment, sizeof(comment), "rules of lines %u-%u: by destination port",
		 pl->rules[start].line, pl->rules[last].line);
	for (int k = 0; k < 2; k++) {
		struct nft_rs_item *it;

		if (run->set[k] < 0)
			continue;
		it = nl_item(c, nl_rule_new(c, cc->chain, -1, NULL, comment), NFT_I_PORT_VMAP);
		if (it) {
			it->proto = nl_ported[k];
			it->ref = run->set[k];
		}
	}
}

/* An element of a run's map: a port, the start of an interval (jumping to chain), or one
 * past its end. */
static void port_elem(struct nctx *c, struct nft_rs_set *s, uint32_t port, int chain,
		      const struct loc *loc)
{
	struct nft_rs_elem *e = nl_elem_new(c, s, loc);

	if (!e)
		return;
	e->key[0] = port >> 8;
	e->key[1] = port & 0xff;
	e->chain = chain;
	e->interval_end = chain < 0;
}

/* The maps' elements: each port to the rule chain of the first member holding it, which is
 * the rule first-match evaluation of the run picks. */
static void run_elems(struct nctx *c, const struct run *run, const size_t *mrule, const int *mchain,
		      size_t n)
{
	for (int k = 0; k < 2 && !c->err; k++) {
		struct port_span *in, *out = NULL;
		size_t n_in = 0, n_out = 0;

		if (run->set[k] < 0)
			continue;
		for (size_t m = 0; m < n; m++)
			n_in += c->pl->rules[mrule[m]].dport_by[k].n;
		in = malloc((n_in + 1) * sizeof(*in));
		n_in = 0;
		for (size_t m = 0; in && m < n; m++) {
			const struct ivls *p = &c->pl->rules[mrule[m]].dport_by[k];

			for (size_t j = 0; j < p->n; j++)
				in[n_in++] = (struct port_span){ p->v[j].lo, p->v[j].hi, m };
		}
		if (!in || port_paint(in, n_in, &out, &n_out))
			c->err = -ENOMEM;
		for (size_t j = 0; j < n_out && !c->err; j++) {
			const struct plan_rule *r = &c->pl->rules[mrule[out[j].owner]];
			const struct loc *loc = nl_port_loc(r, false, nl_ported[k], out[j].lo);
			struct nft_rs_set *s = &c->rs->sets[run->set[k]];

			/* as nft sends them: an end for every interval but one reaching the top */
			port_elem(c, s, out[j].lo, mchain[out[j].owner], loc);
			if (out[j].hi < 65535)
				port_elem(c, s, out[j].hi + 1, -1, loc);
		}
		free(in);
		free(out);
		c->rs->sets[run->set[k]].size = c->rs->sets[run->set[k]].n;
	}
}

/* The rule chains of every run, after all other chains (a chain's rules are contiguous),
 * then the maps' elements that jump to them. A rule chain holds the member's rule without
 * its match: counters and verdict. */
void nl_run_chains(struct nctx *c)
{
	static const struct shape none = { .port_set = { -1, -1 },
					   .one_proto = -1,
					   .proto_set = -1 };

	for (size_t i = 0; i < c->n_runs && !c->err; i++) {
		const struct run *run = &c->runs[i];
		size_t n = 0, *mrule = calloc(run->end - run->start + 1, sizeof(*mrule));
		int *mchain = calloc(run->end - run->start + 1, sizeof(*mchain));
		struct chain_ctx cc = { .egress = run->egress,
					.reject = run->reject,
					.own = run->own,
					.next_counter = run->first_counter };

		cc.ifname = c->pl->ifaces[run->ii].name;
		for (size_t ri = run->start; mrule && mchain && ri < run->end && !c->err; ri++) {
			struct nft_rs_chain *ch;

			if (!nl_rule_applies(&c->pl->rules[ri], run->ii, run->egress))
				continue;
			ch = nl_chain_new(c, c->rs->counters[cc.next_counter].name, run->ii,
					  &c->pl->rules[ri].loc);
			if (!ch)
				break;
			ch->staged = true;
			cc.chain = c->rs->n_chains - 1;
			mrule[n] = ri;
			mchain[n++] = cc.chain;
			nl_rule_in_chain(c, ri, &none, &cc);
		}
		if (!mrule || !mchain)
			c->err = -ENOMEM;
		run_elems(c, run, mrule, mchain, n);
		free(mrule);
		free(mchain);
	}
}
