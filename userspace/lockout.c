// SPDX-License-Identifier: GPL-2.0
/* The lock-out guard; see lockout.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "lockout.h"

int lockout_session(const char *s, struct explain_pkt *pkt, struct diag *d)
{
	char cip[64], sip[64], cport[8], sport[8], src[80], dst[80], why[200];
	const char *argv[3] = { "tcp", src, dst };

	if (!s || !*s)
		return -ENOENT;
	if (sscanf(s, "%63s %7s %63s %7s", cip, cport, sip, sport) != 4) {
		diag_warning(
			d, NULL,
			"SSH_CONNECTION '%.80s' is not 'client_ip client_port server_ip server_port': the lock-out guard cannot check this session",
			s);
		return -EINVAL;
	}
	/* sshd on a dual-stack socket writes IPv4 clients as ::ffff:a.b.c.d */
	for (int i = 0; i < 2; i++) {
		const char *ip = i ? sip : cip;

		if (!strncasecmp(ip, "::ffff:", 7) && strchr(ip + 7, '.'))
			ip += 7;
		snprintf(i ? dst : src, sizeof(src), strchr(ip, ':') ? "[%s]:%s" : "%s:%s", ip,
			 i ? sport : cport);
	}
	/* why the packet parser refuses is about its own arguments, not the variable */
	if (explain_pkt_parse(pkt, argv, why, sizeof(why))) {
		diag_warning(
			d, NULL,
			"SSH_CONNECTION '%.80s' holds no addresses and ports tlsfw can read: the lock-out guard cannot check this session",
			s);
		return -EINVAL;
	}
	return 0;
}

/* One diagnostic for one (rule or default, where) that refuses the session. */
static void report(const struct policy *pol, const struct plan *pl, const struct explain *e,
		   const struct explain_pkt *pkt, enum diag_level level, struct diag *d)
{
	const struct loc *at = &pol->default_loc;
	char what[96], p[160], msg[400];

	explain_pkt_str(pkt, p, sizeof(p));
	if (e->rule >= 0) {
		snprintf(what, sizeof(what), "rule '%s'", e->decided.name);
		at = &pl->rules[e->rule].name_loc;
	} else {
		snprintf(what, sizeof(what), "default: %s", pol_action_names[e->default_action]);
	}
	snprintf(msg, sizeof(msg), "%s would %s the SSH session this command runs in (%s)%s", what,
		 e->verdict == TLSFW_ACT_REJECT ? "reject" : "drop", p,
		 level == DIAG_ERROR ? "; nothing applied (apply --force enforces it anyway)" :
				       ": applying it from this session would lock you out");
	if (level == DIAG_ERROR)
		diag_error(d, at, "%s", msg);
	else
		diag_warning(d, at, "%s", msg);
}

int lockout_check(const struct policy *pol, const struct plan *pl, const struct explain_pkt *pkt,
		  enum diag_level level, struct diag *d)
{
	bool *seen = calloc(pl->n_rules + 1, sizeof(*seen)); /* [n_rules]: the default */
	int n = 0;

	if (!seen)
		return -ENOMEM;
	for (size_t i = 0; i < pl->n_ifaces; i++) {
		for (uint8_t dir = TLSFW_DIR_INGRESS; dir <= TLSFW_DIR_EGRESS; dir++) {
			struct explain_pkt at = *pkt;
			struct explain e;
			size_t k;

			snprintf(at.ifname, sizeof(at.ifname), "%s", pl->ifaces[i].name);
			at.dir = dir;
			if (explain_plan(pl, &at, &e)) {
				free(seen);
				return -ENOMEM;
			}
			k = e.rule >= 0 ? (size_t)e.rule : pl->n_rules;
			if (e.hooked && e.verdict != TLSFW_ACT_ALLOW && !seen[k]) {
				seen[k] = true;
				report(pol, pl, &e, &at, level, d);
				n++;
			}
			explain_free(&e);
		}
	}
	free(seen);
	return n;
}

int lockout_guard(const struct compiled *c, const char *ssh_connection, enum diag_level level,
		  struct diag *d)
{
	struct explain_pkt pkt;

	if (lockout_session(ssh_connection, &pkt, d))
		return 0; /* not under SSH, or a warning in d: never a refusal */
	return lockout_check(&c->pol, &c->plan, &pkt, level, d);
}
