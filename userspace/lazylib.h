/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Libraries that only some commands use, opened on first use instead of at process start:
 * libcurl (MTA-STS policy fetches), libunbound (the DNS of probes), libmicrohttpd and GnuTLS
 * (the metrics endpoint), OpenSSL (probes' TLS, the endpoint's password cache). Linked as
 * usual, the first four and the 27 libraries they pull in cost every tlsfw process about
 * 10 M instructions in the dynamic loader before main() (callgrind: a 1-rule `tlsfw apply`
 * took 22 M instructions, `nft -f` of the same ruleset 3.3 M), which made the nftables
 * backend slower than `nft -f` for small policies; OpenSSL cost 3.5 ms more (lazy_openssl.h;
 * issue 14; Documentation/performance.md, "Process start").
 *
 * A file that calls such a library includes the library's header, then lazy_<lib>.h: that
 * header turns each function the file calls into a call through the table lazylib.c fills
 * from dlopen() on first use, so the call sites read as ordinary library calls. A library
 * that cannot be opened ends the process with exit status 1 and a message naming the library
 * and the command's need for it (before, the dynamic loader refused to start tlsfw at all).
 */
#ifndef TLSFW_LAZYLIB_H
#define TLSFW_LAZYLIB_H

#include <stddef.h>

/* One library: its file name (SONAME) and the functions tlsfw takes from it. */
struct lazylib {
	const char *soname;
	const char *need;	  /* what needs it, for the error: "MTA-STS policy fetches" */
	const char *const *names; /* function names, in the order of fns */
	void **fns;
	size_t n;
	int opened;
};

/* Open l and resolve every function once; exits with status 1 if that fails. */
void lazylib_open(struct lazylib *l);

/* For the lazy_<lib>.h headers: a table member with the exact type of the function f. */
#define LAZYLIB_MEMBER(f) __typeof__(&f) f;

#endif
