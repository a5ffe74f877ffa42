// SPDX-License-Identifier: GPL-2.0
/*
 * Prometheus text exposition format (version 0.0.4) of a snapshot: what `tlsfw stats
 * --prometheus` prints for node_exporter's textfile collector and `--listen` serves at
 * /metrics. Every sample of a metric family follows its HELP and TYPE lines, as the format
 * requires; counters end in _total. The metric list is in Documentation/prometheus.md.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "names.h"
#include "stats.h"
#include "textsafe.h"

/* Label values escape backslash, double quote and line feed, as the format says; they must be
 * UTF-8, else Prometheus rejects the whole scrape, so a byte that is not (a Latin-1 file
 * name) becomes U+FFFD. */
static void label(FILE *out, const char *key, const char *val, bool first)
{
	size_t len = strlen(val), n;

	fprintf(out, "%s%s=\"", first ? "" : ",", key);
	for (const char *p = val; len; p += n, len -= n) {
		n = textsafe_utf8_len(p, len);
		if (!n) {
			fputs("\xef\xbf\xbd", out);
			n = 1;
		} else if (*p == '\\') {
			fputs("\\\\", out);
		} else if (*p == '"') {
			fputs("\\\"", out);
		} else if (*p == '\n') {
			fputs("\\n", out);
		} else {
			fwrite(p, 1, n, out);
		}
	}
	fputc('"', out);
}

static void family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{interface="lan0",direction="ingress" */
static void block_labels(FILE *out, const char *name, const struct stats_block *b)
{
	fprintf(out, "%s{", name);
	label(out, "interface", b->ifname, true);
	label(out, "direction", dir_name(b->dir), false);
}

/* The mode is not a label of the counters: the usual rollout (monitor, then enforce) would
 * otherwise start a new series for the same rule. It is here, to join on. */
static void rule_info(FILE *out, const struct stats_snap *s)
{
	const char *name = "tlsfw_rule_info";

	family(out, name, "gauge",
	       "The rules of the enforced policy in policy order, with action and mode; always 1.");
	for (size_t r = 0; r < s->n_rules; r++) {
		const struct stats_rule *ru = &s->rules[r];

		fprintf(out, "%s{", name);
		label(out, "rule", ru->name, true);
		label(out, "action", action_name(ru->action), false);
		label(out, "mode", ru->monitor ? "monitor" : "enforce", false);
		fprintf(out, ",order=\"%u\"} 1\n", ru->order + 1);
	}
}

static void rule_family(FILE *out, const struct stats_snap *s, bool bytes)
{
	const char *name = bytes ? "tlsfw_rule_bytes_total" : "tlsfw_rule_packets_total";

	/* nftables counts from the IP header, the BPF programs from the Ethernet header */
	family(out, name, "counter",
	       !bytes ?
		       "Packets a rule matched (monitor mode: would have matched)." :
	       s->ip_bytes ?
		       "Bytes of the IP packets a rule matched (monitor mode: would have matched); backend nft counts no link-layer header." :
		       "Bytes of the frames a rule matched (monitor mode: would have matched), Ethernet header included.");
	for (size_t k = 0; k < s->n_blocks; k++) {
		const struct stats_block *b = &s->blocks[k];

		for (size_t r = 0; r < s->n_rules; r++) {
			const struct stats_rule *ru = &s->rules[r];

			fprintf(out, "%s{", name);
			label(out, "rule", ru->name, true);
			label(out, "action", action_name(ru->action), false);
			label(out, "interface", b->ifname, false);
			label(out, "direction", dir_name(b->dir), false);
			fprintf(out, "} %llu\n",
				(unsigned long long)(bytes ? b->rule[r].bytes :
							     b->rule[r].packets));
		}
	}
}

static void default_family(FILE *out, const struct stats_snap *s, bool bytes)
{
	const char *name = bytes ? "tlsfw_default_bytes_total" : "tlsfw_default_packets_total";

	family(out, name, "counter",
	       bytes ? "Bytes of the frames no rule matched, decided by the default verdict." :
		       "Packets no rule matched, decided by the default verdict.");
	for (size_t k = 0; k < s->n_blocks; k++) {
		const struct tlsfw_counter *c = &s->blocks[k].stat[TLSFW_STAT_DEFAULT];

		block_labels(out, name, &s->blocks[k]);
		fprintf(out, "} %llu\n", (unsigned long long)(bytes ? c->bytes : c->packets));
	}
}

static void verdict_family(FILE *out, const struct stats_snap *s, bool bytes)
{
	const char *name = bytes ? "tlsfw_verdict_bytes_total" : "tlsfw_verdict_packets_total";

	family(out, name, "counter",
	       bytes ? "Bytes of the frames tlsfw decided, by final verdict: pass, drop, reject; monitor counts the passed packets a monitor-mode rule matched (also in pass)." :
		       "Packets tlsfw decided, by final verdict: pass, drop, reject; monitor counts the passed packets a monitor-mode rule matched (also in pass).");
	for (size_t k = 0; k < s->n_blocks; k++) {
		for (unsigned int i = 0; i < TLSFW_STAT_MAX; i++) {
			const struct tlsfw_counter *c = &s->blocks[k].stat[i];

			if (!stat_verdict_name(i))
				continue;
			block_labels(out, name, &s->blocks[k]);
			label(out, "verdict", stat_verdict_name(i), false);
			fprintf(out, "} %llu\n",
				(unsigned long long)(bytes ? c->bytes : c->packets));
		}
	}
}

/* Reasons are exported also when zero: a series that appears only on the first malformed
 * packet makes rate() and alerts miss that packet. */
static void reason_family(FILE *out, const struct stats_snap *s)
{
	const char *name = "tlsfw_reason_packets_total";

	family(out, name, "counter",
	       "Packets counted for a reason: malformed headers, fragments handled, reject answers sent or failed.");
	for (size_t k = 0; k < s->n_blocks; k++) {
		for (unsigned int i = 0; i < TLSFW_STAT_MAX; i++) {
			if (!stat_reason_name(i))
				continue;
			block_labels(out, name, &s->blocks[k]);
			label(out, "reason", stat_reason_name(i), false);
			fprintf(out, "} %llu\n", (unsigned long long)s->blocks[k].stat[i].packets);
		}
	}
}

static void hook_family(FILE *out, const struct stats_snap *s)
{
	const char *name = "tlsfw_interface_info";

	family(out, name, "gauge",
	       "Interfaces and directions the policy filters, with the hook that runs there; always 1.");
	for (size_t k = 0; k < s->n_blocks; k++) {
		block_labels(out, name, &s->blocks[k]);
		label(out, "hook", hook_id_name(s->blocks[k].hook), false);
		fprintf(out, "} 1\n");
	}
	name = "tlsfw_interface_lost";
	family(out, name, "gauge",
	       "1 when nothing filters there any more: the interface was deleted since the policy was applied, or another tool removed tlsfw's programs.");
	for (size_t k = 0; k < s->n_blocks; k++) {
		block_labels(out, name, &s->blocks[k]);
		fprintf(out, "} %d\n", s->blocks[k].lost);
	}
}

/* require: tls flow counters and the flow table, where some rule reads content. */
static void content_family(FILE *out, const struct stats_snap *s)
{
	static const char *const names[] = { "tlsfw_rule_flows_passed_total",
					     "tlsfw_rule_flows_cut_total" };
	static const char *const help[] = {
		"TCP flows a require: tls rule inspected whose first bytes started a TLS handshake.",
		"TCP flows a require: tls rule cut: their first bytes did not start a TLS handshake.",
	};

	if (!s->content)
		return;
	for (int k = 0; k < 2; k++) {
		family(out, names[k], "counter", help[k]);
		for (size_t r = 0; r < s->n_rules; r++) {
			const struct stats_rule *ru = &s->rules[r];

			if (!ru->require)
				continue;
			fprintf(out, "%s{", names[k]);
			label(out, "rule", ru->name, true);
			fprintf(out, "} %llu\n",
				(unsigned long long)(k ? ru->flows_cut : ru->flows_passed));
		}
	}
	family(out, "tlsfw_rule_flows_matched_total", "counter",
	       "TCP flows whose ClientHello an sni: or ech: rule matched.");
	for (size_t r = 0; r < s->n_rules; r++) {
		if (!s->rules[r].names)
			continue;
		fprintf(out, "tlsfw_rule_flows_matched_total{");
		label(out, "rule", s->rules[r].name, true);
		fprintf(out, "} %llu\n", (unsigned long long)s->rules[r].flows_matched);
	}
	family(out, "tlsfw_flows", "gauge", "Entries of the TCP flow table.");
	fprintf(out, "tlsfw_flows %llu\n", (unsigned long long)s->flows);
	family(out, "tlsfw_flows_evicted_total", "counter",
	       "Flows the flow table evicted to make room (their next packets are mid-stream).");
	fprintf(out, "tlsfw_flows_evicted_total %llu\n", (unsigned long long)s->flows_evicted);
}

/* log: rules: events written, and dropped by the rate limit or a full ring buffer. */
static void log_family(FILE *out, const struct stats_snap *s)
{
	static const char *const names[] = { "tlsfw_rule_log_events_total",
					     "tlsfw_rule_log_suppressed_total",
					     "tlsfw_rule_log_ring_full_total" };
	static const char *const help[] = {
		"Events a log: rule wrote to the log ring buffer.",
		"Events of a log: rule its rate limit dropped.",
		"Events of a log: rule lost because the log ring buffer was full.",
	};

	if (!s->log)
		return;
	for (int k = 0; k < 3; k++) {
		family(out, names[k], "counter", help[k]);
		for (size_t r = 0; r < s->n_rules; r++) {
			const struct stats_rule *ru = &s->rules[r];
			const uint64_t v[] = { ru->log_events, ru->log_suppressed,
					       ru->log_ring_full };

			if (!ru->log_rate)
				continue;
			fprintf(out, "%s{", names[k]);
			label(out, "rule", ru->name, true);
			fprintf(out, "} %llu\n", (unsigned long long)v[k]);
		}
	}
}

int stats_prom_write(const struct stats_snap *s, FILE *out)
{
	family(out, "tlsfw_enforced", "gauge",
	       "1 when a tlsfw policy is enforced in this network namespace, else 0.");
	fprintf(out, "tlsfw_enforced %d\n", s->enforced);
	if (s->enforced) {
		family(out, "tlsfw_policy_info", "gauge",
		       "The enforced policy: file, sha256 hash, default verdict and backend; always 1.");
		fprintf(out, "tlsfw_policy_info{");
		label(out, "file", s->policy_file, true);
		label(out, "hash", s->policy_hash, false);
		label(out, "default", action_name(s->default_action), false);
		label(out, "backend", s->backend, false);
		fprintf(out, "} 1\n");
		family(out, "tlsfw_policy_applied_timestamp_seconds", "gauge",
		       "When the enforced policy was applied, in seconds since the Unix epoch.");
		fprintf(out, "tlsfw_policy_applied_timestamp_seconds %llu\n",
			(unsigned long long)s->applied_at);
		family(out, "tlsfw_policy_rules", "gauge", "Rules in the enforced policy.");
		fprintf(out, "tlsfw_policy_rules %zu\n", s->n_rules);
		hook_family(out, s);
		rule_info(out, s);
		rule_family(out, s, false);
		rule_family(out, s, true);
		default_family(out, s, false);
		default_family(out, s, true);
		verdict_family(out, s, false);
		verdict_family(out, s, true);
		reason_family(out, s);
		content_family(out, s);
		log_family(out, s);
	}
	return ferror(out) ? -EIO : 0;
}
