// SPDX-License-Identifier: GPL-2.0
/*
 * DNS through libunbound. The resolvers of resolv.conf are forwarders only: libunbound asks
 * them for the records and the signatures (with CD set, so that a validating forwarder hands
 * over bogus data too) and validates itself from the trust anchors, so a bogus answer is
 * told apart from a failing server. Queries run asynchronously on libunbound's thread; the
 * caller waits on its file descriptor under one deadline, so that no resolver retry schedule
 * outlasts --timeout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <unbound.h>
#include "lazy_unbound.h"

#include "probe_dns.h"
#include "probe_io.h"

#define DNS_MAX_PENDING 256 /* queries in flight in one context */

const char *const dns_sec_names[3] = { "insecure", "secure", "bogus" };

struct dns_ctx {
	struct ub_ctx *ub;
	struct dns_answer *pending[DNS_MAX_PENDING];
	size_t n_pending;
};

static int ub_fail(const struct probe_diag *pd, const char *what, const char *arg, int ret)
{
	return probe_fail(pd, NULL, -EINVAL, "%s%s%s: %s", what, arg ? " " : "", arg ? arg : "",
			  ub_strerror(ret));
}

static int load_anchors(struct ub_ctx *ub, const struct dns_opts *o, const struct probe_diag *pd)
{
	int ret;

	for (size_t i = 0; i < o->n_anchors; i++) {
		if (access(o->anchors[i], R_OK))
			return probe_fail(pd, NULL, -ENOENT, "cannot read trust anchor file %s: %s",
					  o->anchors[i], strerror(errno));
		ret = ub_ctx_add_ta_file(ub, o->anchors[i]);
		if (ret)
			return ub_fail(pd, "trust anchor file", o->anchors[i], ret);
	}
	if (!o->root_anchor)
		return 0;
	if (access(o->root_anchor, R_OK)) {
		if (o->n_anchors) /* private zones only: the rest is insecure, and says so */
			return 0;
		return probe_fail(
			pd, NULL, -ENOENT,
			"no DNSSEC trust anchor: cannot read %s (%s; on Debian: dns-root-data) and no --trust-anchor given",
			o->root_anchor, strerror(errno));
	}
	ret = ub_ctx_add_ta_file(ub, o->root_anchor);
	return ret ? ub_fail(pd, "root trust anchor", o->root_anchor, ret) : 0;
}

int dns_new(struct dns_ctx **out, const struct dns_opts *o, const struct probe_diag *pd)
{
	struct dns_ctx *c = calloc(1, sizeof(*c));
	int ret;

	if (!c || !(c->ub = ub_ctx_create())) {
		free(c);
		return probe_fail(pd, NULL, -ENOMEM, "cannot create a resolver context");
	}
	/* a thread, not libunbound's default of a forked process: the prober has threads */
	ret = ub_ctx_async(c->ub, 1);
	if (ret) {
		ret = ub_fail(pd, "resolver", NULL, ret);
		goto err;
	}
	/* resolv.conf may name a resolver on loopback (systemd-resolved, a local unbound) */
	ret = ub_ctx_set_option(c->ub, "do-not-query-localhost:", "no");
	if (!ret)
		ret = ub_ctx_resolvconf(c->ub, NULL);
	if (ret) {
		ret = ub_fail(pd, "cannot use /etc/resolv.conf", NULL, ret);
		goto err;
	}
	ret = load_anchors(c->ub, o, pd);
	if (ret)
		goto err;
	*out = c;
	return 0;
err:
	ub_ctx_delete(c->ub);
	free(c);
	return ret;
}

void dns_free(struct dns_ctx *c)
{
	if (!c)
		return;
	ub_ctx_delete(c->ub);
	free(c);
}

static void forget(struct dns_ctx *c, struct dns_answer *a)
{
	for (size_t i = 0; i < c->n_pending; i++) {
		if (c->pending[i] != a)
			continue;
		c->pending[i] = c->pending[--c->n_pending];
		return;
	}
}

static void answered(void *arg, int err, struct ub_result *res)
{
	struct dns_answer *a = arg;

	a->done = true;
	forget(a->ctx, a);
	if (err || !res) {
		a->rcode = -1;
		snprintf(a->why, sizeof(a->why), "%s", err ? ub_strerror(err) : "no result");
		ub_resolve_free(res);
		return;
	}
	a->res = res;
	a->rcode = res->rcode;
	a->sec = res->bogus ? DNS_BOGUS : res->secure ? DNS_SECURE : DNS_INSECURE;
	a->havedata = res->havedata && !res->bogus;
	if (res->bogus)
		snprintf(a->why, sizeof(a->why), "%s",
			 res->why_bogus ? res->why_bogus : "validation failed");
}

int dns_submit(struct dns_ctx *c, struct dns_answer *a, const char *name, uint16_t type)
{
	int ret;

	memset(a, 0, sizeof(*a));
	snprintf(a->name, sizeof(a->name), "%s", name);
	a->type = type;
	a->ctx = c;
	a->rcode = -1;
	if (c->n_pending == DNS_MAX_PENDING) {
		a->done = true;
		snprintf(a->why, sizeof(a->why), "too many queries at once");
		return -ENOSPC;
	}
	ret = ub_resolve_async(c->ub, name, type, 1, a, answered, &a->async_id);
	if (ret) {
		a->done = true;
		snprintf(a->why, sizeof(a->why), "%s", ub_strerror(ret));
		return -EIO;
	}
	c->pending[c->n_pending++] = a;
	return 0;
}

int dns_wait(struct dns_ctx *c, uint64_t deadline)
{
	struct pollfd p = { .fd = ub_fd(c->ub), .events = POLLIN };

	while (c->n_pending) {
		uint64_t now = pio_now_ms();
		int n;

		if (now >= deadline)
			break;
		n = poll(&p, 1, (int)(deadline - now));
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0 && ub_process(c->ub))
			return -EIO;
	}
	while (c->n_pending) {
		struct dns_answer *a = c->pending[--c->n_pending];

		ub_cancel(c->ub, a->async_id);
		a->done = true;
		snprintf(a->why, sizeof(a->why), "no answer in time");
	}
	return 0;
}

const char *dns_canonical(const struct dns_answer *a, char *out, size_t len)
{
	const char *c = dns_has_data(a) ? a->res->canonname : NULL;
	size_t n = c ? strlen(c) : 0;

	if (n && c[n - 1] == '.')
		n--;
	if (!c || (strlen(a->name) == n && !strncasecmp(c, a->name, n)))
		n = 0;
	snprintf(out, len, "%.*s", (int)n, c ? c : "");
	return out;
}

void dns_answer_free(struct dns_answer *a)
{
	ub_resolve_free(a->res);
	a->res = NULL;
}

bool dns_has_data(const struct dns_answer *a)
{
	return a->done && a->rcode == 0 && a->havedata && a->res;
}

size_t dns_count(const struct dns_answer *a)
{
	size_t n = 0;

	if (!dns_has_data(a))
		return 0;
	while (a->res->data[n])
		n++;
	return n;
}

const uint8_t *dns_rdata(const struct dns_answer *a, size_t i, size_t *len)
{
	*len = a->res->len[i];
	return (const uint8_t *)a->res->data[i];
}

const char *dns_type_name(uint16_t type)
{
	switch (type) {
	case DNS_T_A:
		return "A";
	case DNS_T_CNAME:
		return "CNAME";
	case DNS_T_MX:
		return "MX";
	case DNS_T_TXT:
		return "TXT";
	case DNS_T_AAAA:
		return "AAAA";
	case DNS_T_TLSA:
		return "TLSA";
	default:
		return "such";
	}
}

void dns_describe(const struct dns_answer *a, char *out, size_t len)
{
	static const char *const rcodes[] = { "NOERROR",  "FORMERR", "SERVFAIL",
					      "NXDOMAIN", "NOTIMP",  "REFUSED" };

	if (a->rcode < 0)
		snprintf(out, len, "no answer: %s", a->why);
	else if (a->sec == DNS_BOGUS)
		snprintf(out, len, "bogus: %s", a->why);
	else if (a->rcode == 0 && a->havedata)
		snprintf(out, len, "%s", dns_sec_names[a->sec]);
	else if (a->rcode == 0)
		snprintf(out, len, "no %s record (%s)", dns_type_name(a->type),
			 dns_sec_names[a->sec]);
	else if (a->rcode == 3)
		snprintf(out, len, "NXDOMAIN (%s)", dns_sec_names[a->sec]);
	else if (a->rcode < (int)(sizeof(rcodes) / sizeof(rcodes[0])))
		snprintf(out, len, "%s", rcodes[a->rcode]);
	else
		snprintf(out, len, "RCODE %d", a->rcode);
}

/* ---- RDATA ------------------------------------------------------------------------------ */

/* Append n bytes, keeping room for the final NUL. */
static int put(char *out, size_t outlen, size_t *o, const void *s, size_t n)
{
	if (*o + n >= outlen)
		return -ENAMETOOLONG;
	memcpy(out + *o, s, n);
	*o += n;
	return 0;
}

static bool ldh(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '-' || ch == '_';
}

int dns_name_text(const uint8_t *p, size_t len, size_t *used, char *out, size_t outlen)
{
	size_t i = 0, o = 0, total = 1;
	char esc[5];
	int ret;

	if (!outlen)
		return -ENAMETOOLONG;
	for (;;) {
		size_t l;

		if (i >= len)
			return -EBADMSG;
		l = p[i++];
		if (!l)
			break;
		/* compression pointers and extended labels never occur in RDATA from libunbound */
		if (l > 63 || i + l > len || (total += l + 1) > 255)
			return -EBADMSG;
		if (o && (ret = put(out, outlen, &o, ".", 1)))
			return ret;
		for (size_t k = 0; k < l; k++, i++) {
			if (ldh(p[i])) {
				ret = put(out, outlen, &o, &p[i], 1);
			} else {
				snprintf(esc, sizeof(esc), "\\%03u", p[i]);
				ret = put(out, outlen, &o, esc, 4);
			}
			if (ret)
				return ret;
		}
	}
	out[o] = '\0';
	if (used)
		*used = i;
	return 0;
}

int dns_mx(const uint8_t *rd, size_t len, uint16_t *pref, char *host, size_t hostlen)
{
	size_t used;
	int ret;

	if (len < 3)
		return -EBADMSG;
	*pref = (uint16_t)(rd[0] << 8 | rd[1]);
	ret = dns_name_text(rd + 2, len - 2, &used, host, hostlen);
	if (ret)
		return ret;
	return used == len - 2 ? 0 : -EBADMSG;
}

int dns_txt(const uint8_t *rd, size_t len, char *out, size_t outlen)
{
	size_t i = 0, o = 0;

	if (!len || !outlen)
		return -EBADMSG;
	while (i < len) {
		size_t l = rd[i++];

		if (i + l > len)
			return -EBADMSG;
		if (memchr(rd + i, '\0', l))
			return -EBADMSG;
		if (o + l >= outlen)
			return -ENAMETOOLONG;
		memcpy(out + o, rd + i, l);
		o += l;
		i += l;
	}
	out[o] = '\0';
	return 0;
}

int dns_tlsa(const uint8_t *rd, size_t len, struct dns_tlsa *out)
{
	if (len < 4)
		return -EBADMSG;
	out->usage = rd[0];
	out->selector = rd[1];
	out->mtype = rd[2];
	out->data = rd + 3;
	out->len = len - 3;
	return 0;
}

int dns_addr(uint16_t type, const uint8_t *rd, size_t len, char *out, size_t outlen)
{
	if ((type == DNS_T_A && len != 4) || (type == DNS_T_AAAA && len != 16) ||
	    (type != DNS_T_A && type != DNS_T_AAAA))
		return -EBADMSG;
	if (!inet_ntop(type == DNS_T_A ? AF_INET : AF_INET6, rd, out, outlen))
		return -ENAMETOOLONG;
	return 0;
}
