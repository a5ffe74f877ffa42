/* SPDX-License-Identifier: GPL-2.0 */
/* libmicrohttpd, opened on first use (lazylib.h). Include after <microhttpd.h>. */
#ifndef TLSFW_LAZY_MICROHTTPD_H
#define TLSFW_LAZY_MICROHTTPD_H

#include "lazylib.h"

#define LAZY_MICROHTTPD_FNS(X)                  \
	X(MHD_start_daemon)                     \
	X(MHD_stop_daemon)                      \
	X(MHD_run)                              \
	X(MHD_get_timeout)                      \
	X(MHD_get_daemon_info)                  \
	X(MHD_add_connection)                   \
	X(MHD_get_connection_info)              \
	X(MHD_is_feature_supported)             \
	X(MHD_create_response_from_buffer)      \
	X(MHD_add_response_header)              \
	X(MHD_queue_response)                   \
	X(MHD_destroy_response)                 \
	X(MHD_basic_auth_get_username_password) \
	X(MHD_queue_basic_auth_fail_response)   \
	X(MHD_suspend_connection)               \
	X(MHD_resume_connection)                \
	X(MHD_free)

struct lazy_microhttpd {
	LAZY_MICROHTTPD_FNS(LAZYLIB_MEMBER)
};

const struct lazy_microhttpd *lazy_microhttpd(void);

#ifndef LAZYLIB_TABLES
#define MHD_start_daemon (lazy_microhttpd()->MHD_start_daemon)
#define MHD_stop_daemon (lazy_microhttpd()->MHD_stop_daemon)
#define MHD_run (lazy_microhttpd()->MHD_run)
#define MHD_get_timeout (lazy_microhttpd()->MHD_get_timeout)
#define MHD_get_daemon_info (lazy_microhttpd()->MHD_get_daemon_info)
#define MHD_add_connection (lazy_microhttpd()->MHD_add_connection)
#define MHD_get_connection_info (lazy_microhttpd()->MHD_get_connection_info)
#define MHD_is_feature_supported (lazy_microhttpd()->MHD_is_feature_supported)
#define MHD_create_response_from_buffer (lazy_microhttpd()->MHD_create_response_from_buffer)
#define MHD_add_response_header (lazy_microhttpd()->MHD_add_response_header)
#define MHD_queue_response (lazy_microhttpd()->MHD_queue_response)
#define MHD_destroy_response (lazy_microhttpd()->MHD_destroy_response)
#define MHD_basic_auth_get_username_password \
	(lazy_microhttpd()->MHD_basic_auth_get_username_password)
#define MHD_queue_basic_auth_fail_response (lazy_microhttpd()->MHD_queue_basic_auth_fail_response)
#define MHD_suspend_connection (lazy_microhttpd()->MHD_suspend_connection)
#define MHD_resume_connection (lazy_microhttpd()->MHD_resume_connection)
#define MHD_free (lazy_microhttpd()->MHD_free)
#endif

#endif
