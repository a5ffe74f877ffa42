/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The lock-out guard: would the policy drop or reject the SSH session this command runs in?
 * The session is SSH_CONNECTION ("client_ip client_port server_ip server_port"); the packet
 * checked is the client's segment to the server, on every interface and direction the policy
 * hooks, decided by the explain engine (explain.h), so the answer is the data plane's.
 * `apply` refuses such a policy (unless --force), `check` warns, both at the deciding rule.
 */
#ifndef TLSFW_LOCKOUT_H
#define TLSFW_LOCKOUT_H

#include <stddef.h>

#include "compile.h"
#include "diag.h"
#include "explain.h"
#include "plan.h"
#include "policy.h"

/* The session's client-to-server segment (no interface, no direction yet) from the value of
 * SSH_CONNECTION. 0; -ENOENT when s is NULL or empty (not under SSH); -EINVAL when it cannot
 * be read, with a warning in d (the guard cannot check the session: never a refusal). */
int lockout_session(const char *s, struct explain_pkt *pkt, struct diag *d);

/*
 * One diagnostic per rule (or the default) that would drop or reject pkt where the policy
 * hooks it: an error (apply) or a warning (check), at the rule's name or at `default:`.
 * Returns how many were added, or -ENOMEM.
 */
int lockout_check(const struct policy *pol, const struct plan *pl, const struct explain_pkt *pkt,
		  enum diag_level level, struct diag *d);

/*
 * The guard as the commands call it, with the value of SSH_CONNECTION (NULL: not under SSH,
 * nothing to check): lockout_check() over every hook of c's plan. A value that cannot be read
 * is a warning, never a refusal. Returns how many diagnostics of level were added, or -ENOMEM.
 */
int lockout_guard(const struct compiled *c, const char *ssh_connection, enum diag_level level,
		  struct diag *d);

#endif
