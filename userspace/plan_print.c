// SPDX-License-Identifier: GPL-2.0
/*
 * The plan as text: `tlsfw check --print-plan` and the golden format. The BPF half as its
 * tables (runs of equal class, prefixes as users write them, the combination tables
 * sorted).
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "plan.h"

static const char *const xdp_names[] = { "auto", "native", "generic" };

static const char *name_of(const char *const *v, size_t n, unsigned int i)
{
	return i < n ? v[i] : "?";
}

/* IPv4 in dotted notation (the v4 catch-all is 0.0.0.0/0), IPv6 as inet_ntop writes it. */
static void print_prefix(const struct plan_prefix *x, FILE *out)
{
	char buf[INET6_ADDRSTRLEN];

	if (x->plen >= 96 && !memcmp(x->addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12)) {
		inet_ntop(AF_INET, x->addr + 12, buf, sizeof(buf));
		fprintf(out, "%s/%u", buf, x->plen - 96);
	} else {
		inet_ntop(AF_INET6, x->addr, buf, sizeof(buf));
		fprintf(out, "%s/%u", buf, x->plen);
	}
}

static void print_runs(const uint32_t *cls, size_t n, const char *indent, FILE *out)
{
	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j + 1 < n && cls[j + 1] == cls[i])
			j++;
		fprintf(out, "%s%zu-%zu -> %u\n", indent, i, j, cls[i]);
		i = j + 1;
	}
}

static void print_ports(const char *name, const uint32_t *cls, FILE *out)
{
	fprintf(out, "\n%s:\n", name);
	if (!cls)
		return;
	print_runs(cls, TLSFW_PORT_NONE, "  ", out);
	fprintf(out, "  none -> %u\n", cls[TLSFW_PORT_NONE]);
}

static void print_comb(const char *title, const struct plan_comb *v, size_t n,
		       const struct plan *pl, bool rules, FILE *out)
{
	fprintf(out, "\n%s:\n", title);
	for (size_t i = 0; i < n; i++) {
		fprintf(out, "  %u %u %u -> %u", v[i].a, v[i].b, v[i].c, v[i].out);
		if (rules && v[i].out < pl->n_rules)
			fprintf(out, " %s", pl->rules[v[i].out].name);
		fputc('\n', out);
	}
}

/* The plan's header: fields used, policy-wide settings, class and entry counts, hooks. */
static void print_bpf_header(const struct plan *pl, FILE *out)
{
	static const char *const field_names[] = { "sport", "dport", "src", "dst" };
	bool any = false;

	fprintf(out, "fields:");
	for (unsigned int i = 0; i < 4; i++) {
		if (pl->fields & (1u << i)) {
			fprintf(out, " %s", field_names[i]);
			any = true;
		}
	}
	fprintf(out, "%s\n", any ? "" : " none");
	fprintf(out, "default: %s\n", name_of(pol_action_names, 3, pl->default_action));
	fprintf(out, "malformed: %s\n", name_of(pol_action_names, 3, pl->malformed_action));
	fprintf(out, "fragments: %s\n", name_of(pol_frag_names, 3, pl->frag_mode));
	fprintf(out, "classes: proto %u, sport %u, dport %u, src %u, dst %u, ctx %u, A %u, B %u\n",
		pl->n_proto_cls, pl->n_sport_cls, pl->n_dport_cls, pl->n_src_cls, pl->n_dst_cls,
		pl->n_ctx_cls, pl->n_a_cls, pl->n_b_cls);
	fprintf(out, "entries: src %zu, dst %zu, comb1 %zu, comb2 %zu, comb3 %zu\n", pl->n_src,
		pl->n_dst, pl->n_comb1, pl->n_comb2, pl->n_comb3);

	fprintf(out, "\ninterfaces:\n");
	for (size_t i = 0; i < pl->n_ifaces; i++) {
		const struct plan_iface *f = &pl->ifaces[i];

		fprintf(out, "  %s hooks %s%s%s xdp_mode %s\n", f->name,
			f->hooks & POL_HOOK_INGRESS ? "ingress" : "",
			(f->hooks & POL_HOOK_INGRESS) && (f->hooks & POL_HOOK_EGRESS) ? "," : "",
			f->hooks & POL_HOOK_EGRESS ? "egress" : "",
			name_of(xdp_names, 3, f->xdp_mode));
	}
}

static void print_bpf_rules(const struct plan *pl, FILE *out)
{
	fprintf(out, "\nrules:\n");
	for (size_t i = 0; i < pl->n_rules; i++) {
		const struct plan_rule *r = &pl->rules[i];

		fprintf(out, "  %zu %s %s%s%s", i, r->name ? r->name : "?",
			name_of(pol_action_names, 3, r->action), r->monitor ? " monitor" : "",
			r->payload_quic ? " payload quic" :
			r->require_tls	? " require tls" :
					  "");
		for (unsigned int s = 0, first = 1; s < POL_ST_COUNT; s++) {
			if (!(r->state & (1u << s)))
				continue;
			fprintf(out, first ? " state %s" : ",%s", pol_state_names[s]);
			first = 0;
		}
		fprintf(out, " line %u\n", r->line);
	}
}

/* Phase 0: the protocol classes, and the content and state slices where rules use them. */
static void print_bpf_proto(const struct plan *pl, FILE *out)
{
	fprintf(out, "\nproto:\n");
	print_runs(pl->proto_cls, 256, "  ipv4 ", out);
	print_runs(pl->proto_cls + 256, 256, "  ipv6 ", out);
	/* Content classes (TLSFW_PL_*) only where some rule reads content: golden plans of
	 * policies without stay as they were. */
	for (unsigned int c = 1; pl->has_content && c <= TLSFW_PL_HELLO_UNORDERED; c++) {
		static const char *const names[] = {
			"", "plain", "quic", "not-tls", "unordered", "conflict", "hello-unordered"
		};
		char pre[40];

		snprintf(pre, sizeof(pre), "  %s ipv4 ", names[c]);
		print_runs(pl->proto_cls + c * 512, 256, pre, out);
		snprintf(pre, sizeof(pre), "  %s ipv6 ", names[c]);
		print_runs(pl->proto_cls + c * 512 + 256, 256, pre, out);
	}
	/* States (TLSFW_CT_*, content class unknown) only where some rule has state: */
	for (unsigned int c = 1; pl->has_state && c <= POL_ST_COUNT; c++) {
		const uint32_t *cls = pl->proto_cls + c * TLSFW_PL_VALUES * 512;
		char pre[40];

		snprintf(pre, sizeof(pre), "  state %s ipv4 ", pol_state_names[c - 1]);
		print_runs(cls, 256, pre, out);
		snprintf(pre, sizeof(pre), "  state %s ipv6 ", pol_state_names[c - 1]);
		print_runs(cls + 256, 256, pre, out);
	}
	if (!pl->has_content)
		return;
	fprintf(out, "midstream: %s\n", name_of(pol_action_names, 3, pl->midstream_action));
	if (pl->flows)
		fprintf(out, "flows: %u\n", pl->flows);
	else /* the table in force, or a new one of TLSFW_FLOWS_MIN */
		fprintf(out, "flows: none (no rule keeps a flow)\n");
}

static void print_bpf(const struct plan *pl, FILE *out)
{
	print_bpf_header(pl, out);
	print_bpf_rules(pl, out);
	print_bpf_proto(pl, out);
	print_ports("sport", pl->sport_cls, out);
	print_ports("dport", pl->dport_cls, out);

	fprintf(out, "\nsrc:\n");
	for (size_t i = 0; i < pl->n_src; i++) {
		fprintf(out, "  ");
		print_prefix(&pl->src[i], out);
		fprintf(out, " -> %u\n", pl->src[i].cls);
	}
	fprintf(out, "\ndst:\n");
	for (size_t i = 0; i < pl->n_dst; i++) {
		fprintf(out, "  ");
		print_prefix(&pl->dst[i], out);
		fprintf(out, " -> %u\n", pl->dst[i].cls);
	}

	fprintf(out, "\nctx:\n");
	for (size_t i = 0; i < pl->n_ctx; i++)
		fprintf(out, "  %s %s -> %u\n", pl->ctx[i].ifname,
			pl->ctx[i].dir == TLSFW_DIR_EGRESS ? "egress" : "ingress", pl->ctx[i].cls);

	print_comb("comb1 (proto, sport, dport -> A)", pl->comb1, pl->n_comb1, pl, false, out);
	print_comb("comb2 (src, dst, 0 -> B)", pl->comb2, pl->n_comb2, pl, false, out);
	print_comb("comb3 (ctx, A, B -> rule)", pl->comb3, pl->n_comb3, pl, true, out);
}

void plan_print(const struct plan *pl, FILE *out)
{
	if (pl->has_bpf)
		print_bpf(pl, out);
	if (pl->has_bpf && pl->has_nft)
		fputc('\n', out);
	if (pl->has_nft)
		plan_print_nft(pl, out);
}
