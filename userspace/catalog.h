/* SPDX-License-Identifier: GPL-2.0 */
/* The built-in service catalog of POLICY.md. */
#ifndef TLSFW_CATALOG_H
#define TLSFW_CATALOG_H

#include <stddef.h>
#include <stdint.h>

enum tls_mode { TLS_NONE, TLS_IMPLICIT, TLS_STARTTLS, TLS_QUIC };

struct svc_port {
	uint8_t proto; /* IPPROTO_TCP or IPPROTO_UDP */
	uint16_t lo, hi;
};

struct service {
	const char *name;
	const char *alias; /* or NULL */
	struct svc_port ports[2];
	size_t n_ports;
	enum tls_mode tls;
	const char *starttls; /* probe protocol for TLS_STARTTLS: smtp, imap, ... */
	const char *note;     /* the catalog's "TLS mode" column */
	/* server names (issue 13): a rule naming the service matches these ClientHello names
	 * too, as with sni: (NULL-terminated; NULL: ports only) */
	const char *const *names;
};

extern const struct service catalog[];
extern const size_t catalog_len;

/* By name or alias; NULL if unknown. */
const struct service *catalog_find(const char *name);
/* The service whose first TCP port is port (for probes: which TLS mode a port promises). */
const struct service *catalog_by_tcp_port(uint16_t port);

#endif
