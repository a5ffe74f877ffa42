// SPDX-License-Identifier: GPL-2.0
/*
 * tlsfw stats: per-rule packet and byte counters of the enforced policy, from kernel state
 * alone: the backend in force collects one snapshot (backend.h), stats_print.c, stats_prom.c
 * and stats_http.c render it.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lock.h"
#include "names.h"
#include "backend.h"
#include "cli.h"
#include "stats.h"
#include "tlsfw.h"
#include "webcfg.h"

struct stats_opts {
	bool json, prometheus, exact, reset;
	double watch;		/* seconds between refreshes, 0: once */
	const char *listen;	/* ADDR:PORT */
	const char *web_config; /* exporter-toolkit web configuration file */
};

static int parse_watch(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (!*s || *end || errno || !isfinite(v) || v < 0.1 || v > 86400)
		return cli_usage_error(
			&cli_stats, "--watch '%s' is not a number of seconds from 0.1 to 86400", s);
	*out = v;
	return 0;
}

static int combination(const struct stats_opts *o)
{
	const char *bad = NULL;

	if (o->web_config && !o->listen)
		bad = "--web-config configures the server of --listen";
	else if (o->json && o->prometheus)
		bad = "--json and --prometheus exclude each other";
	else if (o->listen && (o->json || o->watch || o->reset))
		bad = "--listen serves Prometheus text; it does not combine with --json, --watch or --reset";
	else if (o->watch && o->prometheus)
		bad = "--watch does not combine with --prometheus: let Prometheus scrape `tlsfw stats --listen` instead";
	else if (o->watch && o->reset)
		bad = "--watch does not combine with --reset: run `tlsfw stats --reset` first";
	return bad ? cli_usage_error(&cli_stats, "%s", bad) : 0;
}

/* Returns -1 to go on, or the exit status. */
static int parse_args(int argc, char **argv, struct stats_opts *o)
{
	struct cli_parse p;
	const char *arg;
	int key, ret = 0;

	cli_begin(&p, &cli_stats, argc, argv);
	while (!ret && (key = cli_next(&p, &arg)) >= 0) {
		switch (key) {
		case 'j':
			o->json = true;
			break;
		case 'P':
			o->prometheus = true;
			break;
		case 'e':
			o->exact = true;
			break;
		case 'r':
			o->reset = true;
			break;
		case 'w':
			ret = parse_watch(arg, &o->watch);
			break;
		case 'l':
			o->listen = arg;
			break;
		case 'W':
			o->web_config = arg;
			break;
		}
	}
	if (ret)
		return ret;
	if (key == CLI_STOP)
		return p.status;
	if (p.n_args)
		return cli_usage_error(&cli_stats, "unexpected argument '%s'", p.args[0]);
	ret = combination(o);
	return ret ? ret : -1;
}

static int render(const struct stats_snap *s, const struct stats_opts *o,
		  const struct stats_view *v, FILE *out)
{
	if (o->prometheus)
		return stats_prom_write(s, out);
	if (o->json)
		return stats_print_json(s, v, o->watch > 0, out);
	return stats_print_table(s, v, out);
}

/* Diagnostics (the reason a read failed) go to stderr; exit 2 when one is an error. */
static int finish(struct diag *d, int ret)
{
	diag_print(d, stderr);
	diag_free(d);
	return d->errors || ret ? EXIT_SYSTEM : EXIT_OK;
}

static int once(const struct stats_opts *o)
{
	struct stats_view v = { .exact = o->exact };
	bool print = !o->reset || o->json || o->prometheus || o->exact;
	struct stats_snap s;
	struct diag d;
	FILE *out;
	int err;

	diag_init(&d);
	/* --reset alone only zeroes; with an output option it prints what it zeroes. */
	err = backend_counters(&s, o->reset, &d);
	if (err)
		return finish(&d, err);
	if (print && (render(&s, o, &v, stdout) || fflush(stdout)))
		err = diag_sys_error(&d, -EIO, "cannot write the output");
	/* stdout carries one document when a format was asked for. */
	out = o->json || o->prometheus || o->exact ? stderr : stdout;
	if (!err && o->reset && s.enforced)
		fprintf(out, "tlsfw: counters reset (%zu interface direction%s)\n", s.n_blocks,
			plural(s.n_blocks));
	else if (!err && o->reset)
		fprintf(out,
			"tlsfw: nothing enforced in this network namespace; no counters to reset\n");
	stats_snap_free(&s);
	return finish(&d, err);
}

static void watch_header(const struct stats_opts *o, bool tty, bool first)
{
	char now[UTC_TEXT_LEN];

	if (o->json)
		return;
	if (tty)
		fputs("\033[H\033[2J", stdout);
	else if (!first)
		fputc('\n', stdout);
	utc_text(time(NULL), now);
	printf("tlsfw stats every %gs at %s (rates since the previous refresh)\n", o->watch, now);
}

static void ts_add(struct timespec *t, double s)
{
	time_t whole = (time_t)s; /* s > 0 */

	t->tv_sec += whole;
	t->tv_nsec += (long)((s - whole) * 1e9);
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

/* Sleep until deadline; true when a stopping signal arrived (they are blocked). */
static bool wait_until(const sigset_t *set, const struct timespec *deadline)
{
	for (;;) {
		struct timespec now, left;

		clock_gettime(CLOCK_MONOTONIC, &now);
		left.tv_sec = deadline->tv_sec - now.tv_sec;
		left.tv_nsec = deadline->tv_nsec - now.tv_nsec;
		if (left.tv_nsec < 0) {
			left.tv_sec--;
			left.tv_nsec += 1000000000L;
		}
		if (left.tv_sec < 0)
			return false;
		if (sigtimedwait(set, NULL, &left) > 0)
			return true;
		if (errno == EAGAIN)
			return false;
	}
}

/* Refresh until a stopping signal; rates are per second over the interval actually measured
 * between two reads, so a slow refresh does not skew them. */
static int watch(const struct stats_opts *o, const sigset_t *set)
{
	struct stats_snap snap[2] = {};
	struct timespec deadline;
	bool tty = isatty(STDOUT_FILENO), have_prev = false;
	int cur = 0, err = 0;
	struct diag d;

	diag_init(&d);
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	for (;;) {
		struct stats_view v = { .exact = o->exact, .rates = true };
		struct timespec now;

		err = backend_counters(&snap[cur], false, &d);
		if (err)
			break;
		v.prev = have_prev ? &snap[!cur] : NULL;
		watch_header(o, tty, !have_prev);
		if (render(&snap[cur], o, &v, stdout) || fflush(stdout)) {
			err = diag_sys_error(&d, -EIO, "cannot write the output");
			break;
		}
		stats_snap_free(&snap[!cur]);
		have_prev = true;
		cur = !cur;
		ts_add(&deadline, o->watch);
		clock_gettime(CLOCK_MONOTONIC, &now);
		/* Fell behind (stopped terminal, slow collection): start a fresh period. */
		if (now.tv_sec > deadline.tv_sec + 1) {
			deadline = now;
			ts_add(&deadline, o->watch);
		}
		if (wait_until(set, &deadline))
			break;
	}
	stats_snap_free(&snap[0]);
	stats_snap_free(&snap[1]);
	return finish(&d, err);
}

/* A scrape's snapshot. */
static int collect(struct stats_snap *s, struct diag *d)
{
	return backend_counters(s, false, d);
}

/* --web-config FILE: errors as for a policy (file:line:column), exit 1. */
static int read_web_config(const char *path, struct webcfg *web)
{
	struct diag d;
	int err;

	diag_init(&d);
	err = webcfg_read(web, path, &d);
	if (err && err != -EINVAL)
		diag_sys_error(&d, err, "cannot read the web configuration");
	diag_print(&d, stderr);
	if (d.n || d.truncated)
		diag_print_summary(&d, stderr, "nothing served");
	diag_free(&d);
	return err;
}

static int listen_http(const struct stats_opts *o, const sigset_t *set)
{
	struct webcfg web = {};
	struct stats_listen l;
	struct stats_snap s;
	struct diag d, first;
	int err;

	diag_init(&d);
	if (stats_listen_parse(o->listen, &l, &d)) {
		err = cli_usage_error(&cli_stats, "%s", d.n ? d.recs[0].msg : "bad --listen");
		diag_free(&d);
		return err;
	}
	if (o->web_config && read_web_config(o->web_config, &web)) {
		webcfg_free(&web);
		diag_free(&d);
		return EXIT_BAD_INPUT;
	}
	/* Without privilege every scrape would fail: say so now rather than serve errors. A
	 * policy applied later is fine, so "nothing enforced" is no reason to stop; another
	 * failure is said and served (the scrape answers 503 with the reason). */
	diag_init(&first);
	err = backend_counters(&s, false, &first);
	stats_snap_free(&s);
	if (err == -EPERM) {
		webcfg_free(&web);
		diag_free(&d);
		return finish(&first, err);
	}
	for (size_t i = 0; i < first.n; i++)
		diag_warning(&d, NULL, "%s", first.recs[i].msg);
	diag_free(&first);
	diag_flush(&d, stderr);
	err = stats_http_serve(&l, o->web_config ? &web : NULL, collect, &d);
	webcfg_free(&web);
	return finish(&d, err);
}

static int cmd_stats(int argc, char **argv)
{
	struct stats_opts o = {};
	sigset_t set;
	int ret = parse_args(argc, argv, &o);

	if (ret >= 0)
		return ret;
	if (!o.watch && !o.listen)
		return once(&o);
	/* Blocked before any thread starts, so that only sigwait/sigtimedwait see them and the
	 * command ends cleanly (exit 0) between two refreshes or scrapes. */
	stop_signals(&set);
	sigprocmask(SIG_BLOCK, &set, NULL);
	ret = o.listen ? listen_http(&o, &set) : watch(&o, &set);
	/* Discard a second stopping signal still pending (timeout(1) sends two, so does an
	 * impatient Ctrl-C): it must not turn a clean exit into death, and LeakSanitizer's exit
	 * check hangs on a pending blocked signal. */
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(&set, sig) == 1)
			signal(sig, SIG_IGN);
	/* A blocked signal is queued even when ignored: unblock so that later ones vanish. */
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	return ret;
}

static const char *const forms[] = {
	"[--json | --prometheus] [--exact] [--watch] [--reset]",
	"--listen [--web-config]",
	NULL,
};
static const struct cli_opt opts[] = {
	{ "json", NULL, 'j' },	       { "prometheus", NULL, 'P' },
	{ "exact", NULL, 'e' },	       { "watch", "SECONDS", 'w' },
	{ "reset", NULL, 'r' },	       { "listen", "[ADDR]:PORT", 'l' },
	{ "web-config", "FILE", 'W' }, { NULL },
};
const struct cli_cmd cli_stats = { "stats", forms, opts, cmd_stats };
