// SPDX-License-Identifier: GPL-2.0
/*
 * The indexed shadowing analysis (check_shadow.c) against the plain pairwise walk
 * (selftests/lib/shadow_ref.c) on small random policies: the same rules reported, with the
 * same rules matching first, and the same number of them. Two sources: randpol's policies,
 * and a generator of its own that draws from few ports and prefixes that tile each other, so
 * that rules are often shadowed by a union of earlier rules. Some rules are marked as holding
 * an error (neither judged nor shadowers). TLSFW_SEED=N picks another run.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "randpol.h"
#include "rules.h"
#include "shadow.h"
#include "shadow_ref.h"

#include "check.h"

#define N_POLICIES 3000

struct report {
	size_t rule;
	uint8_t *by; /* copy of by[0, rule) */
};

struct reports {
	struct report *v;
	size_t n;
};

static void collect(void *arg, size_t rule, const uint8_t *by)
{
	struct reports *r = arg;
	struct report *v = realloc(r->v, (r->n + 1) * sizeof(*v));

	if (!v)
		abort();
	r->v = v;
	v[r->n].rule = rule;
	v[r->n].by = malloc(rule + 1);
	if (!v[r->n].by)
		abort();
	memcpy(v[r->n].by, by, rule);
	r->n++;
}

static void reports_free(struct reports *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i].by);
	free(r->v);
	memset(r, 0, sizeof(*r));
}

static bool same(const struct reports *a, const struct reports *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (a->v[i].rule != b->v[i].rule || memcmp(a->v[i].by, b->v[i].by, a->v[i].rule))
			return false;
	return true;
}

static void print_reports(const char *what, const struct reports *r)
{
	fprintf(stderr, "  %s:", what);
	for (size_t i = 0; i < r->n; i++) {
		fprintf(stderr, " r%zu<-{", r->v[i].rule);
		for (size_t j = 0; j < r->v[i].rule; j++)
			if (r->v[i].by[j])
				fprintf(stderr, " r%zu", j);
		fprintf(stderr, " }");
	}
	fputc('\n', stderr);
}

/* ---- a generator of overlapping rules -------------------------------------------------------- */

static const uint16_t cuts[][2] = { { 1, 100 },	  { 1, 50 },  { 51, 100 }, { 1, 25 },
				    { 26, 50 },	  { 51, 75 }, { 76, 100 }, { 20, 60 },
				    { 443, 443 }, { 80, 80 }, { 1, 65535 } };
static const char *const nets[] = { "10.0.0.0/8",   "10.0.0.0/9",    "10.128.0.0/9",  "10.0.0.0/10",
				    "10.64.0.0/10", "10.128.0.0/10", "10.192.0.0/10", "0.0.0.0/0",
				    "fd00::/8",	    "fd00::/9",	     "fd80::/9",      "::/0" };
static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, IPPROTO_ICMPV6 };

static int tiled_rule(struct policy *p, struct rp_rng *r, unsigned int i)
{
	struct pol_rule *rule;
	char name[16];
	int err;

	snprintf(name, sizeof(name), "t%u", i);
	err = randpol_add_rule(p, name, POL_DROP, &rule);
	if (!err && rp_below(r, 2)) {
		for (unsigned int k = 1 + rp_below(r, 2); k; k--)
			randpol_add_proto(rule, protos[rp_below(r, 4)]);
	}
	if (!err && rp_below(r, 3)) {
		rule->has_dport = true;
		for (unsigned int k = 1 + rp_below(r, 2); !err && k; k--) {
			const uint16_t *c = cuts[rp_below(r, sizeof(cuts) / sizeof(cuts[0]))];

			err = randpol_add_range(&rule->dport, c[0], c[1]);
		}
	}
	if (!err && !rp_below(r, 5)) {
		rule->has_sport = true;
		err = randpol_add_range(&rule->sport, 1024, 1024 + rp_below(r, 3) * 1000);
	}
	for (int d = 0; !err && d < 2; d++) {
		struct pol_prefixes *ps = d ? &rule->dst : &rule->src;

		if (rp_below(r, 3))
			continue;
		*(d ? &rule->has_dst : &rule->has_src) = true;
		for (unsigned int k = 1 + rp_below(r, 2); !err && k; k--)
			err = randpol_add_cidr(ps,
					       nets[rp_below(r, sizeof(nets) / sizeof(nets[0]))]);
	}
	if (!rp_below(r, 6))
		rule->family = rp_below(r, 2) ? POL_FAM_V4 : POL_FAM_V6;
	if (!rp_below(r, 5))
		rule->direction = rp_below(r, 2) ? POL_DIR_INGRESS : POL_DIR_EGRESS;
	if (!err && !rp_below(r, 5))
		err = randpol_add_name(&rule->ifaces, rp_below(r, 2) ? "lan0" : "wan0");
	return err;
}

static int tiled_policy(struct policy *p, struct rp_rng *r)
{
	unsigned int n = 2 + rp_below(r, 24);
	int err;

	randpol_init(p);
	err = randpol_add_iface(p, "lan0", POL_HOOK_INGRESS | POL_HOOK_EGRESS);
	if (!err && rp_below(r, 2))
		err = randpol_add_iface(p, "wan0", POL_HOOK_INGRESS);
	for (unsigned int i = 0; !err && i < n; i++)
		err = tiled_rule(p, r, i);
	return err;
}

/* ---- one policy, both walks ------------------------------------------------------------------ */

struct totals {
	unsigned long policies, reported, by_union;
};

static int compare(const struct policy *p, struct rp_rng *r, uint64_t seed, struct totals *t)
{
	struct plan_rule *rules = calloc(p->n_rules + 1, sizeof(*rules));
	uint32_t *ctx = calloc(p->n_rules + 1, sizeof(*ctx));
	uint8_t *bad = calloc(p->n_rules + 1, 1);
	struct reports got = { 0 }, want = { 0 };
	struct shadow_in in = { rules, p->n_rules, ctx, bad, ~0ul };
	int ret = 0;

	if (!rules || !ctx || !bad)
		abort();
	for (size_t i = 0; i < p->n_rules; i++) {
		if (rule_build(p, &p->rules[i], &rules[i], NULL, NULL))
			abort();
		ctx[i] = rules[i].ctx;
		bad[i] = !rp_below(r, 12);
	}
	if (shadow_analyse(&in, collect, &got) || shadow_ref_analyse(&in, collect, &want))
		abort();
	t->policies++;
	t->reported += want.n;
	for (size_t i = 0; i < want.n; i++) {
		size_t n = 0;

		for (size_t j = 0; j < want.v[i].rule; j++)
			n += want.v[i].by[j];
		t->by_union += n > 1;
	}
	if (!same(&got, &want)) {
		char *yaml = randpol_yaml(p);

		fprintf(stderr, "FAIL: seed %llu: the indexed walk differs from the pairwise one\n",
			(unsigned long long)seed);
		print_reports("indexed", &got);
		print_reports("pairwise", &want);
		fprintf(stderr, "  bad rules:");
		for (size_t i = 0; i < p->n_rules; i++)
			if (bad[i])
				fprintf(stderr, " r%zu", i);
		fprintf(stderr, "\n%s\n", yaml ? yaml : "");
		free(yaml);
		failures++;
		ret = -1;
	}
	for (size_t i = 0; i < p->n_rules; i++)
		rule_free(&rules[i]);
	free(rules);
	free(ctx);
	free(bad);
	reports_free(&got);
	reports_free(&want);
	return ret;
}

int main(void)
{
	const char *env = getenv("TLSFW_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 0) : 0x5ad0;
	struct randpol_opts o = {
		.max_rules = 30, .services = true, .monitor = true, .valid = true
	};
	struct totals t = { 0 };
	int bad_runs = 0;

	for (int i = 0; i < N_POLICIES && bad_runs < 5; i++) {
		struct rp_rng r;
		struct policy p;

		rp_seed(&r, seed + i);
		if (i % 2 ? tiled_policy(&p, &r) : randpol_new(&p, &r, &o))
			abort();
		bad_runs += compare(&p, &r, seed + i, &t) < 0;
		randpol_free(&p);
	}
	printf("%lu policies: %lu rules reported shadowed, %lu of them by a union\n", t.policies,
	       t.reported, t.by_union);
	/* a comparison of nothing proves nothing */
	CHECK(t.reported > 500 && t.by_union > 50, "too few shadowed rules to compare (%lu, %lu)",
	      t.reported, t.by_union);
	return check_report("test_shadow");
}
