// SPDX-License-Identifier: GPL-2.0
/*
 * The `status` and `stats` views of what the nftables backend enforces, read from table
 * inet tlsfw alone. cmd_status.c and cmd_stats.c call these when the table exists; the
 * layouts follow the BPF backend's (same JSON keys), so scripts need not care which backend
 * is in force.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>

#include "apply_nft.h"
#include "lock.h"
#include "nft_cmd.h"
#include "state.h"
#include "tlsfw.h"

static void hex(const uint8_t *h, char *out)
{
	for (int i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", h[i]);
}

static void utc(uint64_t t, char *buf, size_t len)
{
	time_t tt = t;
	struct tm tm;

	if (!t || !gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "unknown");
}

static json_object *policy_json(const struct nft_status *st)
{
	json_object *p = json_object_new_object();
	char h[65], when[32];

	hex(st->sha256, h);
	utc(st->applied_at, when, sizeof(when));
	json_object_object_add(p, "file", json_object_new_string(st->policy_file));
	json_object_object_add(p, "hash", json_object_new_string(h));
	json_object_object_add(p, "applied_at", json_object_new_string(when));
	json_object_object_add(p, "applied_at_unix", json_object_new_int64(st->applied_at));
	json_object_object_add(p, "rules", json_object_new_int(st->n_rules));
	json_object_object_add(p, "default", json_object_new_string(st->default_action));
	json_object_object_add(p, "backend", json_object_new_string("nft"));
	json_object_object_add(p, "table", json_object_new_string("inet " NFT_TLSFW_TABLE));
	return p;
}

static void put_json(json_object *doc)
{
	puts(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY |
							 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(doc);
}

int nft_cmd_status(bool json)
{
	struct nft_status st;
	char msg[256], h[65], when[32];
	int err;

	err = nft_status_read(&st, msg, sizeof(msg));
	if (err) {
		fprintf(stderr, "tlsfw: error: %s\n", msg);
		return EXIT_SYSTEM;
	}
	if (!st.present)
		return -ENOENT;
	hex(st.sha256, h);
	utc(st.applied_at, when, sizeof(when));
	if (json) {
		json_object *doc = json_object_new_object(), *ifs = json_object_new_array();

		json_object_object_add(doc, "enforced", json_object_new_boolean(st.n_hooks > 0));
		json_object_object_add(doc, "backend", json_object_new_string("nft"));
		json_object_object_add(doc, "policy", policy_json(&st));
		for (size_t i = 0; i < st.n_hooks; i++) {
			json_object *o = json_object_new_object();

			json_object_object_add(o, "name",
					       json_object_new_string(st.hooks[i].ifname));
			json_object_object_add(o, "ingress",
					       st.hooks[i].ingress ? json_object_new_string("nft") :
								     NULL);
			json_object_object_add(o, "egress",
					       st.hooks[i].egress ? json_object_new_string("nft") :
								    NULL);
			json_object_object_add(o, "in_policy", json_object_new_boolean(true));
			json_object_object_add(o, "policy", json_object_new_string(st.policy_file));
			json_object_object_add(o, "hash", json_object_new_string(h));
			json_object_object_add(o, "applied_at", json_object_new_string(when));
			json_object_object_add(o, "rules", json_object_new_int(st.n_rules));
			json_object_array_add(ifs, o);
		}
		json_object_object_add(doc, "interfaces", ifs);
		put_json(doc);
	} else {
		printf("policy   %s\n", st.policy_file);
		printf("hash     %s\n", h);
		printf("applied  %s\n", when);
		printf("rules    %u, default %s\n", st.n_rules, st.default_action);
		printf("backend  nftables (table inet %s)\n\n", NFT_TLSFW_TABLE);
		printf("%-16s %-12s %-8s %s\n", "INTERFACE", "INGRESS", "EGRESS", "RULES");
		for (size_t i = 0; i < st.n_hooks; i++)
			printf("%-16s %-12s %-8s %u\n", st.hooks[i].ifname,
			       st.hooks[i].ingress ? "nft" : "-", st.hooks[i].egress ? "nft" : "-",
			       st.n_rules);
	}
	nft_status_free(&st);
	return EXIT_OK;
}

/* Both backends at once would decide every packet twice, with two sets of counters and a
 * status that shows one of them: refuse while BPF programs of tlsfw are attached. */
static int bpf_in_force(char *msg, size_t len)
{
	struct state st;
	int err = state_find_programs(&st, msg, len);

	if (err)
		return err;
	if (st.n_ifaces) {
		snprintf(
			msg, len,
			"tlsfw's BPF programs are attached to %s%s (backend: bpf); run `tlsfw detach` first to switch to backend: nft",
			st.ifaces[0].name, st.n_ifaces > 1 ? " and more" : "");
		err = -EBUSY;
	}
	state_free(&st);
	return err;
}

int nft_in_force(char *msg, size_t len)
{
	struct nft_status st;
	int err = nft_status_read(&st, msg, len);
	bool present = !err && st.present;

	nft_status_free(&st);
	/* A kernel without nf_tables (or one that cannot be read) holds no table of ours:
	 * that must never stop a BPF apply. */
	if (!present)
		return 0;
	snprintf(
		msg, len,
		"table inet %s of tlsfw's nftables backend exists (backend: nft); run `tlsfw detach` first to switch to backend: bpf",
		NFT_TLSFW_TABLE);
	return -EBUSY;
}

int nft_cmd_apply(const struct policy *pol, const char *path, bool dry_run, struct diag *d)
{
	char abs[PATH_MAX], msg[256];
	struct nft_apply_opts o = { .sha256 = pol->sha256, .dry_run = dry_run, .out = stdout };
	int lock, err;

	policy_abs_path(path, abs, sizeof(abs));
	o.policy_file = abs;
	/* the same per-namespace lock as the BPF backend: one changer at a time */
	lock = ns_lock(d);
	if (lock >= 0 && bpf_in_force(msg, sizeof(msg))) {
		close(lock);
		lock = diag_sys_error(d, -EBUSY, "%s", msg);
	}
	if (lock < 0) {
		diag_print(d, stderr);
		diag_print_summary(d, stderr, "nothing applied");
		return EXIT_SYSTEM;
	}
	err = apply_nft(pol, &o, d, msg, sizeof(msg));
	close(lock);
	fflush(stdout);
	diag_print(d, stderr);
	if (d->n || d->truncated)
		diag_print_summary(d, stderr, err ? "nothing applied" : "applied");
	if (err) {
		fprintf(stderr,
			"tlsfw: error: %s; nothing applied; the previous policy (if any) is still enforced\n",
			msg);
		return EXIT_SYSTEM;
	}
	if (dry_run)
		printf("tlsfw: dry run: nftables accepted the batch for %s (%zu rules); nothing changed\n",
		       abs, pol->n_rules);
	else
		printf("tlsfw: enforcing %s with nftables (%zu rules, default %s)\n", abs,
		       pol->n_rules, pol_action_names[pol->default_action]);
	return EXIT_OK;
}

int nft_cmd_detach(char **ifnames, int n)
{
	char **pick = calloc(n > 0 ? n : 1, sizeof(*pick));
	unsigned int removed = 0;
	struct nft_status st;
	char msg[256];
	int err, k = 0, ret = EXIT_OK;

	if (!pick)
		return EXIT_SYSTEM;
	err = nft_status_read(&st, msg, sizeof(msg));
	if (err) {
		fprintf(stderr, "tlsfw: error: %s; nothing detached\n", msg);
		free(pick);
		return EXIT_SYSTEM;
	}
	if (!st.present) {
		free(pick);
		return -ENOENT;
	}
	/* a name that is no interface here is a mistake: refused before anything changes, as
	 * the BPF backend refuses it */
	for (int i = 0; i < n; i++) {
		if (if_nametoindex(ifnames[i]))
			continue;
		fprintf(stderr,
			"tlsfw: error: no interface '%s' in this network namespace; nothing detached\n",
			ifnames[i]);
		ret = EXIT_SYSTEM;
		goto out;
	}
	/* named interfaces that the table does not hold: said, as the BPF backend says it */
	for (int i = 0; i < n; i++) {
		bool ours = false;

		for (size_t h = 0; h < st.n_hooks; h++)
			ours |= !strcmp(st.hooks[h].ifname, ifnames[i]);
		if (ours)
			pick[k++] = ifnames[i];
		else
			printf("%s: nothing of tlsfw attached\n", ifnames[i]);
	}
	if (n && !k)
		goto out;
	err = nft_detach((const char *const *)pick, k, &removed, msg, sizeof(msg));
	if (err) {
		fprintf(stderr, "tlsfw: error: %s; nothing detached\n", msg);
		ret = EXIT_SYSTEM;
		goto out;
	}
	if (!n)
		printf("table inet %s: removed (nftables)\n", NFT_TLSFW_TABLE);
	for (int i = 0; i < k; i++)
		printf("%s: detached (nftables)\n", pick[i]);
out:
	nft_status_free(&st);
	free(pick);
	return ret;
}
