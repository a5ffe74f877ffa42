/* SPDX-License-Identifier: GPL-2.0 */
/* libcurl, opened on first use (lazylib.h). Include after <curl/curl.h>. */
#ifndef TLSFW_LAZY_CURL_H
#define TLSFW_LAZY_CURL_H

#include "lazylib.h"

#define LAZY_CURL_FNS(X)       \
	X(curl_global_init)    \
	X(curl_global_cleanup) \
	X(curl_easy_init)      \
	X(curl_easy_setopt)    \
	X(curl_easy_getinfo)   \
	X(curl_easy_perform)   \
	X(curl_easy_cleanup)   \
	X(curl_easy_strerror)

struct lazy_curl {
	LAZY_CURL_FNS(LAZYLIB_MEMBER)
};

const struct lazy_curl *lazy_curl(void);

#ifndef LAZYLIB_TABLES
/* curl's own type-checking wrappers of these two would call the library directly */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#define curl_global_init (lazy_curl()->curl_global_init)
#define curl_global_cleanup (lazy_curl()->curl_global_cleanup)
#define curl_easy_init (lazy_curl()->curl_easy_init)
#define curl_easy_setopt (lazy_curl()->curl_easy_setopt)
#define curl_easy_getinfo (lazy_curl()->curl_easy_getinfo)
#define curl_easy_perform (lazy_curl()->curl_easy_perform)
#define curl_easy_cleanup (lazy_curl()->curl_easy_cleanup)
#define curl_easy_strerror (lazy_curl()->curl_easy_strerror)
#endif

#endif
