// SPDX-License-Identifier: GPL-2.0
/*
 * The nftables half of the plan as text: table inet tlsfw as `nft list table inet tlsfw`
 * shows it once `tlsfw apply` made it in a namespace without the table (sets of generation
 * 'a', counters at zero). It is valid `nft -f` input. Printed from the plan's ruleset data
 * (nft_ruleset.h), never from encoded messages; nft's own habits are followed where it has
 * them (a dependency it can infer is not printed, set elements per line by type).
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "nft_expr.h"
#include "nft_priv.h"
#include "icmp_types.h"
#include "plan.h"

#define TAG 'a' /* the generation a first apply names its sets after */

/* A protocol as nft prints it: by the name /etc/protocols gives it (nft asks the same
 * database), else by the name netbase gives the common ones, else as its number, which nft
 * reads as well. */
static const char *proto_name(unsigned int p, char *buf, size_t len)
{
	static const char *const known[256] = {
		[1] = "icmp",	    [2] = "igmp",   [6] = "tcp",       [17] = "udp",
		[41] = "ipv6",	    [47] = "gre",   [50] = "esp",      [51] = "ah",
		[58] = "ipv6-icmp", [132] = "sctp", [136] = "udplite",
	};
	struct protoent *pe = getprotobynumber(p);

	if (pe && pe->p_name)
		snprintf(buf, len, "%s", pe->p_name);
	else if (p < 256 && known[p])
		snprintf(buf, len, "%s", known[p]);
	else
		snprintf(buf, len, "%u", p);
	return buf;
}

static void print_addr(const uint8_t *a, size_t alen, FILE *out)
{
	char buf[INET6_ADDRSTRLEN];

	inet_ntop(alen == 4 ? AF_INET : AF_INET6, a, buf, sizeof(buf));
	fputs(buf, out);
}

/* An address interval as nft writes it: a host, a prefix, or lo-hi. */
static void print_range(ivl_key lo, ivl_key hi, size_t alen, FILE *out)
{
	unsigned int base = 128 - 8 * alen, plen = prefix_first(lo, hi);
	ivl_key host = plen == 0 ? ~(ivl_key)0 : plen >= 128 ? 0 : ((ivl_key)1 << (128 - plen)) - 1;
	uint8_t a[16];

	key_addr(lo, a);
	print_addr(a + 16 - alen, alen, out);
	if (lo == hi)
		return;
	if ((lo | host) == hi) {
		fprintf(out, "/%u", plen - base);
		return;
	}
	key_addr(hi, a);
	fputc('-', out);
	print_addr(a + 16 - alen, alen, out);
}

static ivl_key elem_key(const uint8_t *k, size_t len)
{
	ivl_key v = 0;

	for (size_t i = 0; i < len; i++)
		v = v << 8 | k[i];
	return v;
}

/* Elements per line before nft breaks one: by type, as nft's set printer does. */
static unsigned int per_line(const struct nft_rs_set *s)
{
	if (s->key_type == NFT_TYPE_IPADDR)
		return 2;
	if (s->key_type == NFT_TYPE_INET_PROTOCOL || s->key_type == NFT_TYPE_INET_SERVICE)
		return 5;
	return 1;
}

/* Element i of an address set: the interval it starts (the next element, if an interval
 * end, is one past its last address). Returns the elements it took. */
static size_t print_addr_elem(const struct nft_rs_set *s, size_t i, FILE *out)
{
	ivl_key lo = elem_key(s->e[i].key, s->key_len), hi;
	ivl_key top = s->key_len == 4 ? 0xffffffffu : ~(ivl_key)0;

	if (!(s->flags & NFT_SET_INTERVAL)) { /* a hash set: single addresses */
		print_range(lo, lo, s->key_len, out);
		return 1;
	}
	if (i + 1 < s->n && s->e[i + 1].interval_end) {
		hi = elem_key(s->e[i + 1].key, s->key_len) - 1;
		print_range(lo, hi, s->key_len, out);
		return 2;
	}
	print_range(lo, top, s->key_len, out);
	return 1;
}

/* Element i of a run's port map (lower_nft.c): "lo[-hi] : jump chain", the next element, if
 * an interval end, one past hi. Returns the elements it took. */
static size_t print_port_elem(const struct plan *pl, const struct nft_rs_set *s, size_t i,
			      FILE *out)
{
	unsigned int lo = elem_key(s->e[i].key, 2), hi = 65535;
	bool end = i + 1 < s->n && s->e[i + 1].interval_end;
	char name[176] = "?";

	if (end)
		hi = elem_key(s->e[i + 1].key, 2) - 1;
	fprintf(out, lo == hi ? "%u" : "%u-%u", lo, hi);
	if (s->e[i].chain >= 0)
		nft_chain_fullname(&pl->nft.chains[s->e[i].chain], TAG, name, sizeof(name));
	fprintf(out, " : jump %s", name);
	return end ? 2 : 1;
}

static size_t print_elem(const struct plan *pl, const struct nft_rs_set *s, size_t i, FILE *out)
{
	const struct nft_rs_elem *e = &s->e[i];
	char buf[32];

	if (s->key_type == NFT_TYPE_IPADDR || s->key_type == NFT_TYPE_IP6ADDR)
		return print_addr_elem(s, i, out);
	if (s->key_type == NFT_TYPE_INET_SERVICE)
		return print_port_elem(pl, s, i, out);
	if (s->key_type == NFT_TYPE_IFNAME) {
		fprintf(out, "\"%.*s\"", (int)strnlen((const char *)e->key, s->key_len),
			(const char *)e->key);
	} else if (s->key_type == NFT_TYPE_INET_PROTOCOL) {
		fputs(proto_name(e->key[0], buf, sizeof(buf)), out);
	} else { /* inet_proto . inet_service */
		unsigned int lo = e->key[4] << 8 | e->key[5],
			     hi = e->key_end[4] << 8 | e->key_end[5];

		fprintf(out, "%s . %u", proto_name(e->key[0], buf, sizeof(buf)), lo);
		if (e->has_end && hi != lo)
			fprintf(out, "-%u", hi);
	}
	if (s->map) {
		char name[176] = "?";

		if (e->chain >= 0)
			nft_chain_fullname(&pl->nft.chains[e->chain], TAG, name, sizeof(name));
		fprintf(out, " : jump %s", name);
	}
	return 1;
}

/*
 * nft lists a hash set of (protocol . port) in the order of its mergesort, which takes the
 * concatenation's bytes (protocol, port high byte, port low byte) as one number in host byte
 * order: on a little-endian host by the port's low byte, then its high byte, then the
 * protocol. (Interval sets are listed as the kernel holds them, which is the lowering's
 * order: protocol, then port.)
 */
static int listed_cmp(const void *a, const void *b)
{
	const uint8_t *x = ((const struct nft_rs_elem *)a)->key,
		      *y = ((const struct nft_rs_elem *)b)->key;
	const uint8_t xs[3] = { x[0], x[4], x[5] }, ys[3] = { y[0], y[4], y[5] };

	for (int i = 0; i < 3; i++) {
		int k = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? 2 - i : i;

		if (xs[k] != ys[k])
			return xs[k] - ys[k];
	}
	return 0;
}

static void print_set(const struct plan *pl, const struct nft_rs_set *s, FILE *out)
{
	char name[96];
	unsigned int on_line = 0;
	struct nft_rs_set listed;
	struct nft_rs_elem *sorted = NULL;

	if (s->key_type == (NFT_TYPE_INET_PROTOCOL << NFT_TYPE_BITS | NFT_TYPE_INET_SERVICE) &&
	    !(s->flags & NFT_SET_INTERVAL) && s->n > 1 &&
	    (sorted = malloc(s->n * sizeof(*sorted)))) {
		memcpy(sorted, s->e, s->n * sizeof(*sorted));
		qsort(sorted, s->n, sizeof(*sorted), listed_cmp);
		listed = *s;
		listed.e = sorted;
		s = &listed;
	}

	nft_set_fullname(s, TAG, name, sizeof(name));
	fprintf(out, "\t%s %s {\n", s->map ? "map" : "set", name);
	fprintf(out, "\t\ttype %s%s\n",
		s->key_type == NFT_TYPE_IFNAME	      ? "ifname" :
		s->key_type == NFT_TYPE_IPADDR	      ? "ipv4_addr" :
		s->key_type == NFT_TYPE_IP6ADDR	      ? "ipv6_addr" :
		s->key_type == NFT_TYPE_INET_PROTOCOL ? "inet_proto" :
		s->key_type == NFT_TYPE_INET_SERVICE  ? "inet_service" :
							"inet_proto . inet_service",
		s->map ? " : verdict" : "");
	if (s->size)
		fprintf(out, "\t\tsize %u\n", s->size);
	if (s->flags & NFT_SET_INTERVAL)
		fprintf(out, "\t\tflags interval\n");
	if (s->n) {
		fprintf(out, "\t\telements = { ");
		for (size_t i = 0; i < s->n;) {
			i += print_elem(pl, s, i, out);
			if (i >= s->n)
				break;
			if (++on_line < per_line(s)) {
				fputs(", ", out);
			} else {
				fputs(",\n\t\t\t     ", out);
				on_line = 0;
			}
		}
		fprintf(out, " }\n");
	}
	fprintf(out, "\t}\n");
	free(sorted);
}

/* nft leaves out a `meta nfproto` that a later item of the rule implies. */
static bool implied(const struct nft_rs_rule *r, size_t i)
{
	uint8_t fam = r->items[i].fam;

	for (size_t k = i + 1; k < r->n; k++) {
		const struct nft_rs_item *it = &r->items[k];

		if (((it->kind == NFT_I_ADDR || it->kind == NFT_I_ADDR_SET) && it->fam == fam) ||
		    (it->kind == NFT_I_FRAG4 && fam == POL_FAM_V4) ||
		    ((it->kind == NFT_I_FRAG6 || it->kind == NFT_I_FRAG6_OFF) &&
		     fam == POL_FAM_V6) ||
		    (it->kind == NFT_I_HOPLIMIT && fam == POL_FAM_V6) ||
		    (it->kind == NFT_I_L4PROTO &&
		     it->proto == (fam == POL_FAM_V4 ? IPPROTO_ICMP : IPPROTO_ICMPV6)))
			return true;
	}
	return false;
}

static void print_address(const struct nft_rs_item *it, FILE *out)
{
	bool v4 = it->fam == POL_FAM_V4;

	fprintf(out, "%s %s ", v4 ? "ip" : "ip6", it->src ? "saddr" : "daddr");
	print_addr(it->addr, v4 ? 4 : 16, out);
	if (it->plen < (v4 ? 32 : 128))
		fprintf(out, "/%u", it->plen);
}

/* `ct state` flags as nft lists them: names in the order of their bits, comma-separated. */
static void print_ct_state(unsigned int bits, FILE *out)
{
	static const char *const names[] = { "invalid", "established", "related", "new" };
	const char *sep = "";

	fputs("ct state ", out);
	for (unsigned int i = 0; i < 4; i++) {
		if (!(bits & (1u << i)))
			continue;
		fprintf(out, "%s%s", sep, names[i]);
		sep = ",";
	}
}

/* One item of a rule as `nft list` writes it. Long only because it is one flat case per item
 * kind (enum nft_item_kind), each a line or two: splitting it would scatter the table. */
static void print_item(const struct plan *pl, const struct nft_rs_item *it, FILE *out)
{
	const struct nft_ruleset *rs = &pl->nft;
	char buf[32], name[176];

	if (it->kind == NFT_I_L4PROTO_SET || it->kind == NFT_I_PORT_SET ||
	    it->kind == NFT_I_PORT_VMAP || it->kind == NFT_I_ADDR_SET || it->kind == NFT_I_OIFNAME)
		nft_set_fullname(&rs->sets[it->ref], TAG, name, sizeof(name));
	switch (it->kind) {
	case NFT_I_NFPROTO:
		fprintf(out, "meta nfproto %s", it->fam == POL_FAM_V4 ? "ipv4" : "ipv6");
		break;
	case NFT_I_L4PROTO:
		fprintf(out, "meta l4proto %s", proto_name(it->proto, buf, sizeof(buf)));
		break;
	case NFT_I_L4PROTO_SET:
		fprintf(out, "meta l4proto @%s", name);
		break;
	case NFT_I_PORT:
		fprintf(out, "%s %s %u", proto_name(it->proto, buf, sizeof(buf)),
			it->src ? "sport" : "dport", it->lo);
		if (it->hi != it->lo)
			fprintf(out, "-%u", it->hi);
		break;
	case NFT_I_PORT_SET:
		fprintf(out, "meta l4proto . th %s @%s", it->src ? "sport" : "dport", name);
		break;
	case NFT_I_PORT_VMAP:
		fprintf(out, "%s dport vmap @%s", proto_name(it->proto, buf, sizeof(buf)), name);
		break;
	case NFT_I_ADDR:
		print_address(it, out);
		break;
	case NFT_I_ADDR_SET:
		fprintf(out, "%s %s @%s", it->fam == POL_FAM_V4 ? "ip" : "ip6",
			it->src ? "saddr" : "daddr", name);
		break;
	case NFT_I_FRAG4:
		fprintf(out, "ip frag-off & %u != 0", it->lo);
		break;
	case NFT_I_FRAG6:
		fprintf(out, "exthdr frag exists");
		break;
	case NFT_I_FRAG6_OFF:
		fprintf(out, "frag frag-off != 0");
		break;
	case NFT_I_OIFNAME:
		fprintf(out, "oifname vmap @%s", name);
		break;
	case NFT_I_COUNTER:
		fprintf(out, "counter name \"%s\"", rs->counters[it->ref].name);
		break;
	case NFT_I_ACCEPT:
		fprintf(out, "accept");
		break;
	case NFT_I_DROP:
		fprintf(out, "drop");
		break;
	case NFT_I_GOTO:
		nft_chain_fullname(&rs->chains[it->ref], TAG, name, sizeof(name));
		fprintf(out, "goto %s", name);
		break;
	case NFT_I_REJECT_TCP:
		fprintf(out, "reject with tcp reset");
		break;
	case NFT_I_REJECT_ICMPX:
		fprintf(out, "reject with icmpx admin-prohibited");
		break;
	case NFT_I_ICMP_TYPE: {
		bool v6 = it->proto == IPPROTO_ICMPV6;
		const char *tn = icmp_type_name(it->lo, v6);

		fprintf(out, "%s type ", v6 ? "icmpv6" : "icmp");
		if (it->lo == it->hi && tn)
			fprintf(out, "%s", tn);
		else if (it->lo == it->hi)
			fprintf(out, "%u", it->lo);
		else
			fprintf(out, "%u-%u", it->lo, it->hi);
		break;
	}
	case NFT_I_HOPLIMIT:
		fprintf(out, "ip6 hoplimit %u", it->lo);
		break;
	case NFT_I_CT_STATE:
		print_ct_state(it->lo, out);
		break;
	case NFT_I_IIFNAME_NE:
		fprintf(out, "iifname != \"%.16s\"", (const char *)it->addr);
		break;
	}
}

static void print_rule(const struct plan *pl, const struct nft_rs_rule *r, FILE *out)
{
	bool first = true;

	fputs("\t\t", out);
	for (size_t i = 0; i < r->n; i++) {
		if (r->items[i].kind == NFT_I_NFPROTO && implied(r, i))
			continue;
		if (!first)
			fputc(' ', out);
		print_item(pl, &r->items[i], out);
		first = false;
	}
	if (r->comment[0])
		fprintf(out, "%scomment \"%s\"", first ? "" : " ", r->comment);
	fputc('\n', out);
}

static const char *hook_name(int hook)
{
	switch (hook) {
	case NF_INET_INGRESS:
		return "ingress";
	case NF_INET_PRE_ROUTING:
		return "prerouting";
	case NF_INET_FORWARD:
		return "forward";
	case NF_INET_LOCAL_OUT:
		return "output";
	}
	return "?";
}

/* Chain ci, whose rules are rules[r, end): the ruleset keeps a chain's rules together. */
static void print_chain(const struct plan *pl, size_t ci, size_t r, size_t end, FILE *out)
{
	const struct nft_rs_chain *c = &pl->nft.chains[ci];
	char name[176];

	nft_chain_fullname(c, TAG, name, sizeof(name));
	fprintf(out, "\tchain %s {\n", name);
	if (c->records)
		fprintf(out, "\t\tcomment \"%s\"\n", pl->nft.comment);
	if (c->hook >= 0) {
		fprintf(out, "\t\ttype filter hook %s", hook_name(c->hook));
		if (c->dev[0])
			fprintf(out, " device \"%s\"", c->dev);
		fprintf(out, " priority filter; policy accept;\n");
	}
	for (; r < end; r++)
		print_rule(pl, &pl->nft.rules[r], out);
	fprintf(out, "\t}\n");
}

/* The chains as nft lists them, in the order they were made: the staged ones (rule chains
 * of runs) in the first transaction, then the others. */
static void print_chains(const struct plan *pl, bool first, FILE *out)
{
	const struct nft_ruleset *rs = &pl->nft;

	for (int staged = 1; staged >= 0; staged--) {
		size_t r = 0;

		for (size_t ci = 0; ci < rs->n_chains; ci++) {
			size_t start = r;

			while (r < rs->n_rules && rs->rules[r].chain == (int)ci)
				r++;
			if (rs->chains[ci].staged != staged)
				continue;
			fputs(first ? "" : "\n", out);
			print_chain(pl, ci, start, r, out);
			first = false;
		}
	}
}

/* The sets as nft lists them, in the order nft_encode makes them: the staged ones (interval
 * sets, runs' maps) in the first transaction, then each of the others before the first rule
 * that looks into it (switch_msgs). Returns the new `first`. */
static bool print_sets(const struct plan *pl, bool first, FILE *out)
{
	const struct nft_ruleset *rs = &pl->nft;
	bool *done = calloc(rs->n_sets + 1, sizeof(*done));

	for (size_t i = 0; i < rs->n_sets; i++) {
		if (done && !rs->sets[i].staged)
			continue;
		fputs(first ? "" : "\n", out);
		print_set(pl, &rs->sets[i], out);
		first = false;
	}
	for (size_t r = 0; done && r < rs->n_rules; r++) {
		if (rs->chains[rs->rules[r].chain].records)
			continue;
		for (size_t k = 0; k < rs->rules[r].n; k++) {
			int si = nft_item_set(&rs->rules[r].items[k]);

			if (si < 0 || rs->sets[si].staged || done[si])
				continue;
			done[si] = true;
			fputs(first ? "" : "\n", out);
			print_set(pl, &rs->sets[si], out);
			first = false;
		}
	}
	free(done); /* without it (no memory), every set in index order */
	return first;
}

void plan_print_nft(const struct plan *pl, FILE *out)
{
	const struct nft_ruleset *rs = &pl->nft;
	bool first = true;

	fprintf(out, "table inet tlsfw {\n\tcomment \"%s\"\n", NFT_TABLE_COMMENT);
	/* nft lists a table's counters, then its sets and maps, then its chains, each kind in
	 * the order they were made */
	for (size_t i = 0; i < rs->n_counters; i++, first = false)
		fprintf(out, "%s\tcounter %s {\n\t\tcomment \"%s\"\n\t\tpackets 0 bytes 0\n\t}\n",
			first ? "" : "\n", rs->counters[i].name, rs->counters[i].comment);
	first = print_sets(pl, first, out);
	print_chains(pl, first, out);
	fprintf(out, "}\n");
}
