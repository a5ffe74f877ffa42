// SPDX-License-Identifier: GPL-2.0
/* Probe targets: the names of protocols, checks and outcomes, and parsing a target spec. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lazy_openssl.h"

#include "catalog.h"
#include "probe.h"

const char *const probe_proto_names[PROTO__N] = {
	"none", "smtp", "imap", "pop3", "ftp", "ldap", "xmpp", "postgres", "sieve", "nntp",
};

const char *const probe_check_names[PC__N] = {
	[PC_GREETING] = "greeting",
	[PC_STARTTLS] = "starttls",
	[PC_HANDSHAKE] = "handshake",
	[PC_TLS_REQUIRED] = "tls-required",
	[PC_PLAIN_AUTH] = "plaintext-auth",
	[PC_INJECTION] = "starttls-injection",
	[PC_MIN_TLS] = "min-tls",
	[PC_WEAK_CIPHERS] = "weak-ciphers",
	[PC_CHAIN] = "chain",
	[PC_NAME] = "name",
	[PC_EXPIRY] = "expiry",
};

const char *const starttls_outcome_names[ST_STRIPPED + 1] = {
	[ST_NA] = "n/a",
	[ST_OK] = "ok",
	[ST_NOT_ADVERTISED] = "not-advertised",
	[ST_REFUSED] = "refused",
	[ST_HANDSHAKE_FAILED] = "handshake-failed",
	[ST_STRIPPED] = "stripped",
};

int probe_proto_by_name(const char *name)
{
	for (int i = 0; i < PROTO__N; i++)
		if (!strcmp(name, probe_proto_names[i]))
			return i;
	return -1;
}

/*
 * The port a service is probed on. A service of two ports has its control connection on the
 * higher one, as FTP's 20/21: ftps is 989 (data) and 990 (control), and only the control
 * port answers a new connection.
 */
static uint16_t probe_port(const struct service *svc)
{
	return svc->ports[0].hi;
}

int probe_fail(const struct probe_diag *pd, const struct loc *at, int err, const char *fmt, ...)
{
	void (*add)(struct diag *, const struct loc *, const char *, ...) =
		pd->level == DIAG_ERROR ? diag_error : diag_warning;
	char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (pd->probe)
		add(pd->d, at ? at : &pd->loc, "probe '%s': %s", pd->probe,
		    msg ? msg : "out of memory");
	else
		add(pd->d, at ? at : &pd->loc, "%s", msg ? msg : "out of memory");
	free(msg);
	return err;
}

/* The protocol spoken before TLS: as asked (--starttls), else the catalog's for the port. */
static int target_proto(struct probe_target *t, const struct service *svc,
			const struct target_spec *s, const struct probe_diag *pd)
{
	if (s->starttls) {
		int p = probe_proto_by_name(s->starttls);

		if (p < 0)
			return probe_fail(
				pd, s->starttls_loc, -EINVAL,
				"unknown STARTTLS protocol '%s' (smtp, imap, pop3, ftp, ldap, xmpp, postgres, sieve, nntp or none)",
				s->starttls);
		t->proto = p;
	} else if (svc && svc->tls == TLS_STARTTLS && svc->starttls) {
		int p = probe_proto_by_name(svc->starttls);

		t->proto = p < 0 ? PROTO_IMPLICIT : p;
	} else if (svc && svc->tls == TLS_IMPLICIT) {
		t->proto = PROTO_IMPLICIT;
	} else {
		return probe_fail(
			pd, NULL, -EINVAL,
			"target '%s': the catalog has no TLS mode for this port; say --starttls PROTO or --starttls none",
			s->spec);
	}
	return 0;
}

int probe_target_parse(struct probe_target *t, const struct target_spec *s,
		       const struct probe_diag *pd)
{
	const char *spec = s->spec, *colon, *port_s;
	const struct service *svc = NULL;
	struct in6_addr a6;
	struct in_addr a4;
	size_t hl;
	int rc;

	memset(t, 0, sizeof(*t));
	t->min_tls = TLS1_2_VERSION;
	t->verify = true;
	if (strlen(spec) >= sizeof(t->spec))
		return probe_fail(pd, NULL, -EINVAL, "target '%.40s...' is too long", spec);
	snprintf(t->spec, sizeof(t->spec), "%s", spec);
	if (spec[0] == '[') {
		const char *rb = strchr(spec, ']');

		if (!rb || rb[1] != ':')
			return probe_fail(pd, NULL, -EINVAL,
					  "target '%s': write an IPv6 address as [addr]:port",
					  spec);
		hl = rb - spec - 1;
		memcpy(t->host, spec + 1, hl);
		t->host[hl] = '\0';
		if (inet_pton(AF_INET6, t->host, &a6) != 1)
			return probe_fail(pd, NULL, -EINVAL, "target '%s': not an IPv6 address",
					  spec);
		port_s = rb + 2;
	} else {
		colon = strrchr(spec, ':');
		if (!colon || colon == spec)
			return probe_fail(
				pd, NULL, -EINVAL,
				"target '%s': expected host:port, [v6addr]:port or host:service",
				spec);
		if (memchr(spec, ':', colon - spec))
			return probe_fail(pd, NULL, -EINVAL,
					  "target '%s': write an IPv6 address as [addr]:port",
					  spec);
		hl = colon - spec;
		memcpy(t->host, spec, hl);
		t->host[hl] = '\0';
		port_s = colon + 1;
	}
	if (!*t->host)
		return probe_fail(pd, NULL, -EINVAL, "target '%s': empty host", spec);
	if (*port_s >= '0' && *port_s <= '9') {
		char *end;
		unsigned long p = strtoul(port_s, &end, 10);

		if (*end || p == 0 || p > 65535)
			return probe_fail(pd, NULL, -EINVAL, "target '%s': port must be 1-65535",
					  spec);
		t->port = p;
		svc = catalog_by_tcp_port(t->port);
	} else {
		svc = catalog_find(port_s);
		if (!svc || !svc->n_ports || svc->ports[0].proto != IPPROTO_TCP)
			return probe_fail(pd, NULL, -EINVAL,
					  "target '%s': unknown TCP service (see `tlsfw services`)",
					  spec);
		t->port = probe_port(svc);
	}
	t->host_is_addr =
		inet_pton(AF_INET, t->host, &a4) == 1 || inet_pton(AF_INET6, t->host, &a6) == 1;
	if (!t->host_is_addr)
		snprintf(t->name, sizeof(t->name), "%s", t->host);
	rc = target_proto(t, svc, s, pd);
	if (rc)
		return rc;
	/* Submission exists for authenticated clients: plaintext there is never fine. */
	t->require_tls = t->proto == PROTO_SMTP && t->port == 587;
	return 0;
}
