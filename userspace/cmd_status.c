// SPDX-License-Identifier: GPL-2.0
/* tlsfw status [--json]: what is enforced in this network namespace, from the kernel alone. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>
#include <linux/if_link.h>

#include "names.h"
#include "nft_cmd.h"
#include "policy.h"
#include "state.h"
#include "tlsfw.h"

struct status {
	struct state st;
	struct state_meta sm;
	bool have_meta;
};

static const char *ingress_hook(const struct state_iface *si)
{
	if (si->xdp_fd >= 0)
		return si->xdp_attached == XDP_ATTACHED_SKB ? "XDP generic" : "XDP native";
	return si->tc_in_fd >= 0 ? "tc" : NULL;
}

static const char *json_hook(const char *h)
{
	if (!h)
		return NULL;
	if (!strcmp(h, "XDP native"))
		return "xdp-native";
	if (!strcmp(h, "XDP generic"))
		return "xdp-generic";
	return "tc";
}

/* An interface counts as governed by the policy when the active generation has a block for it;
 * a tlsfw program without one is left over from an interrupted apply. */
static bool in_policy(const struct status *s, const char *name)
{
	unsigned int bit = 1u << s->sm.gen;

	if (!s->have_meta)
		return false;
	for (size_t i = 0; i < TLSFW_MAX_CTX; i++)
		if ((s->sm.ctxs[i].in_use & bit) && !strncmp(s->sm.ctxs[i].ifname, name, 16))
			return true;
	return false;
}

static int print_json(const struct status *s)
{
	json_object *doc = json_object_new_object(), *ifs = json_object_new_array();
	const struct tlsfw_meta *m = &s->sm.meta;
	char when[UTC_TEXT_LEN];

	utc_text(m->applied_at, when);
	json_object_object_add(doc, "enforced", json_object_new_boolean(s->st.n_ifaces > 0));
	if (s->have_meta) {
		json_object *p = json_object_new_object();

		json_object_object_add(p, "file", json_object_new_string(m->policy_file));
		json_object_object_add(p, "hash", json_object_new_string(m->policy_hash));
		json_object_object_add(p, "applied_at", json_object_new_string(when));
		json_object_object_add(p, "applied_at_unix", json_object_new_int64(m->applied_at));
		json_object_object_add(p, "rules", json_object_new_int(m->n_rules));
		json_object_object_add(p, "default",
				       json_object_new_string(action_name(m->default_action)));
		json_object_object_add(p, "generation", json_object_new_int(s->sm.gen));
		json_object_object_add(doc, "policy", p);
	}
	for (size_t i = 0; i < s->st.n_ifaces; i++) {
		const struct state_iface *si = &s->st.ifaces[i];
		json_object *o = json_object_new_object();
		const char *in = json_hook(ingress_hook(si));

		json_object_object_add(o, "name", json_object_new_string(si->name));
		json_object_object_add(o, "ifindex", json_object_new_int(si->ifindex));
		json_object_object_add(o, "ingress", in ? json_object_new_string(in) : NULL);
		json_object_object_add(o, "egress",
				       si->tc_eg_fd >= 0 ? json_object_new_string("tc") : NULL);
		json_object_object_add(o, "in_policy",
				       json_object_new_boolean(in_policy(s, si->name)));
		if (s->have_meta) {
			json_object_object_add(o, "policy", json_object_new_string(m->policy_file));
			json_object_object_add(o, "hash", json_object_new_string(m->policy_hash));
			json_object_object_add(o, "applied_at", json_object_new_string(when));
			json_object_object_add(o, "rules", json_object_new_int(m->n_rules));
		}
		json_object_array_add(ifs, o);
	}
	json_object_object_add(doc, "interfaces", ifs);
	puts(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY |
							 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(doc);
	return EXIT_OK;
}

static void ago(uint64_t t, char *buf, size_t len)
{
	long d = (long)(time(NULL) - (time_t)t);

	if (d < 0)
		snprintf(buf, len, "in the future");
	else if (d < 120)
		snprintf(buf, len, "%ld s ago", d);
	else if (d < 7200)
		snprintf(buf, len, "%ld min ago", d / 60);
	else if (d < 172800)
		snprintf(buf, len, "%ld h ago", d / 3600);
	else
		snprintf(buf, len, "%ld days ago", d / 86400);
}

static int print_text(const struct status *s)
{
	const struct tlsfw_meta *m = &s->sm.meta;
	char when[UTC_TEXT_LEN], since[32];

	if (!s->st.n_ifaces) {
		printf("tlsfw: nothing enforced in this network namespace\n");
		return EXIT_OK;
	}
	if (s->have_meta) {
		utc_text(m->applied_at, when);
		ago(m->applied_at, since, sizeof(since));
		printf("policy   %s\n", m->policy_file);
		printf("hash     %s\n", m->policy_hash);
		printf("applied  %s (%s)\n", when, since);
		printf("rules    %u, default %s\n\n", m->n_rules, action_name(m->default_action));
	}
	printf("%-16s %-12s %-8s %s\n", "INTERFACE", "INGRESS", "EGRESS", "RULES");
	for (size_t i = 0; i < s->st.n_ifaces; i++) {
		const struct state_iface *si = &s->st.ifaces[i];
		const char *in = ingress_hook(si);

		if (in_policy(s, si->name))
			printf("%-16s %-12s %-8s %u\n", si->name, in ? in : "-",
			       si->tc_eg_fd >= 0 ? "tc" : "-", m->n_rules);
		else
			printf("%-16s %-12s %-8s %s\n", si->name, in ? in : "-",
			       si->tc_eg_fd >= 0 ? "tc" : "-",
			       "none (left by an interrupted apply: run `tlsfw detach` for it)");
	}
	return EXIT_OK;
}

int cmd_status(int argc, char **argv)
{
	struct status s = {};
	bool json = false;
	char msg[512];
	int err, ret;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf("usage: tlsfw status [--json]\n");
			return EXIT_OK;
		} else {
			fprintf(stderr,
				"tlsfw: status: unknown argument '%s'\nusage: tlsfw status [--json]\n",
				argv[i]);
			return EXIT_BAD_INPUT;
		}
	}
	err = state_find(&s.st, msg, sizeof(msg));
	if (err) {
		fprintf(stderr, "tlsfw: error: %s\n", msg);
		return EXIT_SYSTEM;
	}
	if (!s.st.n_ifaces) {
		/* backend: nft keeps its policy in table inet tlsfw (nft_cmd.c) */
		ret = nft_cmd_status(json);
		if (ret != -ENOENT) {
			state_free(&s.st);
			return ret;
		}
	}
	if (s.st.have_maps) {
		err = state_meta_read(&s.st.maps, &s.sm);
		if (err) {
			fprintf(stderr,
				"tlsfw: error: cannot read the enforced policy's metadata: %s\n",
				strerror(-err));
			state_free(&s.st);
			return EXIT_SYSTEM;
		}
		s.have_meta = true;
	}
	ret = json ? print_json(&s) : print_text(&s);
	state_meta_free(&s.sm);
	state_free(&s.st);
	return ret;
}
