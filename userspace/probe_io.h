/* SPDX-License-Identifier: GPL-2.0 */
/* One prober connection: non-blocking socket, poll with deadlines, TLS over memory BIOs. */
#ifndef TLSFW_PROBE_IO_H
#define TLSFW_PROBE_IO_H

#include <netdb.h>
#include "lazy_openssl.h"

#include "probe.h"

/* Input kept at once: one maximal line plus room for what follows it. */
#define PIO_BUF (PP_LINE_MAX + 4096)

struct pio {
	int fd;
	bool connected;
	SSL *ssl;	   /* NULL while plaintext */
	BIO *rbio, *wbio;  /* owned by ssl */
	uint64_t deadline; /* the target's overall deadline (ms, CLOCK_MONOTONIC) */
	int step_ms;
	uint64_t step_end; /* set by pio_step() */
	char *in;	   /* PIO_BUF bytes: plaintext, or decrypted application data */
	size_t in_len;
	unsigned char raw1[64]; /* first raw bytes received in a handshake (plaintext detection) */
	size_t raw1_len;
	char err[256]; /* what went wrong, for evidence */
};

typedef int (*pio_parser)(const char *buf, size_t len, struct pp_reply *r, const void *arg);

uint64_t pio_now_ms(void);
int pio_init(struct pio *c, uint64_t deadline, int step_ms);
void pio_close(struct pio *c);
/* Start a step: its deadline is step_ms from now, capped by the overall deadline. */
void pio_step(struct pio *c);
int pio_connect(struct pio *c, const struct sockaddr *sa, socklen_t salen);
int pio_send(struct pio *c, const void *buf, size_t len);
int pio_sendstr(struct pio *c, const char *s);
/* What went wrong on the connection, for evidence: c->err; returns err. */
int pio_fail(struct pio *c, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Read one reply with parse (its arg passed through). Errors carry a message in c->err. */
int pio_read(struct pio *c, pio_parser parse, const void *arg, struct pp_reply *r);
/* What to set on each new SSL of a context before its handshake (DANE: the TLSA records);
 * a context carries it as its app data (SSL_CTX_set_app_data). fn sets up c->ssl and returns
 * 0, or -errno through pio_fail(). */
struct pio_tls_setup {
	int (*fn)(struct pio *c, const void *arg);
	const void *arg;
};

/* Handshake with a new SSL from ctx; sni may be NULL. Plaintext left unread is an error. */
int pio_handshake(struct pio *c, SSL_CTX *ctx, const char *sni);

#endif
