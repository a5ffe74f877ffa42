/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Counters of the enforced policy as one plain snapshot, whichever backend counted them
 * (backend.h collects it from the kernel alone), that every renderer reads: the table, JSON,
 * Prometheus text and the HTTP endpoint. A snapshot is taken fresh per refresh or scrape, so
 * a policy replaced in between is simply seen.
 */
#ifndef TLSFW_STATS_H
#define TLSFW_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "../bpf/tlsfw_abi.h"
#include "diag.h"

struct stats_rule {
	char name[TLSFW_NAME_MAX + 1];
	uint32_t slot;	/* counter slot (stable across replacements while the name stays) */
	uint32_t order; /* position in the policy */
	uint32_t line;
	uint8_t action; /* enum tlsfw_action */
	uint8_t monitor;
	bool log;			  /* log: (log_* below) */
	bool require;			  /* require: tls: the flow counters below */
	uint64_t flows_passed, flows_cut; /* flows whose first bytes started TLS, or did not */
	bool names;			  /* sni:/ech: (issue 13): flows_matched below */
	uint64_t flows_matched;		  /* flows whose ClientHello the rule matched */
	/* log: (tlsfw_abi.h, "Logging"): rate 0 when the rule does not log */
	uint32_t log_rate;
	uint64_t log_events, log_suppressed, log_ring_full;
};

/* One counter block: an interface and a direction. */
struct stats_block {
	char ifname[17];
	uint32_t ifindex;
	uint32_t slot;
	uint8_t dir;  /* enum tlsfw_dir */
	uint8_t hook; /* enum hook_id (names.h) */
	bool lost;    /* nothing filters there now: the interface was deleted since apply (nft: no
		    * device has its name), or another tool removed tlsfw's programs (bpf) */
	struct tlsfw_counter stat[TLSFW_STAT_MAX]; /* default, verdict totals, reasons */
	struct tlsfw_counter *rule;		   /* per snapshot rule, same index */
};

struct stats_snap {
	bool enforced;	     /* false: nothing enforced in this network namespace */
	const char *backend; /* "bpf", "nft" (backend.h) */
	bool ip_bytes;	     /* bytes count the IP packet, not the frame (nftables) */
	char policy_file[TLSFW_PATH_MAX + 1];
	char policy_hash[73];
	uint64_t applied_at; /* Unix seconds */
	uint8_t default_action;
	struct stats_rule *rules; /* in policy order */
	size_t n_rules;
	struct stats_block *blocks; /* by interface name, then direction */
	size_t n_blocks;
	struct timespec taken; /* CLOCK_MONOTONIC, for rates */
	/* content inspection: TCP flow table (BPF backend) */
	bool content;		       /* some rule reads content */
	uint64_t flows, flows_evicted; /* entries present; evicted (content_stats.h) */
	uint64_t midstream;	       /* TCP packets of inspected rules without flow state */
	bool log;		       /* some rule logs (log_* of the rules) */
};

/* The log: counters of s's rules from tlsfw_log_rules (log_fill.c). 0 or -errno. */
int stats_log_read(struct stats_snap *s, int log_rules_fd);

void stats_snap_free(struct stats_snap *snap);

/* Human units: packets 1.2M (SI), bytes 3.4 GiB (IEC); exact: the raw number. */
void stats_human(uint64_t v, bool bytes, bool exact, char *buf, size_t len);

/*
 * Rates between two snapshots (prev older). For cur's block b and rule r (r == -1: the
 * default verdict's counter), packets and bytes per second since prev. Counters are matched by
 * interface, direction and rule name, so a replaced policy keeps rates for rules that stay.
 * Returns false when there is no rate (no prev, a new rule, zero interval).
 */
struct stats_rate {
	double packets, bytes;
};
bool stats_rate(const struct stats_snap *cur, const struct stats_snap *prev, size_t b, long r,
		struct stats_rate *out);

/* Renderers. */
struct stats_view {
	bool exact;
	bool rates;		       /* show rates (--watch); unknown ones as "-" / null */
	const struct stats_snap *prev; /* the snapshot rates are relative to, or NULL */
};
int stats_print_table(const struct stats_snap *s, const struct stats_view *v, FILE *out);
/* One JSON document; pretty unless compact (one line, as --watch --json prints). */
int stats_print_json(const struct stats_snap *s, const struct stats_view *v, bool compact,
		     FILE *out);
/* Prometheus text exposition format 0.0.4 (stats_prom.c). */
int stats_prom_write(const struct stats_snap *s, FILE *out);

/* --listen ADDR:PORT (stats_http.c). ":PORT" binds the loopback address. */
struct stats_listen {
	union {
		struct sockaddr sa;
		struct sockaddr_in in4;
		struct sockaddr_in6 in6;
	} addr;
	socklen_t addrlen;
	char text[80]; /* "127.0.0.1:9567", "[::1]:9567": for messages */
};
int stats_listen_parse(const char *spec, struct stats_listen *l, struct diag *d);
/* What a scrape reads: a fresh snapshot, or -errno with the reason in d. */
typedef int (*stats_collect_fn)(struct stats_snap *s, struct diag *d);
/* Serve GET /metrics until a stopping signal (lock.h; the caller must have blocked them), with
 * TLS and authentication from web (--web-config; NULL: plain HTTP, nobody asked). */
struct webcfg;
int stats_http_serve(const struct stats_listen *l, struct webcfg *web, stats_collect_fn collect,
		     struct diag *d);

#endif
