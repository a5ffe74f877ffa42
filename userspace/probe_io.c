// SPDX-License-Identifier: GPL-2.0
/*
 * One prober connection. The socket is non-blocking and every wait is a poll() bounded by the
 * current step's deadline, itself bounded by the target's deadline, so no server behaviour
 * (silence, a slow drip, an endless line) can hold a probe longer than its timeout. OpenSSL
 * runs over memory BIOs: this file moves the bytes, so it sees the first raw bytes a server
 * sends and can name a plaintext banner where a TLS record was due.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lazy_openssl.h"

#include "probe_io.h"

uint64_t pio_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int pio_fail(struct pio *c, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	return err;
}

int pio_init(struct pio *c, uint64_t deadline, int step_ms)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->deadline = deadline;
	c->step_ms = step_ms;
	c->in = malloc(PIO_BUF);
	if (!c->in)
		return -ENOMEM;
	pio_step(c);
	return 0;
}

void pio_close(struct pio *c)
{
	if (c->ssl)
		SSL_free(c->ssl); /* frees both BIOs */
	c->ssl = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->in);
	c->in = NULL;
}

void pio_step(struct pio *c)
{
	uint64_t end = pio_now_ms() + c->step_ms;

	c->step_end = end < c->deadline ? end : c->deadline;
}

/* Wait for events on the socket until the step ends. */
static int wait_fd(struct pio *c, short events)
{
	for (;;) {
		uint64_t now = pio_now_ms();
		struct pollfd p = { .fd = c->fd, .events = events };
		int n;

		if (now >= c->step_end)
			return -ETIMEDOUT;
		n = poll(&p, 1, (int)(c->step_end - now));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n > 0)
			return 0;
	}
}

static int timeout_msg(struct pio *c, const char *what)
{
	if (c->step_end >= c->deadline && pio_now_ms() >= c->deadline)
		return pio_fail(c, -ETIMEDOUT, "overall deadline reached %s", what);
	return pio_fail(c, -ETIMEDOUT, "timed out after %d ms %s", c->step_ms, what);
}

int pio_connect(struct pio *c, const struct sockaddr *sa, socklen_t salen)
{
	int err = 0, ret;
	socklen_t l = sizeof(err);

	pio_step(c);
	c->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return pio_fail(c, -errno, "socket: %s", strerror(errno));
	if (connect(c->fd, sa, salen) && errno != EINPROGRESS)
		return pio_fail(c, -errno, "connect: %s", strerror(errno));
	ret = wait_fd(c, POLLOUT);
	if (ret == -ETIMEDOUT)
		return timeout_msg(c, "connecting");
	if (ret)
		return pio_fail(c, ret, "poll: %s", strerror(-ret));
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l))
		return pio_fail(c, -errno, "getsockopt: %s", strerror(errno));
	if (err)
		return pio_fail(c, -err, "connect: %s", strerror(err));
	c->connected = true;
	return 0;
}

static int raw_send(struct pio *c, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			int ret = wait_fd(c, POLLOUT);

			if (ret == -ETIMEDOUT)
				return timeout_msg(c, "sending");
			if (ret)
				return pio_fail(c, ret, "poll: %s", strerror(-ret));
			continue;
		}
		if (n < 0)
			return pio_fail(c, -errno, "send: %s", strerror(errno));
		p += n;
		len -= n;
	}
	return 0;
}

static int raw_recv(struct pio *c, void *buf, size_t cap, const char *what)
{
	for (;;) {
		ssize_t n = recv(c->fd, buf, cap, 0);

		if (n > 0)
			return n;
		if (n == 0)
			return pio_fail(c, -ECONNRESET, "server closed the connection %s", what);
		if (errno != EAGAIN && errno != EINTR)
			return pio_fail(c, -errno, "recv: %s %s", strerror(errno), what);
		int ret = wait_fd(c, POLLIN);

		if (ret == -ETIMEDOUT)
			return timeout_msg(c, what);
		if (ret)
			return pio_fail(c, ret, "poll: %s", strerror(-ret));
	}
}

/* Send what OpenSSL queued for the peer. */
static int flush_tls(struct pio *c)
{
	char tmp[4096];
	int n, ret;

	while ((n = BIO_read(c->wbio, tmp, sizeof(tmp))) > 0) {
		ret = raw_send(c, tmp, n);
		if (ret)
			return ret;
	}
	return 0;
}

static const char *ssl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	return r ? r : "unknown error";
}

int pio_send(struct pio *c, const void *buf, size_t len)
{
	pio_step(c);
	if (!c->ssl)
		return raw_send(c, buf, len);
	ERR_clear_error();
	if (len && SSL_write(c->ssl, buf, len) <= 0)
		return pio_fail(c, -EPROTO, "TLS write failed: %s", ssl_reason());
	return flush_tls(c);
}

int pio_sendstr(struct pio *c, const char *s)
{
	return pio_send(c, s, strlen(s));
}

/* Append what arrives next to c->in (decrypted when TLS is up). */
static int fill(struct pio *c, const char *what)
{
	char tmp[16384];
	int n;

	if (c->in_len >= PIO_BUF)
		return pio_fail(c, -EMSGSIZE, "reply line over 64 KiB %s", what);
	if (!c->ssl) {
		n = raw_recv(c, c->in + c->in_len, PIO_BUF - c->in_len, what);
		if (n > 0)
			c->in_len += n;
		return n < 0 ? n : 0;
	}
	for (;;) {
		ERR_clear_error();
		n = SSL_read(c->ssl, c->in + c->in_len, PIO_BUF - c->in_len);
		if (n > 0) {
			c->in_len += n;
			return 0;
		}
		switch (SSL_get_error(c->ssl, n)) {
		case SSL_ERROR_WANT_READ:
			n = flush_tls(c); /* post-handshake messages may need an answer */
			if (n)
				return n;
			n = raw_recv(c, tmp, sizeof(tmp), what);
			if (n < 0)
				return n;
			BIO_write(c->rbio, tmp, n);
			break;
		case SSL_ERROR_ZERO_RETURN:
			return pio_fail(c, -ECONNRESET, "server closed the TLS session %s", what);
		default:
			return pio_fail(c, -EPROTO, "TLS error %s: %s", what, ssl_reason());
		}
	}
}

int pio_read(struct pio *c, pio_parser parse, const void *arg, struct pp_reply *r)
{
	int ret;

	pio_step(c);
	for (;;) {
		ret = parse(c->in, c->in_len, r, arg);
		if (ret > 0) {
			memmove(c->in, c->in + ret, c->in_len - ret);
			c->in_len -= ret;
			return 0;
		}
		if (ret == -EMSGSIZE)
			return pio_fail(c, ret, "reply line over 64 KiB");
		if (ret == -E2BIG)
			return pio_fail(c, ret, "reply of more than %d lines", PP_LINES_MAX);
		if (ret < 0)
			return pio_fail(c, ret, "malformed or binary reply (%zu bytes)", c->in_len);
		ret = fill(c, "waiting for a reply");
		if (ret)
			return ret;
	}
}

int pio_handshake(struct pio *c, SSL_CTX *ctx, const char *sni)
{
	const struct pio_tls_setup *setup;
	char tmp[16384];
	int n, ret;

	pio_step(c);
	if (c->in_len)
		return pio_fail(c, -EPROTO,
				"server sent %zu bytes of plaintext after accepting STARTTLS",
				c->in_len);
	c->ssl = SSL_new(ctx);
	c->rbio = BIO_new(BIO_s_mem());
	c->wbio = BIO_new(BIO_s_mem());
	if (!c->ssl || !c->rbio || !c->wbio) {
		BIO_free(c->rbio);
		BIO_free(c->wbio);
		c->rbio = c->wbio = NULL;
		return pio_fail(c, -ENOMEM, "out of memory");
	}
	SSL_set_bio(c->ssl, c->rbio, c->wbio);
	SSL_set_connect_state(c->ssl);
	if (sni && *sni)
		SSL_set_tlsext_host_name(c->ssl, sni);
	setup = SSL_CTX_get_app_data(ctx);
	if (setup) {
		ret = setup->fn(c, setup->arg);
		if (ret)
			return ret;
	}
	for (;;) {
		ERR_clear_error();
		n = SSL_do_handshake(c->ssl);
		ret = flush_tls(c);
		if (ret)
			return ret;
		if (n == 1)
			return 0;
		if (SSL_get_error(c->ssl, n) != SSL_ERROR_WANT_READ)
			return pio_fail(c, -EPROTO, "TLS handshake failed: %s", ssl_reason());
		n = raw_recv(c, tmp, sizeof(tmp), "during the TLS handshake");
		if (n < 0)
			return n;
		if (c->raw1_len < sizeof(c->raw1)) {
			size_t k = sizeof(c->raw1) - c->raw1_len;

			if (k > (size_t)n)
				k = n;
			memcpy(c->raw1 + c->raw1_len, tmp, k);
			c->raw1_len += k;
		}
		BIO_write(c->rbio, tmp, n);
	}
}
