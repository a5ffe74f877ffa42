// SPDX-License-Identifier: GPL-2.0
/* read -> check -> probes (when asked) -> lower, once for every command (compile.h). */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "compile.h"
#include "probe_block.h"

/*
 * heap the stages get in huge pages: 4,096 one-port rules peak at 11.3 MB. Bounded because a
 * huge page the hypervisor must back again costs far more than its faults save (below).
 */
#define HUGE_HEAP (32u << 20)
#define HUGE_PAGE (2u << 20)

/*
 * The first HUGE_HEAP of the stages' memory in transparent huge pages. Compiling 4,096 rules
 * touches about 12 MB of fresh heap, and on a virtual machine each 4 KiB page fault costs
 * microseconds: they were half of `tlsfw check` (performance.md). Grow the heap once by
 * HUGE_HEAP (address space only: a page is allocated when first touched) and ask for huge
 * pages over it; what outgrows it gets ordinary pages. Not more: on a guest that gives freed
 * memory back to its host, a huge page taken after an idle moment is backed again 4 KiB at a
 * time, and the first `check` of a 200-port policy (300 MB of heap) took 1.1 s with all of it
 * in huge pages against 0.8 s with 4 KiB pages (performance.md, "Huge pages for the first
 * 32 MB"). Without THP (or with THP off) nothing changes.
 */
static void heap_huge_pages(void)
{
	void *p;
	uintptr_t lo, hi;

#ifdef __SANITIZE_ADDRESS__
	/* ASan's allocator maps a block this big apart (mallopt does not reach it) and poisons
	 * its shadow when it is freed: 4 MB written for nothing in every test run of tlsfw */
	return;
#endif
	p = malloc(HUGE_HEAP);
	if (!p)
		return;
	lo = ((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
	hi = ((uintptr_t)p + HUGE_HEAP) & ~(uintptr_t)(HUGE_PAGE - 1);
	if (hi > lo)
		madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
	free(p); /* back to the top of the heap (trimmed only above M_TRIM_THRESHOLD) */
}

static bool failed(const struct diag *d)
{
	return d->errors || d->truncated;
}

int compile(const struct compile_opts *o, struct compiled *out, struct diag *d)
{
	struct rule_list rules = { 0 };
	struct lower_opts lo = { .bpf = o->bpf, .nft = o->nft, .rules = &rules };
	int err;

	memset(out, 0, sizeof(*out));
	/* A big policy makes the stages allocate and free tables of megabytes, which glibc maps
	 * and unmaps each time: the page faults of fresh mappings took a third of `tlsfw
	 * check` (measured, performance.md). Keep freed memory in the heap for the next table. */
	mallopt(M_MMAP_THRESHOLD, 512 << 20);
	mallopt(M_TRIM_THRESHOLD, 512 << 20);
	heap_huge_pages();
	err = policy_read_file(&out->pol, o->path, d);
	if (err)
		return failed(d) ? -EINVAL : err;
	if (o->on_read)
		o->on_read(&out->pol);
	err = policy_check_rules(&out->pol, d, &rules);
	if (failed(d))
		err = -EINVAL;
	if (!err && o->probes) {
		/* -EINVAL: an error in d; anything else: the probes could not run at all */
		err = probe_policy_run(&out->pol, d, o->probe_opts, &out->probe_rules,
				       &out->n_probe_rules);
	}
	if (err || o->no_lower) {
		rule_list_free(&rules);
		return err;
	}
	lo.extra = out->probe_rules;
	lo.n_extra = out->n_probe_rules;
	err = policy_lower(&out->pol, &lo, &out->plan, d);
	rule_list_free(&rules); /* empty when the lowering took it */
	if (err)
		return d->errors ? -EINVAL : err;
	/* What the probes' drop rules mean for the policy's own rules: said once, here. */
	if (out->n_probe_rules)
		policy_check_probe_rules(&out->pol, out->plan.rules, out->plan.n_rules,
					 out->plan.n_probe_rules, d);
	return 0;
}

void compiled_free(struct compiled *c)
{
	plan_free(&c->plan);
	probe_rules_free(c->probe_rules, c->n_probe_rules);
	policy_free(&c->pol);
}
