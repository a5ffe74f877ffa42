// SPDX-License-Identifier: GPL-2.0
/*
 * `tlsfw stats --listen ADDR:PORT`: the Prometheus text served at /metrics over HTTP with
 * libmicrohttpd. Each scrape collects fresh counters from the kernel, so the endpoint needs no
 * state of its own and follows policy replacements. One internal thread serves every
 * connection in turn: scrapes are rare and short, and collection (libbpf's print hook, the
 * maps) then never runs twice at once.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <microhttpd.h>

#include "lock.h"
#include "stats.h"

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

static int resolve(const char *host, struct stats_listen *l, struct diag *d)
{
	/* No AI_ADDRCONFIG: "localhost" must resolve also in a namespace with only lo. */
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL;
	int err;

	if (inet_pton(AF_INET, host, &l->addr.in4.sin_addr) == 1) {
		l->addr.in4.sin_family = AF_INET;
		l->addrlen = sizeof(l->addr.in4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &l->addr.in6.sin6_addr) == 1) {
		l->addr.in6.sin6_family = AF_INET6;
		l->addrlen = sizeof(l->addr.in6);
		return 0;
	}
	err = getaddrinfo(host, NULL, &hints, &res);
	if (err || !res || res->ai_addrlen > sizeof(l->addr)) {
		diag_error(d, NULL, "--listen: cannot resolve '%s': %s", host,
			   err ? gai_strerror(err) : "no address");
		if (res)
			freeaddrinfo(res);
		return -EINVAL;
	}
	memcpy(&l->addr, res->ai_addr, res->ai_addrlen);
	l->addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int stats_listen_parse(const char *spec, struct stats_listen *l, struct diag *d)
{
	char host[64];
	const char *colon, *port_s;
	unsigned long port;
	char *end;
	int err;

	memset(l, 0, sizeof(*l));
	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');

		if (!close || close[1] != ':' || (size_t)(close - spec - 1) >= sizeof(host)) {
			diag_error(d, NULL,
				   "--listen: '%s' is not ADDR:PORT ([ADDR]:PORT for IPv6)", spec);
			return -EINVAL;
		}
		snprintf(host, sizeof(host), "%.*s", (int)(close - spec - 1), spec + 1);
		port_s = close + 2;
	} else {
		colon = strrchr(spec, ':');
		if (!colon || (size_t)(colon - spec) >= sizeof(host) ||
		    memchr(spec, ':', colon - spec)) {
			diag_error(
				d, NULL,
				"--listen: '%s' is not ADDR:PORT (':PORT' for the loopback address, [ADDR]:PORT for IPv6)",
				spec);
			return -EINVAL;
		}
		snprintf(host, sizeof(host), "%.*s", (int)(colon - spec), spec);
		port_s = colon + 1;
	}
	errno = 0;
	port = strtoul(port_s, &end, 10);
	if (!*port_s || *end || errno || port < 1 || port > 65535 || *port_s == '-' ||
	    *port_s == '+') {
		diag_error(d, NULL, "--listen: port '%s' is not a number from 1 to 65535", port_s);
		return -EINVAL;
	}
	/* Counters tell who talks to whom: exposed beyond this host only when asked for. */
	err = resolve(host[0] ? host : "127.0.0.1", l, d);
	if (err)
		return err;
	if (l->addr.sa.sa_family == AF_INET6) {
		char a[INET6_ADDRSTRLEN];

		l->addr.in6.sin6_port = htons(port);
		inet_ntop(AF_INET6, &l->addr.in6.sin6_addr, a, sizeof(a));
		snprintf(l->text, sizeof(l->text), "[%s]:%lu", a, port);
	} else {
		char a[INET_ADDRSTRLEN];

		l->addr.in4.sin_port = htons(port);
		inet_ntop(AF_INET, &l->addr.in4.sin_addr, a, sizeof(a));
		snprintf(l->text, sizeof(l->text), "%s:%lu", a, port);
	}
	return 0;
}

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned int status, char *body,
			       size_t n, const char *type)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(n, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result respond_text(struct MHD_Connection *conn, unsigned int status,
				    const char *text)
{
	char *body = strdup(text);

	return body ? respond(conn, status, body, strlen(body), "text/plain; charset=utf-8") :
		      MHD_NO;
}

/* A scrape that cannot read the kernel answers 503 with the reason, and says it here too. */
static enum MHD_Result unavailable(struct MHD_Connection *conn, const struct diag *d)
{
	char *body = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&body, &n);

	if (!f)
		return respond_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "tlsfw: out of memory\n");
	diag_print(d, f);
	fclose(f);
	fprintf(stderr, "tlsfw: scrape failed:\n%s", body);
	return respond(conn, MHD_HTTP_SERVICE_UNAVAILABLE, body, n, "text/plain; charset=utf-8");
}

static enum MHD_Result metrics(struct MHD_Connection *conn, stats_collect_fn collect)
{
	struct stats_snap snap;
	char *body = NULL;
	struct diag d;
	enum MHD_Result ret;
	size_t n = 0;
	FILE *f;
	int err;

	diag_init(&d);
	err = collect(&snap, &d);
	if (err) {
		ret = unavailable(conn, &d);
		diag_free(&d);
		return ret;
	}
	diag_free(&d);
	f = open_memstream(&body, &n);
	if (!f) {
		stats_snap_free(&snap);
		return respond_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "tlsfw: out of memory\n");
	}
	err = stats_prom_write(&snap, f);
	stats_snap_free(&snap);
	if (fclose(f) || err) {
		free(body);
		return respond_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "tlsfw: out of memory\n");
	}
	return respond(conn, MHD_HTTP_OK, body, n, PROM_CONTENT_TYPE);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return respond_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
				    "tlsfw: only GET and HEAD are served\n");
	if (!strcmp(url, "/metrics"))
		return metrics(conn, *(stats_collect_fn *)cls);
	if (!strcmp(url, "/"))
		return respond_text(conn, MHD_HTTP_OK,
				    "tlsfw: Prometheus metrics are at /metrics\n");
	return respond_text(conn, MHD_HTTP_NOT_FOUND,
			    "tlsfw: not found; metrics are at /metrics\n");
}

static int listen_socket(const struct stats_listen *l, struct diag *d)
{
	int one = 1, fd, err;

	fd = socket(l->addr.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return diag_sys_error(d, -errno, "cannot create a socket for %s", l->text);
	/* A restarted exporter must not wait for the old connections' TIME_WAIT. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, &l->addr.sa, l->addrlen) || listen(fd, 16)) {
		err = -errno;
		close(fd);
		return diag_sys_error(d, err, "cannot listen on %s", l->text);
	}
	return fd;
}

int stats_http_serve(const struct stats_listen *l, stats_collect_fn collect, struct diag *d)
{
	struct MHD_Daemon *daemon;
	sigset_t set;
	int fd, sig;

	fd = listen_socket(l, d);
	if (fd < 0)
		return fd;
	/* the handler's closure is the collect function, which lives as long as this call */
	daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL,
				  NULL, handle, &collect, MHD_OPTION_LISTEN_SOCKET, fd,
				  MHD_OPTION_CONNECTION_LIMIT, 32u, MHD_OPTION_CONNECTION_TIMEOUT,
				  10u, MHD_OPTION_END);
	if (!daemon) {
		close(fd);
		return diag_sys_error(d, -EIO, "cannot start the HTTP server on %s", l->text);
	}
	fprintf(stderr,
		"tlsfw: serving metrics at http://%s/metrics until SIGINT, SIGTERM, SIGHUP or SIGQUIT\n",
		l->text);
	stop_signals(&set);
	while (sigwait(&set, &sig))
		;
	/* MHD_stop_daemon closes the listening socket it was given. */
	MHD_stop_daemon(daemon);
	return 0;
}
