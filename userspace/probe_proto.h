/* SPDX-License-Identifier: GPL-2.0 */
/* The plaintext part of each STARTTLS protocol: greeting, capabilities, the upgrade. */
#ifndef TLSFW_PROBE_PROTO_H
#define TLSFW_PROBE_PROTO_H

#include "probe_io.h"

/* What the plaintext dialogue learnt; one per connection. */
struct pdlg {
	struct pio *c;
	const struct probe_target *t;
	struct pp_reply greet; /* greeting (first line kept in greet.text) */
	struct pp_reply caps;  /* capabilities as advertised before TLS */
	bool adv_known;	       /* the protocol advertises STARTTLS at all */
	bool advertised;
	bool tls_required_adv;	      /* the server says so (XMPP <required/>) */
	enum probe_status plain_auth; /* PS_NA when the protocol cannot tell */
	char plain_auth_ev[192];
	int busy; /* the server said "try later" (421 or equivalent) */
};

/* Greeting and capabilities. -EAGAIN: the server is busy (retry later); other errors leave
 * a message in c->err. */
int dlg_greet(struct pdlg *d);
/* Is there an injection test (a command whose answer inside TLS we recognise)? */
bool dlg_can_inject(enum probe_proto proto);
/* Send the protocol's STARTTLS, with inject (pipelined in the same write, may be NULL). 1:
 * accepted, 0: refused (r holds the answer), <0: error. */
int dlg_starttls(struct pdlg *d, bool inject, struct pp_reply *r);
/* After the handshake of a connection whose STARTTLS carried an injected command: 1 when the
 * server answered the injected command inside TLS (vulnerable), 0 when it did not. */
int dlg_injection_answered(struct pdlg *d, char *ev, size_t evlen);
/* SMTP: begin a transaction in plaintext (after dlg_greet). 1: refused as TLS is required
 * (r->code 530), 0: accepted or refused for another reason (r holds the reply). */
int dlg_plain_transaction(struct pdlg *d, struct pp_reply *r);
/* The first line of a reply text, quoted for evidence. */
void dlg_first_line(const struct pp_reply *r, char *out, size_t len);

#endif
