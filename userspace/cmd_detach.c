// SPDX-License-Identifier: GPL-2.0
/*
 * tlsfw detach [IFACE ...]: remove exactly what tlsfw installed. Only programs that state_find
 * recognised as tlsfw's are touched: the XDP program is removed with the kernel's
 * compare-and-swap (XDP_FLAGS_REPLACE with our program as the expected one), tc filters only
 * at tlsfw's handle and priority. Other XDP programs, other tc filters and the clsact qdisc
 * itself stay (see tlsfw(8)).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <linux/if_link.h>

#include "apply_bpf.h"
#include "lock.h"
#include "nft_cmd.h"
#include "state.h"
#include "tlsfw.h"

/* The interface leaves the policy but others stay: forget its counter blocks and context
 * entries, so that status and stats no longer show it and a later apply starts it afresh. */
static void forget_iface(const struct state *st, const struct state_iface *si)
{
	for (uint32_t s = 0; s < TLSFW_MAX_CTX; s++) {
		struct tlsfw_ctx_info ci;

		if (bpf_map_lookup_elem(st->maps.ifaces, &s, &ci) || !ci.in_use ||
		    ci.ifindex != si->ifindex)
			continue;
		memset(&ci, 0, sizeof(ci));
		bpf_map_update_elem(st->maps.ifaces, &s, &ci, BPF_ANY);
	}
	for (unsigned int gen = 0; gen < 2; gen++) {
		for (unsigned int dir = 0; dir < 2; dir++) {
			struct tlsfw_ctx_key k = { .ifindex = si->ifindex, .gen = gen, .dir = dir };

			bpf_map_delete_elem(st->maps.ctx, &k);
		}
	}
}

static int detach_iface(const struct state_iface *si)
{
	char done[128] = "";
	int err;

	if (si->xdp_fd >= 0) {
		err = hook_xdp_detach(si->ifindex, si->xdp_attached, si->xdp_fd);
		if (err) {
			fprintf(stderr, "tlsfw: error: %s: cannot remove the XDP program: %s\n",
				si->name, strerror(-err));
			return err;
		}
		snprintf(done, sizeof(done), "ingress XDP %s",
			 si->xdp_attached == XDP_ATTACHED_SKB ? "generic" : "native");
	}
	if (si->tc_in_fd >= 0) {
		err = hook_tc_detach(si->ifindex, false);
		if (err) {
			fprintf(stderr,
				"tlsfw: error: %s: cannot remove the tc ingress filter: %s\n",
				si->name, strerror(-err));
			return err;
		}
		snprintf(done + strlen(done), sizeof(done) - strlen(done), "%singress tc",
			 done[0] ? ", " : "");
	}
	if (si->tc_eg_fd >= 0) {
		err = hook_tc_detach(si->ifindex, true);
		if (err) {
			fprintf(stderr,
				"tlsfw: error: %s: cannot remove the tc egress filter: %s\n",
				si->name, strerror(-err));
			return err;
		}
		snprintf(done + strlen(done), sizeof(done) - strlen(done), "%segress tc",
			 done[0] ? ", " : "");
	}
	printf("%s: detached (%s)\n", si->name, done);
	return 0;
}

static int detach(struct state *st, int argc, char **argv)
{
	bool *pick = calloc(st->n_ifaces + 1, sizeof(bool));
	size_t n_pick = 0;
	int ret = EXIT_OK;

	if (!pick)
		return EXIT_SYSTEM;
	for (int i = 1; i < argc; i++) {
		struct state_iface *si = state_iface_find(st, argv[i]);

		if (!if_nametoindex(argv[i])) {
			fprintf(stderr,
				"tlsfw: error: no interface '%s' in this network namespace; nothing detached\n",
				argv[i]);
			free(pick);
			return EXIT_SYSTEM;
		}
		if (!si)
			printf("%s: nothing of tlsfw attached\n", argv[i]);
		else
			pick[si - st->ifaces] = true;
	}
	for (size_t i = 0; i < st->n_ifaces; i++) {
		if (argc == 1)
			pick[i] = true;
		n_pick += pick[i];
	}
	if (argc == 1 && !st->n_ifaces)
		printf("tlsfw: nothing enforced in this network namespace\n");
	for (size_t i = 0; i < st->n_ifaces; i++) {
		if (!pick[i])
			continue;
		if (detach_iface(&st->ifaces[i])) {
			ret = EXIT_SYSTEM;
			continue;
		}
		if (st->have_maps && n_pick < st->n_ifaces)
			forget_iface(st, &st->ifaces[i]);
	}
	free(pick);
	return ret;
}

int cmd_detach(int argc, char **argv)
{
	struct state st;
	struct diag d;
	char msg[512];
	int lock, err, ret;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf("usage: tlsfw detach [IFACE ...]\n");
			return EXIT_OK;
		}
		if (argv[i][0] == '-') {
			fprintf(stderr,
				"tlsfw: detach: unknown option '%s'\nusage: tlsfw detach [IFACE ...]\n",
				argv[i]);
			return EXIT_BAD_INPUT;
		}
	}
	diag_init(&d);
	lock = ns_lock(&d);
	if (lock < 0) {
		diag_print(&d, stderr);
		diag_print_summary(&d, stderr, "nothing detached");
		diag_free(&d);
		return EXIT_SYSTEM;
	}
	diag_free(&d);
	err = state_find(&st, msg, sizeof(msg));
	if (err && err != -EUCLEAN) {
		fprintf(stderr, "tlsfw: error: %s; nothing detached\n", msg);
		close(lock);
		return EXIT_SYSTEM;
	}
	if (err) {
		/* Programs that do not share maps: detach still removes them, interface by
		 * interface, without touching the metadata. */
		fprintf(stderr, "tlsfw: warning: %s\n", msg);
		err = state_find_programs(&st, msg, sizeof(msg));
		if (err) {
			fprintf(stderr, "tlsfw: error: %s; nothing detached\n", msg);
			close(lock);
			return EXIT_SYSTEM;
		}
	}
	ret = -ENOENT;
	if (!st.n_ifaces) /* backend: nft keeps everything in table inet tlsfw (nft_cmd.c) */
		ret = nft_cmd_detach(argv + 1, argc - 1);
	if (ret == -ENOENT)
		ret = detach(&st, argc, argv);
	state_free(&st);
	close(lock);
	return ret;
}
