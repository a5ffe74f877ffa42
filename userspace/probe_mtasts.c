// SPDX-License-Identifier: GPL-2.0
/*
 * Fetching an MTA-STS policy (RFC 8461 3.3) with libcurl. The rules that make a policy
 * trustworthy are the fetch's: HTTPS with a certificate valid for mta-sts.<domain> (from
 * the same trust store as every other certificate the probe checks: --ca, else the
 * system's), no redirects, status 200, media type text/plain, a bounded size.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include "lazy_curl.h"

#include "probe_io.h"
#include "probe_mailrec.h"

static size_t collect(char *data, size_t size, size_t n, void *arg)
{
	struct sts_fetch *f = arg;
	size_t len = size * n;
	char *b;

	if (f->len + len > STS_POLICY_MAX) {
		snprintf(f->error, sizeof(f->error), "the policy is larger than %d bytes",
			 STS_POLICY_MAX);
		return 0; /* aborts the transfer */
	}
	b = realloc(f->body, f->len + len + 1);
	if (!b)
		return 0;
	memcpy(b + f->len, data, len);
	f->body = b;
	f->len += len;
	b[f->len] = '\0';
	return len;
}

static void set_options(CURL *h, const struct probe_opts *o, struct sts_fetch *f, char *cerr)
{
	curl_easy_setopt(h, CURLOPT_URL, f->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (o->ca_file) {
		/* --ca is the whole trust store: not added to the system's */
		curl_easy_setopt(h, CURLOPT_CAINFO, o->ca_file);
		curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
	}
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)o->timeout_ms);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 2L * o->timeout_ms);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "tlsfw-probe");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
}

/* What the response says about the policy: "" when it is one. */
static void judge(CURL *h, struct sts_fetch *f)
{
	char *ct = NULL, *loc = NULL;
	size_t n;

	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &f->http_status);
	curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
	snprintf(f->content_type, sizeof(f->content_type), "%s", ct ? ct : "");
	if (f->http_status >= 300 && f->http_status < 400) {
		curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &loc);
		snprintf(f->error, sizeof(f->error),
			 "HTTP %ld redirect to %.100s: RFC 8461 3.3 forbids following it",
			 f->http_status, loc ? loc : "?");
		return;
	}
	if (f->http_status != 200) {
		snprintf(f->error, sizeof(f->error), "HTTP %ld, expected 200", f->http_status);
		return;
	}
	n = strcspn(f->content_type, "; \t");
	if (n != 10 || strncasecmp(f->content_type, "text/plain", 10))
		snprintf(f->error, sizeof(f->error), "media type '%s', expected text/plain",
			 ct ? f->content_type : "(none)");
	else if (!f->body)
		snprintf(f->error, sizeof(f->error), "empty policy");
}

int sts_fetch(const char *domain, const struct probe_opts *o, struct sts_fetch *f)
{
	char cerr[CURL_ERROR_SIZE] = "";
	uint64_t start = pio_now_ms();
	CURL *h = curl_easy_init();
	CURLcode rc;

	memset(f, 0, sizeof(*f));
	snprintf(f->url, sizeof(f->url), "https://mta-sts.%s/.well-known/mta-sts.txt", domain);
	if (!h) {
		snprintf(f->error, sizeof(f->error), "cannot start libcurl");
		return -ENOMEM;
	}
	set_options(h, o, f, cerr);
	rc = curl_easy_perform(h);
	if (rc != CURLE_OK && !f->error[0])
		snprintf(f->error, sizeof(f->error), "%s", cerr[0] ? cerr : curl_easy_strerror(rc));
	else if (rc == CURLE_OK)
		judge(h, f);
	curl_easy_cleanup(h);
	f->elapsed_ms = pio_now_ms() - start;
	return f->error[0] ? -EIO : 0;
}

void sts_fetch_free(struct sts_fetch *f)
{
	free(f->body);
	f->body = NULL;
}
