// SPDX-License-Identifier: GPL-2.0
/*
 * `tlsfw stats --listen ADDR:PORT`: the Prometheus text served at /metrics over HTTP with
 * libmicrohttpd. Each scrape collects fresh counters from the kernel, so the endpoint needs no
 * state of its own and follows policy replacements. One thread (the caller's) serves every
 * connection in turn from one poll loop: scrapes are rare and short, collection (libbpf's print
 * hook, the maps) then never runs twice at once, and the connection bookkeeping below needs no
 * lock.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/param.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include "lazy_gnutls.h"
#include "lazy_microhttpd.h"
#include "lazy_openssl.h"

#include "lock.h"
#include "stats.h"
#include "stats_auth.h"
#include "webcfg.h"

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/*
 * Limits that keep one client from starving the others (issue 17: 40 connections that each
 * sent a header line every 5 s made every scrape fail). A request must be read and answered
 * within HTTP_REQUEST_SECONDS of its connection's start (or of the previous answer on a
 * kept-alive connection), however slowly its bytes trickle in; an address holds at most
 * HTTP_CONN_PER_ADDR connections (a newcomer beyond that is closed before it touches anyone
 * else's); and above HTTP_CONN_MAX connections a newcomer makes room by closing one of the
 * address that holds the most (see evict()), so that the connections of an address holding
 * one are never closed for a newcomer while fewer than HTTP_CONN_MAX addresses are connected.
 */
#define HTTP_REQUEST_SECONDS 5
#define HTTP_CONN_PER_ADDR 4
#define HTTP_CONN_MAX 32
#define HTTP_ACCEPT_BATCH 16 /* accepted per wakeup; the rest at the next one */

enum http_conn_state {
	HTTP_CONN_IDLE,	   /* kept alive after an answer, its next request not yet in */
	HTTP_CONN_READING, /* new (TLS handshake, request) or reading a request */
	HTTP_CONN_WAITING, /* suspended while the bcrypt worker checks its password */
	HTTP_CONN_SENDING, /* answer queued */
};

/* Waiting and sending connections are ours to finish: neither expired nor evicted. */
#define HTTP_CONN_BUSY(c) ((c)->state >= HTTP_CONN_WAITING)

struct http_conn {
	struct http_conn *prev, *next; /* live connections, in accept order */
	int fd;			       /* owned by MHD */
	unsigned char addr[16];	       /* the client's, IPv4 as v4-mapped IPv6 */
	enum http_conn_state state;
	uint64_t deadline; /* CLOCK_MONOTONIC milliseconds */
	bool linked;	   /* false once closed by us */
};

struct http_srv {
	struct MHD_Daemon *d;
	int listen_fd, sig_fd;
	struct http_conn *head, *tail;
	unsigned int live;	  /* linked connections */
	struct webcfg *web;	  /* --web-config, or NULL */
	struct auth_worker *auth; /* with basic_auth_users */
	stats_collect_fn collect;
	uint64_t last_log; /* when MHD's last message was let through */
};

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

static void conn_sending(struct MHD_Connection *conn);

/* Every answer carries the headers of http_server_config. */
static enum MHD_Result respond(struct http_srv *srv, struct MHD_Connection *conn,
			       unsigned int status, char *body, size_t n, const char *type)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(n, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	conn_sending(conn);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	for (size_t i = 0; srv->web && i < srv->web->n_headers; i++)
		MHD_add_response_header(r, srv->web->headers[i].name, srv->web->headers[i].value);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	if (status == MHD_HTTP_UNAUTHORIZED)
		ret = MHD_queue_basic_auth_fail_response(conn, "tlsfw", r);
	else
		ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result respond_text(struct http_srv *srv, struct MHD_Connection *conn,
				    unsigned int status, const char *text)
{
	char *body = strdup(text);

	return body ? respond(srv, conn, status, body, strlen(body), "text/plain; charset=utf-8") :
		      MHD_NO;
}

/* A scrape that cannot read the kernel answers 503 with the reason, and says it here too. */
static enum MHD_Result unavailable(struct http_srv *srv, struct MHD_Connection *conn,
				   const struct diag *d)
{
	char *body = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&body, &n);

	if (!f)
		return respond_text(srv, conn, MHD_HTTP_SERVICE_UNAVAILABLE,
				    "tlsfw: out of memory\n");
	diag_print(d, f);
	fclose(f);
	fprintf(stderr, "tlsfw: scrape failed:\n%s", body);
	return respond(srv, conn, MHD_HTTP_SERVICE_UNAVAILABLE, body, n,
		       "text/plain; charset=utf-8");
}

static enum MHD_Result metrics(struct http_srv *srv, struct MHD_Connection *conn)
{
	struct stats_snap snap;
	char *body = NULL;
	enum MHD_Result ret;
	struct diag d;
	size_t n = 0;
	FILE *f;
	int err;

	diag_init(&d);
	err = srv->collect(&snap, &d);
	if (err) {
		ret = unavailable(srv, conn, &d);
		diag_free(&d);
		return ret;
	}
	diag_free(&d);
	f = open_memstream(&body, &n);
	if (!f) {
		stats_snap_free(&snap);
		return respond_text(srv, conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
				    "tlsfw: out of memory\n");
	}
	err = stats_prom_write(&snap, f);
	stats_snap_free(&snap);
	if (fclose(f) || err) {
		free(body);
		return respond_text(srv, conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
				    "tlsfw: out of memory\n");
	}
	return respond(srv, conn, MHD_HTTP_OK, body, n, PROM_CONTENT_TYPE);
}

/* client_auth_type: the certificate the client sent (GnuTLS asked for one because MHD was
 * given the CA), verified against client_ca_file for client authentication. MHD has no hook
 * to fail the handshake, so a client without a valid certificate gets 403 and nothing else. */
static bool client_cert_ok(const struct webcfg *web, struct MHD_Connection *conn)
{
	gnutls_typed_vdata_st purpose = { .type = GNUTLS_DT_KEY_PURPOSE_OID,
					  .data = (void *)GNUTLS_KP_TLS_WWW_CLIENT };
	const union MHD_ConnectionInfo *ci;
	unsigned int n = 0, status = 0;

	if (web->client_auth == WEBCFG_NO_CLIENT_CERT)
		return true;
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (!ci || !ci->tls_session)
		return false;
	if (!gnutls_certificate_get_peers(ci->tls_session, &n) || !n)
		return web->client_auth == WEBCFG_VERIFY_IF_GIVEN;
	return !gnutls_certificate_verify_peers(ci->tls_session, &purpose, 1, &status) && !status;
}

static struct http_conn *conn_of(struct MHD_Connection *conn);

/* Hand a password that is not remembered to the bcrypt worker, the connection suspended
 * until it is done (handle runs again then); 0 when it cannot. */
static int password_submit(struct http_srv *srv, struct MHD_Connection *conn, void **con_cls,
			   const struct webcfg_attempt *a, const char *user, const char *pass)
{
	struct auth_job *j = calloc(1, sizeof(*j));
	struct http_conn *c = conn_of(conn);

	if (!j || !c || !(j->user = strdup(user)) || !(j->pass = strdup(pass))) {
		auth_job_free(j);
		return 0;
	}
	j->conn = conn;
	j->a = *a;
	memcpy(j->addr, c->addr, sizeof(j->addr));
	c->state = HTTP_CONN_WAITING;
	MHD_suspend_connection(conn);
	*con_cls = j;
	auth_worker_submit(srv->auth, j);
	return -EINPROGRESS;
}

/* basic_auth_users: 1 when the password is right, 0 when not, -EINPROGRESS while the worker
 * checks it. */
static int password_check(struct http_srv *srv, struct MHD_Connection *conn, void **con_cls)
{
	struct auth_job *j = *con_cls != srv ? *con_cls : NULL;
	char *pass = NULL, *user;
	struct webcfg_attempt a;
	int r = 0;

	if (j) { /* back from the worker */
		r = j->ok;
		auth_job_free(j);
		*con_cls = srv;
		return r;
	}
	user = MHD_basic_auth_get_username_password(conn, &pass);
	if (user && pass)
		r = webcfg_auth_cached(srv->web, user, pass, &a);
	if (r == -EAGAIN)
		r = password_submit(srv, conn, con_cls, &a, user, pass);
	if (pass)
		OPENSSL_cleanse(pass, strlen(pass));
	MHD_free(pass);
	MHD_free(user);
	return r;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	struct http_srv *srv = cls;
	int r;

	/* Answer once the whole request is in: a response queued at the first call (headers
	 * only) makes MHD close the connection, and scrapers keep theirs alive. A body (never
	 * wanted here) is read and dropped, within the request's deadline. */
	if (!*con_cls || *upload_data_size) {
		*con_cls = srv;
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (srv->web && !client_cert_ok(srv->web, conn))
		return respond_text(srv, conn, MHD_HTTP_FORBIDDEN,
				    "tlsfw: a valid client certificate is required\n");
	if (srv->web && srv->web->n_users) {
		r = password_check(srv, conn, con_cls);
		if (r == -EINPROGRESS)
			return MHD_YES;
		if (!r)
			return respond_text(srv, conn, MHD_HTTP_UNAUTHORIZED,
					    "tlsfw: authentication required\n");
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return respond_text(srv, conn, MHD_HTTP_METHOD_NOT_ALLOWED,
				    "tlsfw: only GET and HEAD are served\n");
	if (!strcmp(url, "/metrics"))
		return metrics(srv, conn);
	if (!strcmp(url, "/"))
		return respond_text(srv, conn, MHD_HTTP_OK,
				    "tlsfw: Prometheus metrics are at /metrics\n");
	return respond_text(srv, conn, MHD_HTTP_NOT_FOUND,
			    "tlsfw: not found; metrics are at /metrics\n");
}

static int listen_socket(const struct stats_listen *l, struct diag *d)
{
	int one = 1, fd, err;

	fd = socket(l->addr.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return diag_sys_error(d, -errno, "cannot create a socket for %s", l->text);
	/* A restarted exporter must not wait for the old connections' TIME_WAIT. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, &l->addr.sa, l->addrlen) || listen(fd, 64)) {
		err = -errno;
		close(fd);
		return diag_sys_error(d, err, "cannot listen on %s", l->text);
	}
	return fd;
}

/* ---- connections: limits and the absolute deadline -------------------------------------- */

static uint64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void conn_link(struct http_srv *srv, struct http_conn *c)
{
	c->deadline = now_ms() + HTTP_REQUEST_SECONDS * 1000;
	c->state = HTTP_CONN_READING;
	c->prev = srv->tail;
	c->next = NULL;
	if (srv->tail)
		srv->tail->next = c;
	else
		srv->head = c;
	srv->tail = c;
	c->linked = true;
	srv->live++;
}

static void conn_unlink(struct http_srv *srv, struct http_conn *c)
{
	if (!c->linked)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		srv->tail = c->prev;
	c->linked = false;
	srv->live--;
}

/* The client's address as 16 bytes, IPv4 as v4-mapped IPv6: one key for both families. */
static void addr_key(const struct sockaddr *sa, unsigned char *key)
{
	memset(key, 0, 16);
	if (sa->sa_family == AF_INET6) {
		memcpy(key, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	} else if (sa->sa_family == AF_INET) {
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	}
}

/* MHD owns the socket: shut it down, and MHD sees the end at its next read and closes it. */
static void conn_close(struct http_srv *srv, struct http_conn *c)
{
	shutdown(c->fd, SHUT_RDWR);
	conn_unlink(srv, c);
}

static void notify_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			      enum MHD_ConnectionNotificationCode toe)
{
	struct http_srv *srv = cls;
	struct http_conn *c = *socket_context;
	const union MHD_ConnectionInfo *ci, *ca;

	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (c)
			conn_unlink(srv, c);
		free(c);
		*socket_context = NULL;
		return;
	}
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	c = calloc(1, sizeof(*c));
	if (!c || !ci) {
		/* Untracked, it would escape the deadline: refuse it instead. */
		free(c);
		if (ci)
			shutdown(ci->connect_fd, SHUT_RDWR);
		return;
	}
	c->fd = ci->connect_fd;
	ca = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ca && ca->client_addr)
		addr_key(ca->client_addr, c->addr);
	conn_link(srv, c);
	*socket_context = c;
}

static struct http_conn *conn_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci;

	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

/* An answer being sent is not cut: it leaves the deadline (MHD's own inactivity timeout
 * still closes a client that stops reading) and cannot be evicted. */
static void conn_sending(struct MHD_Connection *conn)
{
	struct http_conn *c = conn_of(conn);

	if (c)
		c->state = HTTP_CONN_SENDING;
}

/* An answered request starts the next one's time: a kept-alive connection gets the same
 * deadline for its next request as a new one. */
static void request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			      enum MHD_RequestTerminationCode toe)
{
	struct http_conn *c = conn_of(conn);

	if (*con_cls && *con_cls != cls) { /* closed before handle took the worker's answer */
		auth_job_free(*con_cls);
		*con_cls = NULL;
	}
	if (c && c->linked) {
		c->deadline = now_ms() + HTTP_REQUEST_SECONDS * 1000;
		c->state = HTTP_CONN_IDLE;
	}
}

static unsigned int addr_conns(const struct http_srv *srv, const unsigned char *addr)
{
	unsigned int n = 0;

	for (const struct http_conn *c = srv->head; c; c = c->next)
		n += !memcmp(c->addr, addr, sizeof(c->addr));
	return n;
}

/*
 * The connection a newcomer closes on a full server: one of the address holding the most
 * connections, answers being sent and the newcomer aside (an address with fewer is never
 * touched while another has more, so flooding from many connections per address cannot push
 * out a scraper's single one); of those, an idle kept-alive one before one reading a
 * request, then the one accepted first.
 */
static bool candidate(const struct http_conn *c, const struct http_conn *newcomer)
{
	return c != newcomer && !HTTP_CONN_BUSY(c);
}

static struct http_conn *victim(const struct http_srv *srv, const struct http_conn *newcomer)
{
	struct http_conn *best = NULL;
	unsigned int best_n = 0;

	for (struct http_conn *c = srv->head; c; c = c->next) {
		unsigned int n = 0;

		if (!candidate(c, newcomer))
			continue;
		for (const struct http_conn *o = srv->head; o; o = o->next)
			n += candidate(o, newcomer) && !memcmp(o->addr, c->addr, sizeof(c->addr));
		/* the list is in accept order: on a tie the earlier one stays chosen */
		if (!best || n > best_n || (n == best_n && c->state < best->state)) {
			best = c;
			best_n = n;
		}
	}
	return best;
}

/* Accepted here rather than by MHD, so that the address limit is applied before anyone is
 * closed, and a full server makes room for the newcomer (victim()) instead of leaving it in
 * the backlog. */
static void accept_new(struct http_srv *srv)
{
	for (int i = 0; i < HTTP_ACCEPT_BATCH; i++) {
		struct sockaddr_storage a;
		socklen_t alen = sizeof(a);
		unsigned char key[16];
		struct http_conn *v;
		int fd = accept4(srv->listen_fd, (struct sockaddr *)&a, &alen,
				 SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0)
			return;
		addr_key((struct sockaddr *)&a, key);
		if (addr_conns(srv, key) >= HTTP_CONN_PER_ADDR) {
			close(fd);
			continue;
		}
		/* On failure MHD closes the socket itself, and nobody was closed for it. */
		if (MHD_add_connection(srv->d, fd, (struct sockaddr *)&a, alen) != MHD_YES)
			continue;
		if (srv->live > HTTP_CONN_MAX && (v = victim(srv, srv->tail)))
			conn_close(srv, v);
	}
}

static void expire(struct http_srv *srv)
{
	uint64_t now = now_ms();

	for (struct http_conn *c = srv->head, *next; c; c = next) {
		next = c->next;
		if (!HTTP_CONN_BUSY(c) && c->deadline <= now)
			conn_close(srv, c);
	}
}

/* Milliseconds poll may sleep: until MHD has work or the earliest deadline. */
static int next_wakeup(const struct http_srv *srv)
{
	MHD_UNSIGNED_LONG_LONG mhd;
	uint64_t t = 60000, now = now_ms();

	if (MHD_get_timeout(srv->d, &mhd) == MHD_YES && mhd < t)
		t = mhd;
	for (const struct http_conn *c = srv->head; c; c = c->next)
		if (!HTTP_CONN_BUSY(c))
			t = c->deadline <= now ? 0 : MIN(t, c->deadline - now);
	return (int)t;
}

/* MHD's own messages (a refused address, a failed handshake) come per connection: a flood
 * of them must not flood the log too. */
static void http_log(void *cls, const char *fmt, va_list ap)
{
	struct http_srv *srv = cls;
	uint64_t now = now_ms();

	if (srv->last_log && now - srv->last_log < 1000)
		return;
	srv->last_log = now;
	fputs("tlsfw: http: ", stderr);
	vfprintf(stderr, fmt, ap);
}

/* The worker's answers: remembered (unless cancelled at the end), connections resumed. */
static void auth_done(struct http_srv *srv, bool remember)
{
	struct auth_job *j = srv->auth ? auth_worker_done(srv->auth) : NULL, *next;

	for (; j; j = next) {
		next = j->next;
		if (remember)
			webcfg_auth_remember(srv->web, j->user, &j->a, j->ok);
		MHD_resume_connection(j->conn);
	}
}

static int serve_loop(struct http_srv *srv)
{
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->d, MHD_DAEMON_INFO_EPOLL_FD);
	struct pollfd p[4] = {
		{ .fd = srv->listen_fd, .events = POLLIN },
		{ .fd = di ? di->epoll_fd : -1, .events = POLLIN },
		{ .fd = srv->sig_fd, .events = POLLIN },
		{ .fd = srv->auth ? auth_worker_fd(srv->auth) : -1, .events = POLLIN },
	};

	for (;;) {
		if (poll(p, 4, next_wakeup(srv)) < 0 && errno != EINTR)
			return -errno;
		if (p[2].revents)
			return 0;
		if (p[3].revents)
			auth_done(srv, true);
		if (p[0].revents)
			accept_new(srv);
		MHD_run(srv->d);
		expire(srv);
	}
}

static bool loopback(const struct stats_listen *l)
{
	const struct in6_addr *a6 = &l->addr.in6.sin6_addr;

	if (l->addr.sa.sa_family == AF_INET)
		return ntohl(l->addr.in4.sin_addr.s_addr) >> 24 == 127;
	return IN6_IS_ADDR_LOOPBACK(a6) || (IN6_IS_ADDR_V4MAPPED(a6) && a6->s6_addr[12] == 127);
}

/* The metrics name the policy file, its hash and every rule: beyond this host they deserve TLS
 * and authentication (verified client certificates or basic_auth_users). */
static void exposure_warning(const struct stats_listen *l, const struct webcfg *w)
{
	bool tls = w && w->tls;
	bool auth = w && (w->n_users || w->client_auth == WEBCFG_REQUIRE_AND_VERIFY);

	if (loopback(l) || (tls && auth))
		return;
	if (!tls && !auth)
		fprintf(stderr,
			"tlsfw: warning: %s is not a loopback address and there is no TLS and no authentication: anyone who reaches it reads the policy file, its hash and the rule names (see --web-config)\n",
			l->text);
	else if (!tls)
		fprintf(stderr,
			"tlsfw: warning: %s is not a loopback address and there is no TLS: passwords and metrics cross the network in clear text (set tls_server_config)\n",
			l->text);
	else
		fprintf(stderr,
			"tlsfw: warning: %s is not a loopback address and there is no authentication: anyone who reaches it reads the policy file, its hash and the rule names (set basic_auth_users or client_auth_type: RequireAndVerifyClientCert)\n",
			l->text);
}

/* The daemon's options: limits and hooks always, TLS when the web configuration has it. */
static unsigned int daemon_options(struct http_srv *srv, struct MHD_OptionItem *o)
{
	const struct webcfg *w = srv->web;
	unsigned int n = 0;

#define OPT(opt, val, ptr) (o[n++] = (struct MHD_OptionItem){ (opt), (intptr_t)(val), (ptr) })
	OPT(MHD_OPTION_EXTERNAL_LOGGER, http_log, srv); /* first, or MHD logs to stderr itself */
	OPT(MHD_OPTION_CONNECTION_LIMIT, 2 * HTTP_CONN_MAX, NULL);
	OPT(MHD_OPTION_CONNECTION_TIMEOUT, HTTP_REQUEST_SECONDS, NULL);
	OPT(MHD_OPTION_NOTIFY_CONNECTION, notify_connection, srv);
	OPT(MHD_OPTION_NOTIFY_COMPLETED, request_completed, srv);
	if (w && w->tls) {
		OPT(MHD_OPTION_HTTPS_MEM_CERT, 0, w->cert_pem);
		OPT(MHD_OPTION_HTTPS_MEM_KEY, 0, w->key_pem);
		OPT(MHD_OPTION_HTTPS_PRIORITIES, 0, w->priorities);
		if (w->client_ca_pem)
			OPT(MHD_OPTION_HTTPS_MEM_TRUST, 0, w->client_ca_pem);
	}
	OPT(MHD_OPTION_END, 0, NULL);
#undef OPT
	return n;
}

int stats_http_serve(const struct stats_listen *l, struct webcfg *web, stats_collect_fn collect,
		     struct diag *d)
{
	struct http_srv srv = { .listen_fd = -1, .sig_fd = -1, .web = web, .collect = collect };
	bool tls = web && web->tls;
	struct MHD_OptionItem opts[16];
	sigset_t set;
	int err;

	if (tls && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
		diag_error(d, NULL, "this libmicrohttpd is built without TLS");
		return -ENOTSUP;
	}
	stop_signals(&set);
	srv.sig_fd = signalfd(-1, &set, SFD_CLOEXEC);
	if (srv.sig_fd < 0)
		return diag_sys_error(d, -errno, "cannot wait for signals");
	srv.listen_fd = listen_socket(l, d);
	if (srv.listen_fd < 0) {
		close(srv.sig_fd);
		return srv.listen_fd;
	}
	if (web && web->n_users) {
		err = auth_worker_new(&srv.auth);
		if (err) {
			diag_sys_error(d, err, "cannot start the password checker");
			goto out;
		}
	}
	daemon_options(&srv, opts);
	srv.d = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ERROR_LOG |
					 MHD_ALLOW_SUSPEND_RESUME | (tls ? MHD_USE_TLS : 0),
				 0, NULL, NULL, handle, &srv, MHD_OPTION_ARRAY, opts,
				 MHD_OPTION_END);
	if (!srv.d) {
		err = diag_sys_error(d, -EIO, "cannot start the HTTP server on %s", l->text);
		goto out;
	}
	exposure_warning(l, web);
	fprintf(stderr,
		"tlsfw: serving metrics at %s://%s/metrics until SIGINT, SIGTERM, SIGHUP or SIGQUIT\n",
		tls ? "https" : "http", l->text);
	err = serve_loop(&srv);
	if (err)
		diag_sys_error(d, err, "serving %s", l->text);
	/* MHD stops only without suspended connections: the worker gives them all back. */
	auth_worker_stop(srv.auth);
	auth_done(&srv, false);
	MHD_run(srv.d);
	MHD_stop_daemon(srv.d);
out:
	auth_worker_free(srv.auth);
	close(srv.listen_fd);
	close(srv.sig_fd);
	return err;
}
