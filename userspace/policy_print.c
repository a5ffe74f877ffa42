// SPDX-License-Identifier: GPL-2.0
/* The checked rule table that `tlsfw check` prints, and names for the policy enums. */
#include <arpa/inet.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "icmp_types.h"
#include "names.h"
#include "policy.h"
#include "textsafe.h"

static const char *const xdp_mode_names[] = { "auto", "native", "generic" };
static const char *const backend_names[] = { "bpf", "nft" };

const char *pol_prefix_str(const struct pol_prefix *p, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN];

	if (p->family == POL_FAM_V4) {
		inet_ntop(AF_INET, p->addr + 12, addr, sizeof(addr));
		snprintf(buf, len, "%s/%u", addr, p->plen >= 96 ? p->plen - 96 : 0);
	} else {
		inet_ntop(AF_INET6, p->addr, addr, sizeof(addr));
		snprintf(buf, len, "%s/%u", addr, p->plen);
	}
	return buf;
}

/* A growing string that never overflows: the table's match column. What does not fit is
 * cut, and the cut shown with an ellipsis. */
struct sbuf {
	char buf[512];
	size_t n;
	bool cut;
};

#define ELLIPSIS "\u2026"

/* Append fmt with its one "%s" (if any) replaced by word: the table's text is only words and
 * separators, and an snprintf for each word was a twentieth of `tlsfw check` of 4,096 rules
 * (callgrind). */
static void sb_add(struct sbuf *s, const char *fmt, const char *word)
{
	const char *pct = strstr(fmt, "%s");
	size_t lead = pct ? (size_t)(pct - fmt) : strlen(fmt), wl = pct ? strlen(word) : 0;
	size_t tail = pct ? strlen(pct + 2) : 0, need = lead + wl + tail;

	if (s->cut)
		return;
	if (need < sizeof(s->buf) - s->n) {
		memcpy(s->buf + s->n, fmt, lead);
		memcpy(s->buf + s->n + lead, word, wl);
		memcpy(s->buf + s->n + lead + wl, pct ? pct + 2 : "", tail);
		s->n += need;
		s->buf[s->n] = '\0';
		return;
	}
	/* What fits, then room for the ellipsis without cutting a UTF-8 character in two. */
	for (size_t i = 0; i < need && s->n < sizeof(s->buf) - 1; i++)
		s->buf[s->n++] = i < lead      ? fmt[i] :
				 i < lead + wl ? word[i - lead] :
						 pct[2 + i - lead - wl];
	s->n = sizeof(s->buf) - sizeof(ELLIPSIS);
	while (s->n && ((unsigned char)s->buf[s->n] & 0xc0) == 0x80)
		s->n--;
	memcpy(s->buf + s->n, ELLIPSIS, sizeof(ELLIPSIS));
	s->n += sizeof(ELLIPSIS) - 1;
	s->cut = true;
}

/* n in decimal ending just before end, NUL-terminated there (room for any 64-bit number: 21
 * bytes): its first digit. */
static char *utoa_end(unsigned long long n, char *end)
{
	*--end = '\0';
	do
		*--end = (char)('0' + n % 10);
	while (n /= 10);
	return end;
}

static void sb_ports(struct sbuf *s, const char *what, const struct pol_ports *pp)
{
	char lo[24], hi[24];

	sb_add(s, " %s ", what);
	for (size_t i = 0; i < pp->n; i++) {
		sb_add(s, i ? ",%s" : "%s", utoa_end(pp->r[i].lo, lo + sizeof(lo)));
		if (pp->r[i].lo != pp->r[i].hi)
			sb_add(s, "-%s", utoa_end(pp->r[i].hi, hi + sizeof(hi)));
	}
}

static void sb_prefixes(struct sbuf *s, const char *what, const struct pol_prefixes *pp)
{
	char one[64];

	sb_add(s, " %s ", what);
	for (size_t i = 0; i < pp->n; i++) {
		if (i == 4 && pp->n > 5) {
			snprintf(one, sizeof(one), ",... (%zu prefixes)", pp->n);
			sb_add(s, "%s", one);
			return;
		}
		sb_add(s, i ? ",%s" : "%s", pol_prefix_str(&pp->p[i], one, sizeof(one)));
	}
}

static void sb_names(struct sbuf *s, const char *what, const struct pol_names *nn)
{
	sb_add(s, " %s ", what);
	for (size_t i = 0; i < nn->n; i++)
		sb_add(s, i ? ",%s" : "%s", nn->v[i]);
}

static void rule_matches(const struct pol_rule *r, struct sbuf *s);

const char *policy_rule_match(const struct pol_rule *r, char *buf, size_t len)
{
	struct sbuf s = { .n = 0 };

	s.buf[0] = '\0';
	rule_matches(r, &s);
	snprintf(buf, len, "%s", s.buf + 1);
	return buf;
}

static void rule_matches(const struct pol_rule *r, struct sbuf *s)
{
	char num[8];
	int first = 1;

	if (r->has_proto) {
		sb_add(s, "%s", " proto ");
		for (unsigned int p = pol_proto_next(r->protos, 0); p < 256;
		     p = pol_proto_next(r->protos, p + 1)) {
			sb_add(s, first ? "%s" : ",%s", ip_proto_name(p, num, sizeof(num)));
			first = 0;
		}
	}
	if (r->services.n)
		sb_names(s, "service", &r->services);
	if (r->has_sport)
		sb_ports(s, "sport", &r->sport);
	if (r->has_dport)
		sb_ports(s, "dport", &r->dport);
	for (size_t i = 0; i < r->icmp_types.n; i++) {
		const struct pol_icmp_type *t = &r->icmp_types.v[i];
		const char *name = icmp_type_name(t->v4 >= 0 ? t->v4 : t->v6, t->v4 < 0);

		/* a number is the same in both families: print it as one */
		if (t->v4 == t->v6 || !name)
			snprintf(num, sizeof(num), "%d", t->v4 >= 0 ? t->v4 : t->v6);
		sb_add(s, i ? ",%s" : " icmp_type %s", t->v4 == t->v6 || !name ? num : name);
	}
	if (r->has_src)
		sb_prefixes(s, "src", &r->src);
	if (r->has_dst)
		sb_prefixes(s, "dst", &r->dst);
	if (r->family)
		sb_add(s, " family %s", r->family == POL_FAM_V4 ? "ipv4" : "ipv6");
	if (r->direction)
		sb_add(s, " direction %s", r->direction == POL_DIR_INGRESS ? "ingress" : "egress");
	if (r->ifaces.n)
		sb_names(s, "interface", &r->ifaces);
	if (r->payload_quic)
		sb_add(s, "%s", " payload quic");
	if (r->require_tls)
		sb_add(s, "%s", " require tls");
	for (unsigned int i = 0, first = 1; i < POL_ST_COUNT; i++) {
		if (!(r->state & (1u << i)))
			continue;
		sb_add(s, first ? " state %s" : ",%s", pol_state_names[i]);
		first = 0;
	}
	/* names last: a long list is cut with an ellipsis, not the fields after it */
	if (r->sni_none)
		sb_add(s, "%s", " sni none");
	else if (r->has_sni)
		sb_names(s, r->sni_not ? "sni not" : "sni", &r->sni);
	if (r->sni_none && r->sni_not)
		sb_add(s, "%s", " sni_match not");
	if (r->ech != POL_ECH_ANY)
		sb_add(s, " ech %s", r->ech == POL_ECH_PRESENT ? "present" : "absent");
	if (!s->n)
		sb_add(s, "%s", " any");
}

/* s left-aligned in a field of width characters (bytes: the table's words are ASCII). The
 * caller holds out's lock. */
static void put_left(FILE *out, const char *s, size_t width)
{
	size_t n = strlen(s);

	fwrite_unlocked(s, 1, n, out);
	for (; n < width; n++)
		putc_unlocked(' ', out);
}

/* v right-aligned in a field of width characters. */
static void put_right(FILE *out, unsigned long long v, size_t width)
{
	char num[24];
	const char *d = utoa_end(v, num + sizeof(num));

	for (size_t n = strlen(d); n < width; n++)
		putc_unlocked(' ', out);
	fputs_unlocked(d, out);
}

/* One row, as "%4zu  %-*s  %-6s  %-7s  %5u  %s\n" would print it: without printf, whose rows
 * were a twentieth of `tlsfw check` of 4,096 rules (callgrind). The caller holds out's lock. */
static void print_row(FILE *out, size_t num, size_t width, const char *name, const char *action,
		      const char *mode, unsigned int line, const char *match)
{
	put_right(out, num, 4);
	fputs_unlocked("  ", out);
	put_left(out, name, width);
	fputs_unlocked("  ", out);
	put_left(out, action, 6);
	fputs_unlocked("  ", out);
	put_left(out, mode, 7);
	fputs_unlocked("  ", out);
	put_right(out, line, 5);
	fputs_unlocked("  ", out);
	fputs_unlocked(match, out);
	putc_unlocked('\n', out);
}

void policy_print_table(const struct policy *p, FILE *out)
{
	size_t width = p->essentials == POL_ALLOW ? strlen("(essentials)") : 4;

	/* Checked names are plain; the file name and the probes' strings may be anything. */
	fputs("policy ", out);
	textsafe_fputs(p->file ? p->file : "-", out);
	fprintf(out, " sha256 ");
	for (int i = 0; i < 32; i++)
		fprintf(out, "%02x", p->sha256[i]);
	fprintf(out, "\nbackend %s, default %s, fragments %s, malformed %s, essentials %s\n",
		backend_names[p->backend], pol_action_names[p->default_action],
		pol_frag_names[p->fragments], pol_action_names[p->malformed],
		pol_action_names[p->essentials]);
	for (size_t i = 0; i < p->n_ifaces; i++) {
		const struct pol_iface *f = &p->ifaces[i];

		fprintf(out, "interface %s hooks %s%s%s xdp_mode %s\n", f->name,
			f->hooks & POL_HOOK_INGRESS ? "ingress" : "",
			f->hooks == (POL_HOOK_INGRESS | POL_HOOK_EGRESS) ? "," : "",
			f->hooks & POL_HOOK_EGRESS ? "egress" : "", xdp_mode_names[f->xdp_mode]);
	}
	for (size_t i = 0; i < p->n_rules; i++)
		if (p->rules[i].name && strlen(p->rules[i].name) > width)
			width = strlen(p->rules[i].name);
	fprintf(out, "\n%4s  %-*s  %-6s  %-7s  %5s  %s\n", "#", (int)width, "NAME", "ACTION",
		"MODE", "LINE", "MATCH");
	/* the implicit rule ahead of the policy's (lower_rules.c, rule_essentials) */
	if (p->essentials == POL_ALLOW)
		fprintf(out, "%4s  %-*s  %-6s  %-7s  %5s  %s\n", "-", (int)width, "(essentials)",
			"allow", "enforce", "-",
			"icmpv6 133-137 hoplimit 255, 130-132,143 hoplimit 1; udp dport 67-68 (ipv4), 546-547 (ipv6)");
	flockfile(out);
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct pol_rule *r = &p->rules[i];
		struct sbuf s = { .n = 0 };

		s.buf[0] = '\0';
		rule_matches(r, &s);
		print_row(out, i + 1, width, r->name ? r->name : "?", pol_action_names[r->action],
			  pol_mode_names[r->mode],
			  r->name_loc.line ? r->name_loc.line : r->loc.line, s.buf + 1);
	}
	funlockfile(out);
	if (!p->n_rules)
		fprintf(out, "(no rules: every packet gets the default verdict)\n");
	for (size_t i = 0; i < p->n_probes; i++) {
		const struct pol_probe *pr = &p->probes[i];

		char name[TEXTSAFE_LEN(64)], target[TEXTSAFE_LEN(256)], tls[2][TEXTSAFE_LEN(16)];

		if (pr->domain) {
			char ta[TEXTSAFE_LEN(256)];

			fprintf(out, "probe %s domain %s min_tls %s on_fail %s%s%s\n",
				textsafe(pr->name ? pr->name : "?", name, sizeof(name)),
				textsafe(pr->domain, target, sizeof(target)),
				textsafe(pr->min_tls ? pr->min_tls : "1.2", tls[1], sizeof(tls[1])),
				pr->on_fail_block ? "block" : "warn",
				pr->trust_anchor ? " trust_anchor " : "",
				pr->trust_anchor ? textsafe(pr->trust_anchor, ta, sizeof(ta)) : "");
			continue;
		}
		fprintf(out, "probe %s target %s starttls %s min_tls %s verify %s on_fail %s\n",
			textsafe(pr->name ? pr->name : "?", name, sizeof(name)),
			textsafe(pr->target ? pr->target : "?", target, sizeof(target)),
			textsafe(pr->starttls ? pr->starttls : "auto", tls[0], sizeof(tls[0])),
			textsafe(pr->min_tls ? pr->min_tls : "1.2", tls[1], sizeof(tls[1])),
			pr->verify ? "true" : "false", pr->on_fail_block ? "block" : "warn");
	}
}
