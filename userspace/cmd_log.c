// SPDX-License-Identifier: GPL-2.0
/*
 * tlsfw log: the events of the rules with `log:` (tlsfw_abi.h, "Logging"), read from the ring
 * buffer of the programs enforced in this network namespace (libbpf's ring_buffer), one line
 * each, names from the metadata maps. Without --follow it drains what the ring holds and
 * exits; with it, it waits for more until SIGINT or SIGTERM (exit 0).
 */
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/signalfd.h>

#include <bpf/libbpf.h>

#include "backend.h"
#include "cli.h"
#include "log_event.h"
#include "state.h"
#include "tlsfw.h"

struct log_opts {
	bool json, follow;
	const char *iface;
};

struct log_ctx {
	const struct log_opts *o;
	struct state st;
	struct state_meta sm;
	uint64_t mono_to_real_ns;
	int err;
};

static uint64_t ts_ns(clockid_t clk)
{
	struct timespec t;

	clock_gettime(clk, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + t.tv_nsec;
}

/* The name of the rule in slot s: the metadata is read again once when the slot is not in
 * use (a policy applied since it was read). */
static const char *rule_name(struct log_ctx *c, uint32_t s)
{
	if (s >= TLSFW_MAX_RULES)
		return "?";
	/* NULL after a failed re-read below: read again at the next event */
	if (!c->sm.rules || !c->sm.rules[s].in_use) {
		state_meta_free(&c->sm);
		if (state_meta_read(&c->st.maps, &c->sm))
			return "?";
	}
	return c->sm.rules[s].in_use ? c->sm.rules[s].name : "?";
}

static void iface_name(const struct log_ctx *c, uint32_t ifindex, char out[IF_NAMESIZE])
{
	for (size_t i = 0; c->sm.ctxs && i < TLSFW_MAX_CTX; i++)
		if (c->sm.ctxs[i].in_use && c->sm.ctxs[i].ifindex == ifindex) {
			snprintf(out, IF_NAMESIZE, "%.15s", c->sm.ctxs[i].ifname);
			return;
		}
	if (!if_indextoname(ifindex, out))
		snprintf(out, IF_NAMESIZE, "if%u", ifindex);
}

static int on_event(void *arg, void *data, size_t size)
{
	struct log_ctx *c = arg;
	const struct tlsfw_log_event *e = data;
	char ifn[IF_NAMESIZE];
	struct log_names n = { .ifname = ifn, .mono_to_real_ns = c->mono_to_real_ns };

	if (size < sizeof(*e))
		return 0;
	iface_name(c, e->ifindex, ifn);
	if (c->o->iface && strcmp(c->o->iface, ifn))
		return 0;
	n.rule = rule_name(c, e->rule_slot);
	c->err = c->o->json ? log_print_json(e, &n, stdout) : log_print_text(e, &n, stdout);
	return c->err; /* a failed write stops the reading */
}

/* Wait for events or a stopping signal (blocked, read from sfd). */
static int follow(struct ring_buffer *rb, struct log_ctx *c, int sfd)
{
	struct pollfd p[2] = { { .fd = ring_buffer__epoll_fd(rb), .events = POLLIN },
			       { .fd = sfd, .events = POLLIN } };

	for (;;) {
		int n;

		if (fflush(stdout))
			return -EIO;
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return -errno;
		if (p[1].revents)
			return 0;
		c->mono_to_real_ns = ts_ns(CLOCK_REALTIME) - ts_ns(CLOCK_MONOTONIC);
		n = ring_buffer__consume(rb);
		if (n < 0)
			return c->err ? c->err : n;
	}
}

static int read_events(struct log_ctx *c)
{
	struct ring_buffer *rb;
	sigset_t set;
	int err, sfd = -1;

	rb = ring_buffer__new(c->st.maps.log_ring, on_event, c, NULL);
	if (!rb)
		return -errno;
	c->mono_to_real_ns = ts_ns(CLOCK_REALTIME) - ts_ns(CLOCK_MONOTONIC);
	if (!c->o->follow) {
		err = ring_buffer__consume(rb);
		err = err < 0 ? (c->err ? c->err : err) : 0;
		goto out;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	err = sfd < 0 ? -errno : follow(rb, c, sfd);
	if (sfd >= 0)
		close(sfd);
out:
	ring_buffer__free(rb);
	if (!err && fflush(stdout))
		err = -EIO;
	return err;
}

static int run(const struct log_opts *o)
{
	struct log_ctx c = { .o = o };
	const struct backend *b = NULL;
	struct diag d;
	int err;

	diag_init(&d);
	err = backend_in_force(&b, &d);
	if (!err && b == &backend_nft) {
		diag_error(
			&d, NULL,
			"the nft backend is in force: tlsfw log reads the BPF data plane only, and policies with log: need backend: bpf");
		goto out;
	}
	if (!err)
		err = state_find(&c.st, &d);
	if (!err && !c.st.have_maps) {
		fprintf(stderr, "tlsfw: nothing enforced in this network namespace\n");
		goto out;
	}
	if (!err && (err = state_meta_read(&c.st.maps, &c.sm)))
		diag_sys_error(&d, err, "cannot read tlsfw's metadata maps");
	if (!err && (err = read_events(&c)))
		diag_sys_error(&d, err, "cannot read the log ring buffer");
out:
	state_meta_free(&c.sm);
	state_free(&c.st);
	diag_print(&d, stderr);
	diag_free(&d);
	return err || d.errors ? EXIT_SYSTEM : EXIT_OK;
}

static int cmd_log(int argc, char **argv)
{
	struct log_opts o = {};
	struct cli_parse p;
	const char *arg;
	int key;

	cli_begin(&p, &cli_log, argc, argv);
	while ((key = cli_next(&p, &arg)) >= 0) {
		if (key == 'j')
			o.json = true;
		else if (key == 'f')
			o.follow = true;
		else if (key == 'i')
			o.iface = arg;
	}
	if (key == CLI_STOP)
		return p.status;
	if (p.n_args)
		return cli_usage_error(&cli_log, "unexpected argument '%s'", p.args[0]);
	return run(&o);
}

static const char *const forms[] = { "[--json] [--follow] [--iface]", NULL };
static const struct cli_opt opts[] = {
	{ "json", NULL, 'j' },
	{ "follow", NULL, 'f' },
	{ "iface", "IF", 'i' },
	{ NULL },
};
const struct cli_cmd cli_log = { "log", forms, opts, cmd_log };
