// SPDX-License-Identifier: GPL-2.0
/*
 * tlsfw stats [--json] [--exact]: per-rule packet and byte counters of the enforced policy,
 * per interface and direction, from kernel state alone: the metadata maps name every counter
 * slot, so no file written by apply is needed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>

#include "policy.h"
#include "state.h"
#include "tlsfw.h"

static const char *const reason_names[TLSFW_STAT_MAX] = {
	[TLSFW_STAT_MALFORMED_TRUNCATED] = "malformed-truncated",
	[TLSFW_STAT_MALFORMED_IHL] = "malformed-ihl",
	[TLSFW_STAT_MALFORMED_LENGTH] = "malformed-length",
	[TLSFW_STAT_MALFORMED_EXTHDR] = "malformed-exthdr",
	[TLSFW_STAT_MALFORMED_VLAN] = "malformed-vlan",
	[TLSFW_STAT_FRAG_TINY] = "fragment-tiny",
	[TLSFW_STAT_FRAG_NO_FIRST] = "fragment-without-first",
	[TLSFW_STAT_FRAG_FOLLOWED] = "fragment-followed",
	[TLSFW_STAT_FRAG_DROPPED] = "fragment-dropped",
	[TLSFW_STAT_FRAG_ALLOWED] = "fragment-allowed",
	[TLSFW_STAT_REJECT_SENT] = "reject-sent",
	[TLSFW_STAT_REJECT_FAILED] = "reject-failed",
};

static const char *const dir_names[] = { "ingress", "egress" };

struct stats_opts {
	bool json, exact;
};

struct stats {
	struct state st;
	struct state_meta sm;
	int ncpus;
	struct tlsfw_counter *percpu;  /* lookup buffer */
	uint32_t *order;               /* active rule slots in policy order */
	size_t n_rules;
	uint32_t *ctxs;                /* active counter blocks, by interface and direction */
	size_t n_ctxs;
};

static int counter(struct stats *s, uint32_t ctx, uint32_t idx, struct tlsfw_counter *out)
{
	uint32_t key = ctx * TLSFW_SLOTS_PER_CTX + idx;

	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(s->st.maps.counters, &key, s->percpu))
		return -errno;
	for (int c = 0; c < s->ncpus; c++) {
		out->packets += s->percpu[c].packets;
		out->bytes += s->percpu[c].bytes;
	}
	return 0;
}

static int cmp_rule(const void *a, const void *b, void *arg)
{
	const struct stats *s = arg;
	const struct tlsfw_rule_info *ra = &s->sm.rules[*(const uint32_t *)a];
	const struct tlsfw_rule_info *rb = &s->sm.rules[*(const uint32_t *)b];

	return ra->order < rb->order ? -1 : ra->order > rb->order;
}

static int cmp_ctx(const void *a, const void *b, void *arg)
{
	const struct stats *s = arg;
	const struct tlsfw_ctx_info *ca = &s->sm.ctxs[*(const uint32_t *)a];
	const struct tlsfw_ctx_info *cb = &s->sm.ctxs[*(const uint32_t *)b];
	int c = strncmp(ca->ifname, cb->ifname, sizeof(ca->ifname));

	return c ? c : ca->dir - cb->dir;
}

/* Active rules in policy order and active counter blocks by interface and direction. */
static int collect(struct stats *s)
{
	uint8_t bit = 1u << s->sm.gen;

	s->order = calloc(TLSFW_MAX_RULES, sizeof(uint32_t));
	s->ctxs = calloc(TLSFW_MAX_CTX, sizeof(uint32_t));
	if (!s->order || !s->ctxs)
		return -ENOMEM;
	for (uint32_t i = 0; i < TLSFW_MAX_RULES; i++)
		if (s->sm.rules[i].in_use & bit)
			s->order[s->n_rules++] = i;
	for (uint32_t i = 0; i < TLSFW_MAX_CTX; i++)
		if (s->sm.ctxs[i].in_use & bit)
			s->ctxs[s->n_ctxs++] = i;
	qsort_r(s->order, s->n_rules, sizeof(uint32_t), cmp_rule, s);
	qsort_r(s->ctxs, s->n_ctxs, sizeof(uint32_t), cmp_ctx, s);
	return 0;
}

static const char *action_name(uint8_t a)
{
	return pol_action_names[a > 2 ? 0 : a];
}

static void human(uint64_t v, bool bytes, bool exact, char *buf, size_t len)
{
	static const char *const si[] = { "", "k", "M", "G", "T", "P" };
	static const char *const iec[] = { " B", " KiB", " MiB", " GiB", " TiB", " PiB" };
	double x = v;
	unsigned int u = 0, base = bytes ? 1024 : 1000;

	if (exact || v < base) {
		snprintf(buf, len, "%llu%s", (unsigned long long)v, bytes ? " B" : "");
		return;
	}
	while (x >= base && u < 5) {
		x /= base;
		u++;
	}
	snprintf(buf, len, "%.1f%s", x, bytes ? iec[u] : si[u]);
}

static void time_str(uint64_t t, char *buf, size_t len)
{
	time_t tt = t;
	struct tm tm;

	if (!t || !gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "unknown");
}

static int print_text(struct stats *s, const struct stats_opts *o)
{
	const struct tlsfw_meta *m = &s->sm.meta;
	char when[32], p[32], b[32];
	struct tlsfw_counter c;
	int err;

	time_str(m->applied_at, when, sizeof(when));
	printf("policy %s (%s), applied %s\n", m->policy_file, m->policy_hash, when);
	for (size_t k = 0; k < s->n_ctxs; k++) {
		uint32_t cs = s->ctxs[k];
		const struct tlsfw_ctx_info *ci = &s->sm.ctxs[cs];
		struct tlsfw_counter tot[TLSFW_STAT_MAX];

		printf("\n%.16s %s (%s)\n", ci->ifname, dir_names[ci->dir & 1],
		       state_hook_name(ci->hook));
		printf("  %-24s %-7s %-8s %12s %12s\n", "RULE", "ACTION", "MODE", "PACKETS", "BYTES");
		for (size_t r = 0; r < s->n_rules; r++) {
			const struct tlsfw_rule_info *ri = &s->sm.rules[s->order[r]];

			if ((err = counter(s, cs, TLSFW_STAT_RULE0 + s->order[r], &c)))
				return err;
			human(c.packets, false, o->exact, p, sizeof(p));
			human(c.bytes, true, o->exact, b, sizeof(b));
			printf("  %-24.64s %-7s %-8s %12s %12s\n", ri->name, action_name(ri->action),
			       ri->monitor ? "monitor" : "enforce", p, b);
		}
		for (uint32_t i = 0; i < TLSFW_STAT_MAX; i++)
			if ((err = counter(s, cs, i, &tot[i])))
				return err;
		human(tot[TLSFW_STAT_DEFAULT].packets, false, o->exact, p, sizeof(p));
		human(tot[TLSFW_STAT_DEFAULT].bytes, true, o->exact, b, sizeof(b));
		printf("  %-24s %-7s %-8s %12s %12s\n", "(default)", action_name(m->default_action),
		       "", p, b);
		printf("  verdicts:");
		for (uint32_t i = TLSFW_STAT_PASS; i <= TLSFW_STAT_MONITOR; i++) {
			static const char *const v[] = { "", "pass", "drop", "reject", "monitor" };

			human(tot[i].packets, false, o->exact, p, sizeof(p));
			printf(" %s %s", v[i], p);
		}
		printf("\n");
		bool any = false;

		for (uint32_t i = TLSFW_STAT_MALFORMED_TRUNCATED; i < TLSFW_STAT_MAX; i++) {
			if (!tot[i].packets)
				continue;
			human(tot[i].packets, false, o->exact, p, sizeof(p));
			printf("%s %s %s", any ? "," : "  reasons:", reason_names[i], p);
			any = true;
		}
		if (any)
			printf("\n");
	}
	return 0;
}

static json_object *pair(const struct tlsfw_counter *c)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "packets", json_object_new_int64(c->packets));
	json_object_object_add(o, "bytes", json_object_new_int64(c->bytes));
	return o;
}

static int print_json(struct stats *s)
{
	json_object *doc = json_object_new_object(), *rules = json_object_new_array();
	json_object *ifs = json_object_new_array(), *reasons = json_object_new_array();
	const struct tlsfw_meta *m = &s->sm.meta;
	struct tlsfw_counter c, tot[TLSFW_STAT_MAX];
	char when[32];
	int err = 0;

	if (s->st.have_maps) {
		json_object *p = json_object_new_object();

		time_str(m->applied_at, when, sizeof(when));
		json_object_object_add(p, "file", json_object_new_string(m->policy_file));
		json_object_object_add(p, "hash", json_object_new_string(m->policy_hash));
		json_object_object_add(p, "applied_at", json_object_new_string(when));
		json_object_object_add(doc, "policy", p);
	} else {
		json_object_object_add(doc, "policy", NULL);
	}
	for (size_t k = 0; !err && k < s->n_ctxs; k++) {
		uint32_t cs = s->ctxs[k];
		const struct tlsfw_ctx_info *ci = &s->sm.ctxs[cs];
		json_object *io = json_object_new_object();
		char ifname[17];

		snprintf(ifname, sizeof(ifname), "%.16s", ci->ifname);
		for (size_t r = 0; !err && r < s->n_rules; r++) {
			const struct tlsfw_rule_info *ri = &s->sm.rules[s->order[r]];
			json_object *o = json_object_new_object();
			char name[TLSFW_NAME_MAX + 1];

			snprintf(name, sizeof(name), "%.*s", TLSFW_NAME_MAX, ri->name);
			err = counter(s, cs, TLSFW_STAT_RULE0 + s->order[r], &c);
			json_object_object_add(o, "name", json_object_new_string(name));
			json_object_object_add(o, "action", json_object_new_string(action_name(ri->action)));
			json_object_object_add(o, "mode", json_object_new_string(ri->monitor ? "monitor" : "enforce"));
			json_object_object_add(o, "interface", json_object_new_string(ifname));
			json_object_object_add(o, "direction", json_object_new_string(dir_names[ci->dir & 1]));
			json_object_object_add(o, "packets", json_object_new_int64(c.packets));
			json_object_object_add(o, "bytes", json_object_new_int64(c.bytes));
			json_object_array_add(rules, o);
		}
		for (uint32_t i = 0; !err && i < TLSFW_STAT_MAX; i++)
			err = counter(s, cs, i, &tot[i]);
		json_object_object_add(io, "interface", json_object_new_string(ifname));
		json_object_object_add(io, "direction", json_object_new_string(dir_names[ci->dir & 1]));
		json_object_object_add(io, "hook", json_object_new_string(state_hook_name(ci->hook)));
		json_object_object_add(io, "default", pair(&tot[TLSFW_STAT_DEFAULT]));
		json_object_object_add(io, "pass", pair(&tot[TLSFW_STAT_PASS]));
		json_object_object_add(io, "drop", pair(&tot[TLSFW_STAT_DROP]));
		json_object_object_add(io, "reject", pair(&tot[TLSFW_STAT_REJECT]));
		json_object_object_add(io, "monitor", pair(&tot[TLSFW_STAT_MONITOR]));
		json_object_array_add(ifs, io);
		for (uint32_t i = TLSFW_STAT_MALFORMED_TRUNCATED; !err && i < TLSFW_STAT_MAX; i++) {
			json_object *o;

			if (!tot[i].packets)
				continue;
			o = pair(&tot[i]);
			json_object_object_add(o, "interface", json_object_new_string(ifname));
			json_object_object_add(o, "direction", json_object_new_string(dir_names[ci->dir & 1]));
			json_object_object_add(o, "reason", json_object_new_string(reason_names[i]));
			json_object_array_add(reasons, o);
		}
	}
	json_object_object_add(doc, "rules", rules);
	json_object_object_add(doc, "interfaces", ifs);
	json_object_object_add(doc, "reasons", reasons);
	if (!err)
		puts(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY |
							 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(doc);
	return err;
}

static int usage(FILE *out, int ret)
{
	fprintf(out, "usage: tlsfw stats [--json] [--exact]\n");
	return ret;
}

int cmd_stats(int argc, char **argv)
{
	struct stats_opts o = {};
	struct stats s = {};
	char msg[512];
	int err, ret = EXIT_OK;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			o.json = true;
		else if (!strcmp(argv[i], "--exact"))
			o.exact = true;
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return usage(stdout, EXIT_OK);
		else if (!strcmp(argv[i], "--prometheus") || !strcmp(argv[i], "--watch") ||
			 !strcmp(argv[i], "--reset"))
			return fprintf(stderr, "tlsfw: stats: %s is not available yet\n", argv[i]),
			       EXIT_BAD_INPUT;
		else
			return fprintf(stderr, "tlsfw: stats: unknown argument '%s'\n", argv[i]),
			       usage(stderr, EXIT_BAD_INPUT);
	}
	err = state_find(&s.st, msg, sizeof(msg));
	if (err) {
		fprintf(stderr, "tlsfw: error: %s\n", msg);
		return EXIT_SYSTEM;
	}
	if (!s.st.have_maps) {
		if (o.json)
			puts("{\n  \"policy\": null,\n  \"rules\": [],\n  \"interfaces\": [],\n  \"reasons\": []\n}");
		else
			printf("tlsfw: nothing enforced in this network namespace\n");
		goto out;
	}
	s.ncpus = libbpf_num_possible_cpus();
	s.percpu = calloc(s.ncpus > 0 ? s.ncpus : 1, sizeof(*s.percpu));
	err = s.ncpus <= 0 || !s.percpu ? -ENOMEM : state_meta_read(&s.st.maps, &s.sm);
	if (!err)
		err = collect(&s);
	if (!err)
		err = o.json ? print_json(&s) : print_text(&s, &o);
	if (err) {
		fprintf(stderr, "tlsfw: error: cannot read the counters: %s\n", strerror(-err));
		ret = EXIT_SYSTEM;
	}
out:
	free(s.percpu);
	free(s.order);
	free(s.ctxs);
	state_meta_free(&s.sm);
	state_free(&s.st);
	return ret;
}
