/* SPDX-License-Identifier: GPL-2.0 */
/* libunbound, opened on first use (lazylib.h). Include after <unbound.h>. */
#ifndef TLSFW_LAZY_UNBOUND_H
#define TLSFW_LAZY_UNBOUND_H

#include "lazylib.h"

#define LAZY_UNBOUND_FNS(X)   \
	X(ub_ctx_create)      \
	X(ub_ctx_delete)      \
	X(ub_ctx_set_option)  \
	X(ub_ctx_resolvconf)  \
	X(ub_ctx_add_ta_file) \
	X(ub_ctx_async)       \
	X(ub_resolve_async)   \
	X(ub_resolve_free)    \
	X(ub_process)         \
	X(ub_fd)              \
	X(ub_cancel)          \
	X(ub_strerror)

struct lazy_unbound {
	LAZY_UNBOUND_FNS(LAZYLIB_MEMBER)
};

const struct lazy_unbound *lazy_unbound(void);

#ifndef LAZYLIB_TABLES
#define ub_ctx_create (lazy_unbound()->ub_ctx_create)
#define ub_ctx_delete (lazy_unbound()->ub_ctx_delete)
#define ub_ctx_set_option (lazy_unbound()->ub_ctx_set_option)
#define ub_ctx_resolvconf (lazy_unbound()->ub_ctx_resolvconf)
#define ub_ctx_add_ta_file (lazy_unbound()->ub_ctx_add_ta_file)
#define ub_ctx_async (lazy_unbound()->ub_ctx_async)
#define ub_resolve_async (lazy_unbound()->ub_resolve_async)
#define ub_resolve_free (lazy_unbound()->ub_resolve_free)
#define ub_process (lazy_unbound()->ub_process)
#define ub_fd (lazy_unbound()->ub_fd)
#define ub_cancel (lazy_unbound()->ub_cancel)
#define ub_strerror (lazy_unbound()->ub_strerror)
#endif

#endif
