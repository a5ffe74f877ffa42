// SPDX-License-Identifier: GPL-2.0
/* The table and the JSON document of `tlsfw stats`, from a snapshot (stats.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>

#include "names.h"
#include "stats.h"
#include "textsafe.h"

/* Rates as the table shows them: human units per second, or raw with one decimal. */
static void rate_str(double v, bool bytes, bool exact, char *buf, size_t len)
{
	if (exact) {
		snprintf(buf, len, "%.1f%s", v, bytes ? " B/s" : "/s");
		return;
	}
	stats_human((uint64_t)(v + 0.5), bytes, false, buf, len);
	strncat(buf, "/s", len - strlen(buf) - 1);
}

static void row(FILE *out, const struct stats_view *v, const char *name, const char *action,
		const char *mode, const struct tlsfw_counter *c, const struct stats_rate *rate,
		bool have_rate)
{
	char p[32], b[32], pr[40], br[40], safe[TEXTSAFE_LEN(TLSFW_NAME_MAX)];

	stats_human(c->packets, false, v->exact, p, sizeof(p));
	stats_human(c->bytes, true, v->exact, b, sizeof(b));
	fprintf(out, "  %-24s %-7s %-8s %12s %13s", textsafe(name, safe, sizeof(safe)), action,
		mode, p, b);
	if (v->rates) {
		if (have_rate) {
			rate_str(rate->packets, false, v->exact, pr, sizeof(pr));
			rate_str(rate->bytes, true, v->exact, br, sizeof(br));
		} else {
			snprintf(pr, sizeof(pr), "-");
			snprintf(br, sizeof(br), "-");
		}
		fprintf(out, " %12s %15s", pr, br);
	}
	fputc('\n', out);
}

static void print_block(const struct stats_snap *s, const struct stats_view *v, size_t k, FILE *out)
{
	const struct stats_block *bl = &s->blocks[k];
	struct tlsfw_counter total = {};
	struct stats_rate rate;
	char p[32], b[32], name[TEXTSAFE_LEN(sizeof(bl->ifname))];
	bool any = false;

	fprintf(out, "\n%s %s (%s%s)\n", textsafe(bl->ifname, name, sizeof(name)),
		dir_name(bl->dir), hook_label(bl->hook),
		bl->lost ? "; nothing filters there now: see tlsfw status" : "");
	fprintf(out, "  %-24s %-7s %-8s %12s %13s", "RULE", "ACTION", "MODE", "PACKETS", "BYTES");
	if (v->rates)
		fprintf(out, " %12s %15s", "PACKETS/S", "BYTES/S");
	fputc('\n', out);
	for (size_t r = 0; r < s->n_rules; r++) {
		const struct stats_rule *ru = &s->rules[r];

		row(out, v, ru->name, action_name(ru->action), ru->monitor ? "monitor" : "enforce",
		    &bl->rule[r], &rate, stats_rate(s, v->prev, k, r, &rate));
	}
	row(out, v, "(default)", action_name(s->default_action), "", &bl->stat[TLSFW_STAT_DEFAULT],
	    &rate, stats_rate(s, v->prev, k, -1, &rate));
	/* Every packet the hook decided ends as pass, drop or reject; monitor is a part of pass. */
	fprintf(out, "  verdicts:");
	for (unsigned int i = 0; i < TLSFW_STAT_MAX; i++) {
		if (!stat_verdict_name(i))
			continue;
		if (i != TLSFW_STAT_MONITOR) {
			total.packets += bl->stat[i].packets;
			total.bytes += bl->stat[i].bytes;
		}
		stats_human(bl->stat[i].packets, false, v->exact, p, sizeof(p));
		fprintf(out, " %s %s", stat_verdict_name(i), p);
	}
	stats_human(total.packets, false, v->exact, p, sizeof(p));
	stats_human(total.bytes, true, v->exact, b, sizeof(b));
	fprintf(out, "; total %s packets, %s\n", p, b);
	for (unsigned int i = 0; i < TLSFW_STAT_MAX; i++) {
		if (!stat_reason_name(i) || !bl->stat[i].packets)
			continue;
		stats_human(bl->stat[i].packets, false, v->exact, p, sizeof(p));
		fprintf(out, "%s %s %s", any ? "," : "  reasons:", stat_reason_name(i), p);
		any = true;
	}
	if (any)
		fputc('\n', out);
}

/* sni:/ech: rules' flows matched. */
static void print_names(const struct stats_snap *s, const struct stats_view *v, FILE *out)
{
	char a[32], safe[TEXTSAFE_LEN(TLSFW_NAME_MAX + 1)];
	bool head = false;

	for (size_t r = 0; r < s->n_rules; r++) {
		if (!s->rules[r].names)
			continue;
		if (!head)
			fprintf(out, "flows (sni:, ech:)\n  %-24s %12s\n", "RULE", "MATCHED");
		head = true;
		stats_human(s->rules[r].flows_matched, false, v->exact, a, sizeof(a));
		fprintf(out, "  %-24s %12s\n", textsafe(s->rules[r].name, safe, sizeof(safe)), a);
	}
}

/* require: tls rules' flows, and the flow table, under the blocks. */
static void print_content(const struct stats_snap *s, const struct stats_view *v, FILE *out)
{
	char a[32], b[32], c[32], safe[TEXTSAFE_LEN(TLSFW_NAME_MAX + 1)];
	bool head = false;

	if (!s->content)
		return;
	fputc('\n', out);
	for (size_t r = 0; r < s->n_rules; r++) {
		if (!s->rules[r].require)
			continue;
		if (!head)
			fprintf(out, "flows (require: tls)\n  %-24s %12s %12s\n", "RULE", "PASSED",
				"CUT");
		head = true;
		stats_human(s->rules[r].flows_passed, false, v->exact, a, sizeof(a));
		stats_human(s->rules[r].flows_cut, false, v->exact, b, sizeof(b));
		fprintf(out, "  %-24s %12s %12s\n", textsafe(s->rules[r].name, safe, sizeof(safe)),
			a, b);
	}
	print_names(s, v, out);
	stats_human(s->flows, false, v->exact, a, sizeof(a));
	stats_human(s->flows_evicted, false, v->exact, b, sizeof(b));
	stats_human(s->midstream, false, v->exact, c, sizeof(c));
	fprintf(out, "flow table: %s flows, %s evicted; %s mid-stream packets\n", a, b, c);
}

/* log: rules' events and what their rate limit or a full ring buffer dropped. */
static void print_log(const struct stats_snap *s, const struct stats_view *v, FILE *out)
{
	char a[32], b[32], c[32], safe[TEXTSAFE_LEN(TLSFW_NAME_MAX + 1)];

	if (!s->log)
		return;
	fprintf(out, "\nlog\n  %-24s %8s %12s %12s %12s\n", "RULE", "RATE/S", "EVENTS",
		"SUPPRESSED", "RING-FULL");
	for (size_t r = 0; r < s->n_rules; r++) {
		const struct stats_rule *ru = &s->rules[r];

		if (!ru->log_rate)
			continue;
		stats_human(ru->log_events, false, v->exact, a, sizeof(a));
		stats_human(ru->log_suppressed, false, v->exact, b, sizeof(b));
		stats_human(ru->log_ring_full, false, v->exact, c, sizeof(c));
		fprintf(out, "  %-24s %8u %12s %12s %12s\n", textsafe(ru->name, safe, sizeof(safe)),
			ru->log_rate, a, b, c);
	}
}

int stats_print_table(const struct stats_snap *s, const struct stats_view *v, FILE *out)
{
	char when[UTC_TEXT_LEN], file[TEXTSAFE_LEN(sizeof(s->policy_file))];
	char hash[TEXTSAFE_LEN(sizeof(s->policy_hash))];

	if (!s->enforced) {
		fprintf(out, "tlsfw: nothing enforced in this network namespace\n");
		return 0;
	}
	utc_text(s->applied_at, when);
	fprintf(out, "policy %s (%s), applied %s, default %s, backend %s\n",
		textsafe(s->policy_file, file, sizeof(file)),
		textsafe(s->policy_hash, hash, sizeof(hash)), when, action_name(s->default_action),
		s->backend ? s->backend : "-");
	for (size_t k = 0; k < s->n_blocks; k++)
		print_block(s, v, k, out);
	print_content(s, v, out);
	print_log(s, v, out);
	return ferror(out) ? -EIO : 0;
}

/* ---- JSON ------------------------------------------------------------------------------ */

static json_object *jstr(const char *s)
{
	return json_object_new_string(s);
}

/* A measured number as JSON with a fixed number of decimals: json-c would print every
 * binary digit of the double (0.10021735300000001 for 0.100217353). */
static json_object *measured(double v, int decimals)
{
	char text[64];

	snprintf(text, sizeof(text), "%.*f", decimals, v);
	return json_object_new_double_s(v, text);
}

static json_object *pair(const struct tlsfw_counter *c)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "packets", json_object_new_int64(c->packets));
	json_object_object_add(o, "bytes", json_object_new_int64(c->bytes));
	return o;
}

static void add_rate(json_object *o, const struct stats_snap *s, const struct stats_view *v,
		     size_t k, long r)
{
	struct stats_rate rate;

	if (!v->rates)
		return;
	if (!stats_rate(s, v->prev, k, r, &rate)) {
		json_object_object_add(o, "packets_per_second", NULL);
		json_object_object_add(o, "bytes_per_second", NULL);
		return;
	}
	json_object_object_add(o, "packets_per_second", measured(rate.packets, 1));
	json_object_object_add(o, "bytes_per_second", measured(rate.bytes, 1));
}

static void json_block(json_object *rules, json_object *ifs, json_object *reasons,
		       const struct stats_snap *s, const struct stats_view *v, size_t k)
{
	const struct stats_block *bl = &s->blocks[k];
	const char *dir = dir_name(bl->dir);
	json_object *io = json_object_new_object(), *def;

	for (size_t r = 0; r < s->n_rules; r++) {
		const struct stats_rule *ru = &s->rules[r];
		json_object *o = json_object_new_object();

		json_object_object_add(o, "name", jstr(ru->name));
		json_object_object_add(o, "action", jstr(action_name(ru->action)));
		json_object_object_add(o, "mode", jstr(ru->monitor ? "monitor" : "enforce"));
		json_object_object_add(o, "interface", jstr(bl->ifname));
		json_object_object_add(o, "direction", jstr(dir));
		json_object_object_add(o, "packets", json_object_new_int64(bl->rule[r].packets));
		json_object_object_add(o, "bytes", json_object_new_int64(bl->rule[r].bytes));
		add_rate(o, s, v, k, r);
		json_object_array_add(rules, o);
	}
	json_object_object_add(io, "interface", jstr(bl->ifname));
	json_object_object_add(io, "direction", jstr(dir));
	json_object_object_add(io, "hook", jstr(hook_id_name(bl->hook)));
	def = pair(&bl->stat[TLSFW_STAT_DEFAULT]);
	json_object_object_add(def, "action", jstr(action_name(s->default_action)));
	add_rate(def, s, v, k, -1);
	json_object_object_add(io, "default", def);
	for (unsigned int i = 0; i < TLSFW_STAT_MAX; i++)
		if (stat_verdict_name(i))
			json_object_object_add(io, stat_verdict_name(i), pair(&bl->stat[i]));
	json_object_array_add(ifs, io);
	for (unsigned int i = 0; i < TLSFW_STAT_MAX; i++) {
		json_object *o;

		if (!stat_reason_name(i) || !bl->stat[i].packets)
			continue;
		o = pair(&bl->stat[i]);
		json_object_object_add(o, "interface", jstr(bl->ifname));
		json_object_object_add(o, "direction", jstr(dir));
		json_object_object_add(o, "reason", jstr(stat_reason_name(i)));
		json_object_array_add(reasons, o);
	}
}

/* "flows": per require: tls rule, and the flow table. */
static json_object *json_flows(const struct stats_snap *s)
{
	json_object *o = json_object_new_object(), *rules = json_object_new_array();

	for (size_t r = 0; r < s->n_rules; r++) {
		json_object *x;

		if (!s->rules[r].require && !s->rules[r].names)
			continue;
		x = json_object_new_object();
		json_object_object_add(x, "name", jstr(s->rules[r].name));
		if (s->rules[r].names) {
			json_object_object_add(x, "flows_matched",
					       json_object_new_int64(s->rules[r].flows_matched));
			json_object_array_add(rules, x);
			continue;
		}
		json_object_object_add(x, "flows_passed",
				       json_object_new_int64(s->rules[r].flows_passed));
		json_object_object_add(x, "flows_cut",
				       json_object_new_int64(s->rules[r].flows_cut));
		json_object_array_add(rules, x);
	}
	json_object_object_add(o, "rules", rules);
	json_object_object_add(o, "table_entries", json_object_new_int64(s->flows));
	json_object_object_add(o, "evicted", json_object_new_int64(s->flows_evicted));
	json_object_object_add(o, "midstream_packets", json_object_new_int64(s->midstream));
	return o;
}

/* "log": per log: rule, its rate, events and drops. */
static json_object *json_log(const struct stats_snap *s)
{
	json_object *o = json_object_new_object(), *rules = json_object_new_array();

	for (size_t r = 0; r < s->n_rules; r++) {
		const struct stats_rule *ru = &s->rules[r];
		json_object *x;

		if (!ru->log_rate)
			continue;
		x = json_object_new_object();
		json_object_object_add(x, "name", jstr(ru->name));
		json_object_object_add(x, "rate", json_object_new_int64(ru->log_rate));
		json_object_object_add(x, "events", json_object_new_int64(ru->log_events));
		json_object_object_add(x, "suppressed", json_object_new_int64(ru->log_suppressed));
		json_object_object_add(x, "ring_full", json_object_new_int64(ru->log_ring_full));
		json_object_array_add(rules, x);
	}
	json_object_object_add(o, "rules", rules);
	return o;
}

int stats_print_json(const struct stats_snap *s, const struct stats_view *v, bool compact,
		     FILE *out)
{
	json_object *doc = json_object_new_object(), *rules = json_object_new_array();
	json_object *ifs = json_object_new_array(), *reasons = json_object_new_array();
	int flags = JSON_C_TO_STRING_NOSLASHESCAPE;
	char when[UTC_TEXT_LEN];

	if (!doc || !rules || !ifs || !reasons) {
		json_object_put(doc);
		json_object_put(rules);
		json_object_put(ifs);
		json_object_put(reasons);
		return -ENOMEM;
	}
	if (s->enforced) {
		json_object *p = json_object_new_object();

		utc_text(s->applied_at, when);
		json_object_object_add(p, "file", jstr(s->policy_file));
		json_object_object_add(p, "hash", jstr(s->policy_hash));
		json_object_object_add(p, "applied_at", jstr(when));
		json_object_object_add(p, "applied_at_unix", json_object_new_int64(s->applied_at));
		json_object_object_add(p, "default", jstr(action_name(s->default_action)));
		json_object_object_add(p, "backend", jstr(s->backend));
		json_object_object_add(doc, "policy", p);
	} else {
		json_object_object_add(doc, "policy", NULL);
	}
	for (size_t k = 0; k < s->n_blocks; k++)
		json_block(rules, ifs, reasons, s, v, k);
	json_object_object_add(doc, "rules", rules);
	json_object_object_add(doc, "interfaces", ifs);
	json_object_object_add(doc, "reasons", reasons);
	if (s->content)
		json_object_object_add(doc, "flows", json_flows(s));
	if (s->log)
		json_object_object_add(doc, "log", json_log(s));
	if (v->rates && v->prev) {
		double dt = (s->taken.tv_sec - v->prev->taken.tv_sec) +
			    (s->taken.tv_nsec - v->prev->taken.tv_nsec) / 1e9;

		json_object_object_add(doc, "interval_seconds", measured(dt, 3));
	}
	flags |= compact ? JSON_C_TO_STRING_PLAIN : JSON_C_TO_STRING_PRETTY;
	fprintf(out, "%s\n", json_object_to_json_string_ext(doc, flags));
	json_object_put(doc);
	return ferror(out) ? -EIO : 0;
}
