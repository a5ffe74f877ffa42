// SPDX-License-Identifier: GPL-2.0
/*
 * The plaintext dialogues. Each command is sent only after the previous reply has been read
 * (no pipelining), except the deliberate injection test, which pipelines one command after
 * STARTTLS to see whether the server answers it inside TLS (CVE-2011-0411).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "probe_proto.h"

/* Adapters from the parsers to pio_parser. */
static int p_smtp(const char *b, size_t l, struct pp_reply *r, const void *a)
{
	return pp_smtp_reply(b, l, r);
}

static int p_ftp(const char *b, size_t l, struct pp_reply *r, const void *a)
{
	return pp_ftp_reply(b, l, r);
}

static int p_imap(const char *b, size_t l, struct pp_reply *r, const void *tag)
{
	return pp_imap_reply(b, l, tag, r);
}

static int p_pop3(const char *b, size_t l, struct pp_reply *r, const void *a)
{
	return pp_pop3_reply(b, l, false, r);
}

static int p_pop3_multi(const char *b, size_t l, struct pp_reply *r, const void *a)
{
	return pp_pop3_reply(b, l, true, r);
}

static int p_nntp(const char *b, size_t l, struct pp_reply *r, const void *a)
{
	return pp_nntp_reply(b, l, false, r);
}

static int p_nntp_multi(const char *b, size_t l, struct pp_reply *r, const void *a)
{
	return pp_nntp_reply(b, l, true, r);
}

static int p_sieve(const char *b, size_t l, struct pp_reply *r, const void *a)
{
	return pp_sieve_reply(b, l, r);
}

static int p_ldap(const char *b, size_t l, struct pp_reply *r, const void *a)
{
	return pp_ldap_message(b, l, r);
}

static int p_xmpp(const char *b, size_t l, struct pp_reply *r, const void *a)
{
	return pp_xmpp_reply(b, l, r);
}

static int p_pg(const char *b, size_t l, struct pp_reply *r, const void *a)
{
	return pp_postgres_reply(b, l, r);
}

void dlg_first_line(const struct pp_reply *r, char *out, size_t len)
{
	size_t n = strcspn(r->text, "\n");

	if (n > 120)
		n = 120;
	snprintf(out, len, "%.*s", (int)n, r->text);
}

static int unexpected(struct pdlg *d, const char *what, const struct pp_reply *r)
{
	char l[128];

	dlg_first_line(r, l, sizeof(l));
	if (r->code > 99)
		snprintf(d->c->err, sizeof(d->c->err), "unexpected %s: %d %s", what, r->code, l);
	else
		snprintf(d->c->err, sizeof(d->c->err), "unexpected %s: %s", what, l);
	return -EPROTO;
}

/* Send a command, read its reply. */
static int cmd(struct pdlg *d, const char *line, pio_parser p, const void *arg, struct pp_reply *r)
{
	int ret = pio_sendstr(d->c, line);

	return ret ? ret : pio_read(d->c, p, arg, r);
}

static void plain_auth(struct pdlg *d, bool offered, const char *what)
{
	d->plain_auth = offered ? PS_FAIL : PS_PASS;
	snprintf(d->plain_auth_ev, sizeof(d->plain_auth_ev), "%s", what);
}

/* The capability line that starts with word, for evidence. */
static void cap_line(const struct pp_reply *r, const char *word, char *out, size_t len)
{
	size_t w = strlen(word);

	for (const char *p = r->text; *p;) {
		size_t n = strcspn(p, "\n");

		if (n >= w && !strncasecmp(p, word, w)) {
			snprintf(out, len, "%.*s", (int)(n > 100 ? 100 : n), p);
			return;
		}
		p += n + (p[n] == '\n');
	}
	snprintf(out, len, "%s", word);
}

/*
 * How a line protocol opens: a greeting (busy: the server is refusing for now; ok, ok2: the
 * codes of a greeting to go on with), then a request for its capabilities (caps_ok: the code
 * of a reply that lists them). A server that answers the request otherwise is unexpected when
 * caps_what names the reply; else the request is optional in the protocol and the list is
 * empty. Codes are never 0, so 0 means none.
 */
struct opening {
	pio_parser greet;
	int busy, ok, ok2;
	const char *cmd;
	pio_parser caps;
	const char *tag;
	int caps_ok;
	const char *caps_what;
};

static int open_caps(struct pdlg *d, const struct opening *o)
{
	int ret = pio_read(d->c, o->greet, NULL, &d->greet);

	if (ret)
		return ret;
	if (o->busy && d->greet.code == o->busy) {
		d->busy = 1;
		return -EAGAIN;
	}
	if (d->greet.code != o->ok && (!o->ok2 || d->greet.code != o->ok2))
		return unexpected(d, "greeting", &d->greet);
	ret = cmd(d, o->cmd, o->caps, o->tag, &d->caps);
	if (ret)
		return ret;
	if (d->caps.code != o->caps_ok) {
		if (o->caps_what)
			return unexpected(d, o->caps_what, &d->caps);
		d->caps.text[0] = '\0';
		d->caps.text_len = 0;
	}
	d->adv_known = true;
	return 0;
}

static int smtp_greet(struct pdlg *d)
{
	static const struct opening o = {
		.greet = p_smtp,
		.busy = 421,
		.ok = 220,
		.cmd = "EHLO tlsfw-probe.invalid\r\n",
		.caps = p_smtp,
		.caps_ok = 250,
		.caps_what = "EHLO reply",
	};
	char ev[128], m[192];
	int ret = open_caps(d, &o);

	if (ret)
		return ret;
	d->advertised = pp_has_word(d->caps.text, "STARTTLS", true);
	if (pp_has_word(d->caps.text, "AUTH", true)) {
		cap_line(&d->caps, "AUTH", ev, sizeof(ev));
		snprintf(m, sizeof(m), "offers '%s' before STARTTLS", ev);
		plain_auth(d, true, m);
	} else {
		plain_auth(d, false, "no AUTH offered before STARTTLS");
	}
	return 0;
}

static int imap_greet(struct pdlg *d)
{
	static const struct opening o = {
		.greet = p_imap,
		.busy = PP_BYE,
		.ok = PP_OK,
		.cmd = "tlsfw1 CAPABILITY\r\n",
		.caps = p_imap,
		.tag = "tlsfw1",
		.caps_ok = PP_OK,
		.caps_what = "CAPABILITY reply",
	};
	int ret = open_caps(d, &o);

	if (ret)
		return ret;
	d->advertised = pp_has_word(d->caps.text, "STARTTLS", false);
	if (!pp_has_word(d->caps.text, "LOGINDISABLED", false))
		plain_auth(d, true, "LOGIN allowed before STARTTLS (no LOGINDISABLED)");
	else if (pp_has_word(d->caps.text, "AUTH=PLAIN", false) ||
		 pp_has_word(d->caps.text, "AUTH=LOGIN", false))
		plain_auth(d, true, "AUTH=PLAIN or AUTH=LOGIN offered before STARTTLS");
	else
		plain_auth(d, false, "LOGINDISABLED before STARTTLS");
	return 0;
}

static int pop3_greet(struct pdlg *d)
{
	/* no CAPA: nothing advertised (RFC 2595 needs CAPA) */
	static const struct opening o = {
		.greet = p_pop3,
		.ok = PP_OK,
		.cmd = "CAPA\r\n",
		.caps = p_pop3_multi,
		.caps_ok = PP_OK,
	};
	char ev[128], m[192];
	int ret = open_caps(d, &o);

	if (ret)
		return ret;
	d->advertised = pp_has_word(d->caps.text, "STLS", true);
	if (pp_has_word(d->caps.text, "USER", true)) {
		plain_auth(d, true, "USER offered before STLS");
	} else if (pp_has_word(d->caps.text, "SASL", true) &&
		   (pp_has_word(d->caps.text, "PLAIN", false) ||
		    pp_has_word(d->caps.text, "LOGIN", false))) {
		cap_line(&d->caps, "SASL", ev, sizeof(ev));
		snprintf(m, sizeof(m), "offers '%s' before STLS", ev);
		plain_auth(d, true, m);
	} else {
		plain_auth(d, false, "no USER or plaintext SASL before STLS");
	}
	return 0;
}

static int ftp_greet(struct pdlg *d)
{
	static const struct opening o = {
		.greet = p_ftp,
		.busy = 421,
		.ok = 220,
		.cmd = "FEAT\r\n",
		.caps = p_ftp,
		.caps_ok = 211,
	};
	int ret = open_caps(d, &o);

	if (ret)
		return ret;
	d->advertised = pp_has_word(d->caps.text, "AUTH", true) &&
			(pp_has_word(d->caps.text, "TLS", false) ||
			 pp_has_word(d->caps.text, "TLS;TLS-C", false));
	snprintf(d->plain_auth_ev, sizeof(d->plain_auth_ev),
		 "FTP does not say whether USER works before AUTH TLS");
	return 0;
}

static int nntp_greet(struct pdlg *d)
{
	static const struct opening o = {
		.greet = p_nntp,
		.busy = 400,
		.ok = 200,
		.ok2 = 201,
		.cmd = "CAPABILITIES\r\n",
		.caps = p_nntp_multi,
		.caps_ok = 101,
	};
	int ret = open_caps(d, &o);

	if (ret)
		return ret;
	d->advertised = pp_has_word(d->caps.text, "STARTTLS", true);
	if (pp_has_word(d->caps.text, "AUTHINFO", true) && pp_has_word(d->caps.text, "USER", false))
		plain_auth(d, true, "AUTHINFO USER offered before STARTTLS");
	else
		plain_auth(d, false, "no AUTHINFO USER before STARTTLS");
	return 0;
}

static int sieve_greet(struct pdlg *d)
{
	char ev[128], m[192];
	int ret;

	/* ManageSieve greets with its capabilities */
	ret = pio_read(d->c, p_sieve, NULL, &d->caps);
	if (ret)
		return ret;
	if (d->caps.code == PP_BYE) {
		d->busy = 1;
		return -EAGAIN;
	}
	if (d->caps.code != PP_OK)
		return unexpected(d, "greeting", &d->caps);
	d->greet = d->caps;
	d->adv_known = true;
	d->advertised = pp_has_word(d->caps.text, "STARTTLS", true);
	if (pp_has_word(d->caps.text, "SASL", true) &&
	    (pp_has_word(d->caps.text, "PLAIN", false) ||
	     pp_has_word(d->caps.text, "LOGIN", false))) {
		cap_line(&d->caps, "\"SASL\"", ev, sizeof(ev));
		snprintf(m, sizeof(m), "offers %s before STARTTLS", ev);
		plain_auth(d, true, m);
	} else {
		plain_auth(d, false, "no plaintext SASL before STARTTLS");
	}
	return 0;
}

static int xmpp_greet(struct pdlg *d)
{
	char hdr[512];
	int ret;

	snprintf(hdr, sizeof(hdr),
		 "<?xml version='1.0'?><stream:stream to='%s' xmlns='jabber:client' "
		 "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>",
		 d->t->name[0] ? d->t->name : d->t->host);
	ret = pio_sendstr(d->c, hdr);
	if (ret)
		return ret;
	ret = pio_read(d->c, p_xmpp, NULL, &d->caps);
	if (ret)
		return ret;
	if (d->caps.code != PP_OK)
		return unexpected(d, "stream start", &d->caps);
	snprintf(d->greet.text, sizeof(d->greet.text), "stream features received");
	d->adv_known = true;
	d->advertised = pp_has_word(d->caps.text, "starttls", false);
	d->tls_required_adv = d->advertised && pp_has_word(d->caps.text, "required", false);
	if (pp_has_word(d->caps.text, "PLAIN", false))
		plain_auth(d, true, "SASL PLAIN offered before STARTTLS");
	else
		plain_auth(d, false, "no SASL PLAIN before STARTTLS");
	return 0;
}

int dlg_greet(struct pdlg *d)
{
	d->plain_auth = PS_NA;
	snprintf(d->plain_auth_ev, sizeof(d->plain_auth_ev), "the protocol has no such offer");
	switch (d->t->proto) {
	case PROTO_SMTP:
		return smtp_greet(d);
	case PROTO_IMAP:
		return imap_greet(d);
	case PROTO_POP3:
		return pop3_greet(d);
	case PROTO_FTP:
		return ftp_greet(d);
	case PROTO_NNTP:
		return nntp_greet(d);
	case PROTO_SIEVE:
		return sieve_greet(d);
	case PROTO_XMPP:
		return xmpp_greet(d);
	case PROTO_LDAP: /* no greeting; StartTLS is not advertised in the protocol */
		snprintf(d->greet.text, sizeof(d->greet.text), "LDAP has no greeting");
		return 0;
	case PROTO_POSTGRES:
		snprintf(d->greet.text, sizeof(d->greet.text), "PostgreSQL has no greeting");
		return 0;
	default:
		return -EINVAL;
	}
}

/* LDAPMessage { messageID 1, ExtendedRequest { requestName StartTLS } } */
static const char ldap_starttls[] = "\x30\x1d\x02\x01\x01\x77\x18\x80\x16"
				    "1.3.6.1.4.1.1466.20037";
/* WhoAmI (RFC 4532) with messageID 2 (the injected one) or 3 (sent inside TLS) */
#define LDAP_WHOAMI(id)                          \
	"\x30\x1e\x02\x01" id "\x77\x19\x80\x17" \
	"1.3.6.1.4.1.4203.1.11.3"
static const char ldap_whoami2[] = LDAP_WHOAMI("\x02");
static const char ldap_whoami3[] = LDAP_WHOAMI("\x03");
static const char pg_sslrequest[] = "\x00\x00\x00\x08\x04\xd2\x16\x2f";

struct starttls_cmd {
	const char *cmd; /* the STARTTLS command */
	size_t cmd_len;
	const char *inject; /* a command whose answer we recognise */
	size_t inject_len;
	pio_parser parse;
	const void *arg;
};

static int starttls_cmd(const struct pdlg *d, struct starttls_cmd *s)
{
	static const char unknown[] = "XTLSFWINJECT\r\n";

	memset(s, 0, sizeof(*s));
	s->inject = unknown;
	s->inject_len = sizeof(unknown) - 1;
	switch (d->t->proto) {
	case PROTO_SMTP:
		s->cmd = "STARTTLS\r\n";
		s->parse = p_smtp;
		break;
	case PROTO_IMAP:
		s->cmd = "tlsfw2 STARTTLS\r\n";
		s->inject = "tlsfw3 NOOP\r\n";
		s->inject_len = strlen(s->inject);
		s->parse = p_imap;
		s->arg = "tlsfw2";
		break;
	case PROTO_POP3:
		s->cmd = "STLS\r\n";
		s->parse = p_pop3;
		break;
	case PROTO_FTP:
		s->cmd = "AUTH TLS\r\n";
		s->parse = p_ftp;
		break;
	case PROTO_NNTP:
		s->cmd = "STARTTLS\r\n";
		s->parse = p_nntp;
		break;
	case PROTO_SIEVE:
		s->cmd = "STARTTLS\r\n";
		s->parse = p_sieve;
		break;
	case PROTO_XMPP:
		s->cmd = "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";
		s->parse = p_xmpp;
		break;
	case PROTO_LDAP:
		s->cmd = ldap_starttls;
		s->cmd_len = sizeof(ldap_starttls) - 1;
		s->inject = ldap_whoami2;
		s->inject_len = sizeof(ldap_whoami2) - 1;
		s->parse = p_ldap;
		break;
	case PROTO_POSTGRES:
		s->cmd = pg_sslrequest;
		s->cmd_len = sizeof(pg_sslrequest) - 1;
		s->parse = p_pg;
		break;
	default:
		return -EINVAL;
	}
	if (!s->cmd_len)
		s->cmd_len = strlen(s->cmd);
	return 0;
}

static bool starttls_ok(const struct pdlg *d, const struct pp_reply *r)
{
	switch (d->t->proto) {
	case PROTO_SMTP:
		return r->code == 220;
	case PROTO_FTP:
		return r->code == 234;
	case PROTO_NNTP:
		return r->code == 382;
	case PROTO_LDAP:
		return r->ldap_msgid == 1 && r->ldap_op == 24 && r->code == 0;
	case PROTO_POSTGRES:
		return r->code == 'S';
	default: /* IMAP, POP3, sieve, XMPP */
		return r->code == PP_OK;
	}
}

int dlg_starttls(struct pdlg *d, bool inject, struct pp_reply *r)
{
	struct starttls_cmd s;
	char buf[256];
	size_t n;
	int ret;

	ret = starttls_cmd(d, &s);
	if (ret)
		return ret;
	memcpy(buf, s.cmd, s.cmd_len);
	n = s.cmd_len;
	if (inject) {
		memcpy(buf + n, s.inject, s.inject_len);
		n += s.inject_len;
	}
	ret = pio_send(d->c, buf, n);
	if (!ret)
		ret = pio_read(d->c, s.parse, s.arg, r);
	if (ret)
		return ret;
	if (!starttls_ok(d, r))
		return 0;
	/* A server that answered the injected command already, in plaintext, is not vulnerable;
	 * drop that answer so the handshake starts clean. */
	if (inject && d->c->in_len) {
		struct pp_reply tmp;

		if (pio_read(d->c, s.parse, s.arg, &tmp))
			return -EPROTO;
	}
	return 1;
}

bool dlg_can_inject(enum probe_proto proto)
{
	switch (proto) {
	case PROTO_SMTP:
	case PROTO_IMAP:
	case PROTO_POP3:
	case PROTO_FTP:
	case PROTO_NNTP:
	case PROTO_LDAP:
		return true;
	default:
		return false;
	}
}

int dlg_injection_answered(struct pdlg *d, char *ev, size_t evlen)
{
	struct pp_reply r;
	char l[128];
	int ret;

	/* A command of our own inside TLS: if the first answer is not to it, the server kept
	 * the plaintext command and ran it inside the TLS session. */
	switch (d->t->proto) {
	case PROTO_IMAP:
		ret = cmd(d, "tlsfw4 NOOP\r\n", p_imap, "tlsfw4", &r);
		if (ret)
			return ret;
		dlg_first_line(&r, l, sizeof(l));
		if (strstr(r.text, "tlsfw3 ") || pp_has_word(r.text, "tlsfw3", false)) {
			snprintf(ev, evlen, "answered the pipelined 'tlsfw3 NOOP' inside TLS");
			return 1;
		}
		snprintf(ev, evlen, "pipelined command not answered inside TLS");
		return 0;
	case PROTO_LDAP:
		ret = pio_send(d->c, ldap_whoami3, sizeof(ldap_whoami3) - 1);
		if (!ret)
			ret = pio_read(d->c, p_ldap, NULL, &r);
		if (ret)
			return ret;
		if (r.ldap_msgid == 2) {
			snprintf(ev, evlen,
				 "answered the pipelined WhoAmI (messageID 2) inside TLS");
			return 1;
		}
		snprintf(ev, evlen, "pipelined request not answered inside TLS");
		return 0;
	case PROTO_POP3:
		ret = cmd(d, "CAPA\r\n", p_pop3_multi, NULL, &r);
		if (ret)
			return ret;
		if (r.code == PP_ERR) {
			snprintf(ev, evlen,
				 "answered the pipelined XTLSFWINJECT inside TLS (-ERR)");
			return 1;
		}
		break;
	case PROTO_SMTP:
	case PROTO_FTP:
		ret = cmd(d, "NOOP\r\n", d->t->proto == PROTO_SMTP ? p_smtp : p_ftp, NULL, &r);
		if (ret)
			return ret;
		if (r.code >= 500) {
			dlg_first_line(&r, l, sizeof(l));
			snprintf(ev, evlen,
				 "answered the pipelined XTLSFWINJECT inside TLS (%d %s)", r.code,
				 l);
			return 1;
		}
		break;
	case PROTO_NNTP:
		ret = cmd(d, "DATE\r\n", p_nntp, NULL, &r);
		if (ret)
			return ret;
		if (r.code >= 500) {
			snprintf(ev, evlen, "answered the pipelined XTLSFWINJECT inside TLS (%d)",
				 r.code);
			return 1;
		}
		break;
	default:
		return -EOPNOTSUPP;
	}
	snprintf(ev, evlen, "pipelined command not answered inside TLS");
	return 0;
}

int dlg_plain_transaction(struct pdlg *d, struct pp_reply *r)
{
	struct pp_reply q;
	int ret;

	if (d->t->proto != PROTO_SMTP)
		return -EOPNOTSUPP;
	ret = cmd(d, "MAIL FROM:<tlsfw-probe@example.invalid>\r\n", p_smtp, NULL, r);
	if (ret)
		return ret;
	/* leave politely; failures here change nothing */
	if (r->code == 250 && !cmd(d, "RSET\r\n", p_smtp, NULL, &q))
		cmd(d, "QUIT\r\n", p_smtp, NULL, &q);
	return r->code == 530 ? 1 : 0;
}
