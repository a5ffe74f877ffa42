// SPDX-License-Identifier: GPL-2.0
/*
 * Opening the libraries of lazylib.h on first use. The SONAMEs come from the build (the
 * Makefile reads them from the libraries the headers belong to), so the functions resolved
 * are those of the ABI the code was compiled against.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include <curl/curl.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <unbound.h>

#define LAZYLIB_TABLES
#include "lazy_curl.h"
#include "lazy_gnutls.h"
#include "lazy_microhttpd.h"
#include "lazy_openssl.h"
#include "lazy_unbound.h"

void lazylib_open(struct lazylib *l)
{
	void *h;

	if (l->opened)
		return;
	/* RTLD_NOW: a missing function is found here, not at some later call */
	h = dlopen(l->soname, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "tlsfw: %s needs %s, which cannot be opened: %s\n", l->need,
			l->soname, dlerror());
		exit(1);
	}
	for (size_t i = 0; i < l->n; i++) {
		l->fns[i] = dlsym(h, l->names[i]);
		if (!l->fns[i]) {
			fprintf(stderr, "tlsfw: %s: %s lacks %s (built against another version?)\n",
				l->need, l->soname, l->names[i]);
			exit(1);
		}
	}
	l->opened = 1;
}

/* One table per library: names from the same list as the struct's members, so they line up. */
#define NAME(f) #f,
#define LAZYLIB_TABLE(lib, LIST, so, what)                                                       \
	const struct lazy_##lib *lazy_##lib(void)                                                \
	{                                                                                        \
		static struct lazy_##lib fns;                                                    \
		static const char *const names[] = { LIST(NAME) };                               \
		static struct lazylib l = { .soname = so,                                        \
					    .need = what,                                        \
					    .names = names,                                      \
					    .fns = (void **)&fns,                                \
					    .n = sizeof(names) / sizeof(names[0]) };             \
                                                                                                 \
		_Static_assert(sizeof(fns) == sizeof(names), #lib ": one pointer per function"); \
		lazylib_open(&l);                                                                \
		return &fns;                                                                     \
	}

LAZYLIB_TABLE(curl, LAZY_CURL_FNS, TLSFW_SONAME_CURL, "an MTA-STS policy fetch")
LAZYLIB_TABLE(unbound, LAZY_UNBOUND_FNS, TLSFW_SONAME_UNBOUND, "a probe's DNS lookup")
LAZYLIB_TABLE(microhttpd, LAZY_MICROHTTPD_FNS, TLSFW_SONAME_MICROHTTPD,
	      "the metrics endpoint (stats --listen)")
LAZYLIB_TABLE(gnutls, LAZY_GNUTLS_FNS, TLSFW_SONAME_GNUTLS,
	      "the metrics endpoint's TLS (--web-config)")
LAZYLIB_TABLE(ssl, LAZY_SSL_FNS, TLSFW_SONAME_SSL, "a TLS probe")
LAZYLIB_TABLE(crypto, LAZY_CRYPTO_FNS, TLSFW_SONAME_CRYPTO,
	      "a TLS probe or the metrics endpoint's password check")
