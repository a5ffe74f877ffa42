// SPDX-License-Identifier: GPL-2.0
/* The prober's response parsers, target syntax and capability matching. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "probe.h"

#include "check.h"

static struct pp_reply r;

static int smtp(const char *s)
{
	return pp_smtp_reply(s, strlen(s), &r);
}

static void test_smtp(void)
{
	const char *ehlo = "250-mail.test\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\nX";
	char *big;

	CHECK(smtp("220 mail.test ESMTP\r\n") == 21, "one line");
	CHECK(r.code == 220 && !strcmp(r.text, "mail.test ESMTP"), "code %d text '%s'", r.code,
	      r.text);
	CHECK(smtp(ehlo) == (int)strlen(ehlo) - 1, "multiline stops at the last line");
	CHECK(r.code == 250 && r.lines == 4, "code %d lines %u", r.code, r.lines);
	CHECK(pp_has_word(r.text, "STARTTLS", true), "STARTTLS advertised");
	CHECK(!pp_has_word(r.text, "AUTH", true), "no AUTH");
	CHECK(smtp("250-mail.test\r\n250-STARTTLS\r\n") == 0, "incomplete multiline");
	CHECK(smtp("250-mail.test\r\n250-STARTTLS") == 0, "incomplete line");
	CHECK(smtp("250 ok\n") == 7, "bare LF");
	CHECK(smtp("250") == 0, "no line end yet");
	CHECK(smtp("250\r\n") == 5 && r.code == 250, "code alone");
	CHECK(smtp("250-a\r\n251 b\r\n") == -EBADMSG, "codes differ");
	CHECK(smtp("hello\r\n") == -EBADMSG, "no code");
	CHECK(smtp("25x ok\r\n") == -EBADMSG, "bad code");
	CHECK(smtp("650 ok\r\n") == -EBADMSG, "code out of range");
	CHECK(pp_smtp_reply("220 a\0b\r\n", 9, &r) == -EBADMSG, "NUL byte");
	CHECK(smtp("220 a\x01"
		   "b\r\n") == -EBADMSG,
	      "control byte");
	CHECK(smtp("421 4.3.2 busy\r\n") > 0 && r.code == 421, "421");

	big = malloc(PP_LINE_MAX + 100);
	memset(big, 'x', PP_LINE_MAX + 100);
	memcpy(big, "220 ", 4);
	CHECK(pp_smtp_reply(big, PP_LINE_MAX + 100, &r) == -EMSGSIZE, "line over the limit");
	CHECK(pp_smtp_reply(big, 1000, &r) == 0, "long line not over the limit yet");
	free(big);

	/* endless continuation lines */
	size_t n = (PP_LINES_MAX + 10) * 8;
	char *many = malloc(n + 1);

	for (size_t i = 0; i < n; i += 8)
		memcpy(many + i, "220-xx\r\n", 8);
	CHECK(pp_smtp_reply(many, n, &r) == -E2BIG, "too many lines");
	free(many);

	/* text kept is bounded, the reply still parses */
	size_t m = 300 * 40;
	char *wide = malloc(m + 16);
	size_t off = 0;

	for (int i = 0; i < 299; i++)
		off += sprintf(wide + off, "250-%034d\r\n", i);
	off += sprintf(wide + off, "250 end\r\n");
	CHECK(pp_smtp_reply(wide, off, &r) == (int)off, "wide reply");
	CHECK(r.text_len == PP_TEXT_MAX - 1 && strlen(r.text) == r.text_len, "text capped: %zu",
	      r.text_len);
	free(wide);
}

static void test_ftp(void)
{
	const char *feat = "211-Features:\r\n AUTH TLS\r\n PBSZ\r\n211 End\r\n";

	CHECK(pp_ftp_reply(feat, strlen(feat), &r) == (int)strlen(feat), "FEAT");
	CHECK(r.code == 211 && pp_has_word(r.text, "AUTH", true) &&
		      pp_has_word(r.text, "TLS", false),
	      "FEAT text '%s'", r.text);
	CHECK(pp_smtp_reply(feat, strlen(feat), &r) == -EBADMSG, "SMTP is strict");
}

static int imap(const char *s, const char *tag)
{
	return pp_imap_reply(s, strlen(s), tag, &r);
}

static void test_imap(void)
{
	const char *caps = "* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\ntlsfw1 OK done\r\n";

	CHECK(imap("* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n", NULL) > 0 && r.code == PP_OK,
	      "greeting");
	CHECK(pp_has_word(r.text, "STARTTLS", false), "STARTTLS in the greeting's code");
	CHECK(imap("* BYE busy\r\n", NULL) > 0 && r.code == PP_BYE, "BYE greeting");
	CHECK(imap("* NO go away\r\n", NULL) == -EBADMSG, "NO greeting");
	CHECK(imap("tlsfw1 OK\r\n", NULL) == -EBADMSG, "tagged greeting");
	CHECK(imap(caps, "tlsfw1") == (int)strlen(caps) && r.code == PP_OK, "CAPABILITY");
	CHECK(pp_has_word(r.text, "LOGINDISABLED", false), "LOGINDISABLED");
	CHECK(!pp_has_word(r.text, "AUTH=", false), "no AUTH=");
	CHECK(imap("* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\ntlsfw1 OK\r\n", "tlsfw1") > 0 &&
		      pp_has_word(r.text, "AUTH=PLAIN", false) &&
		      pp_has_word(r.text, "AUTH=", false),
	      "AUTH=PLAIN");
	CHECK(imap("* CAPABILITY X\r\n", "tlsfw1") == 0, "waits for the tagged line");
	CHECK(imap("tlsfw2 NO no\r\n", "tlsfw2") > 0 && r.code == PP_NO, "NO");
	CHECK(imap("tlsfw2 BAD no\r\n", "tlsfw2") > 0 && r.code == PP_BAD, "BAD");
	CHECK(imap("tlsfw3 OK NOOP\r\ntlsfw4 OK NOOP\r\n", "tlsfw4") > 0 &&
		      strstr(r.text, "tlsfw3 OK"),
	      "other tags kept: '%s'", r.text);
	CHECK(imap("* BYE shutting down\r\n", "tlsfw1") > 0 && r.code == PP_BYE, "BYE ends");
	CHECK(imap("tlsfw10 OK\r\n", "tlsfw1") == 0, "tag prefix is not the tag");
}

static void test_pop3(void)
{
	const char *capa = "+OK\r\nCAPA\r\nSTLS\r\nSASL PLAIN\r\n..dot\r\n.\r\n";

	CHECK(pp_pop3_reply("+OK ready\r\n", 11, false, &r) == 11 && r.code == PP_OK, "greeting");
	CHECK(pp_pop3_reply("-ERR no\r\n", 9, true, &r) == 9 && r.code == PP_ERR,
	      "-ERR ends a multiline reply");
	CHECK(pp_pop3_reply(capa, strlen(capa), true, &r) == (int)strlen(capa), "CAPA");
	CHECK(pp_has_word(r.text, "STLS", true) && pp_has_word(r.text, "SASL", true) &&
		      !pp_has_word(r.text, "USER", true),
	      "CAPA words");
	CHECK(strstr(r.text, "\n.dot") != NULL, "dot-stuffing undone: '%s'", r.text);
	CHECK(pp_pop3_reply("+OK\r\nSTLS\r\n", 11, true, &r) == 0, "waits for the dot");
	CHECK(pp_pop3_reply("+OKAY\r\n", 7, false, &r) == -EBADMSG, "+OKAY");
	CHECK(pp_pop3_reply("* OK\r\n", 6, false, &r) == -EBADMSG, "IMAP is not POP3");
}

static void test_nntp_sieve(void)
{
	const char *caps =
		"101 Capability list:\r\nVERSION 2\r\nSTARTTLS\r\nAUTHINFO USER\r\n.\r\n";
	const char *sv =
		"\"IMPLEMENTATION\" \"x\"\r\n\"SASL\" \"PLAIN\"\r\n\"STARTTLS\"\r\nOK \"hi\"\r\n";

	CHECK(pp_nntp_reply("200 ready\r\n", 11, false, &r) == 11 && r.code == 200, "greeting");
	CHECK(pp_nntp_reply(caps, strlen(caps), true, &r) == (int)strlen(caps), "CAPABILITIES");
	CHECK(pp_has_word(r.text, "STARTTLS", true) && pp_has_word(r.text, "AUTHINFO", true),
	      "NNTP caps");
	CHECK(pp_nntp_reply("502 no\r\n", 8, true, &r) == 8, "an error is one line");
	CHECK(pp_sieve_reply(sv, strlen(sv), &r) == (int)strlen(sv) && r.code == PP_OK, "sieve");
	CHECK(pp_has_word(r.text, "STARTTLS", true) && pp_has_word(r.text, "SASL", true),
	      "quoted sieve capabilities: '%s'", r.text);
	CHECK(pp_sieve_reply("NO \"x\"\r\n", 8, &r) == 8 && r.code == PP_NO, "sieve NO");
	CHECK(pp_sieve_reply("\"STARTTLS\"\r\n", 12, &r) == 0, "sieve waits for OK");
}

static void test_ldap(void)
{
	/* ExtendedResponse, messageID 1, success, no names */
	static const char ok[] = "\x30\x0c\x02\x01\x01\x78\x07\x0a\x01\x00\x04\x00\x04\x00";
	/* protocolError with a message */
	static const char err[] = "\x30\x10\x02\x01\x01\x78\x0b\x0a\x01\x02\x04\x00\x04\x04nope";
	static const char longform[] =
		"\x30\x81\x0c\x02\x01\x01\x78\x07\x0a\x01\x00\x04\x00\x04\x00";

	CHECK(pp_ldap_message(ok, sizeof(ok) - 1, &r) == (int)sizeof(ok) - 1, "success");
	CHECK(r.ldap_msgid == 1 && r.ldap_op == 24 && r.code == 0, "id %d op %d code %d",
	      r.ldap_msgid, r.ldap_op, r.code);
	CHECK(pp_ldap_message(err, sizeof(err) - 1, &r) > 0 && r.code == 2 &&
		      !strcmp(r.text, "nope"),
	      "protocolError '%s'", r.text);
	CHECK(pp_ldap_message(longform, sizeof(longform) - 1, &r) == (int)sizeof(longform) - 1,
	      "long-form length");
	for (size_t i = 0; i < sizeof(ok) - 1; i++)
		CHECK(pp_ldap_message(ok, i, &r) == 0, "prefix of %zu bytes is incomplete", i);
	CHECK(pp_ldap_message("\x31\x00", 2, &r) == -EBADMSG, "not a SEQUENCE");
	CHECK(pp_ldap_message("\x30\x84\x7f\xff\xff\xff", 6, &r) == -EBADMSG, "4-byte length");
	CHECK(pp_ldap_message("\x30\x83\x7f\xff\xff", 5, &r) == -EMSGSIZE, "huge message");
	CHECK(pp_ldap_message("\x30\x80", 2, &r) == -EBADMSG, "indefinite length");
	CHECK(pp_ldap_message("\x30\x05\x02\x09\x01\x78\x00", 7, &r) == -EBADMSG,
	      "inner length past the end");
	CHECK(pp_ldap_message("\x30\x03\x02\x01\x01", 5, &r) == -EBADMSG, "no protocolOp");
}

static void test_xmpp_pg(void)
{
	const char *f = "<?xml version='1.0'?><stream:stream from='x' id='1' version='1.0'>"
			"<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'>"
			"<required/></starttls><mechanisms><mechanism>SCRAM-SHA-1</mechanism>"
			"</mechanisms></stream:features>";
	const char *p = "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";
	const char *no = "<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'></failure>";

	CHECK(pp_xmpp_reply(f, strlen(f), &r) == (int)strlen(f) && r.code == PP_OK, "features");
	CHECK(pp_has_word(r.text, "starttls", false) && pp_has_word(r.text, "required", false) &&
		      !pp_has_word(r.text, "PLAIN", false),
	      "features text '%s'", r.text);
	CHECK(pp_xmpp_reply(f, strlen(f) - 3, &r) == 0, "incomplete features");
	CHECK(pp_xmpp_reply(p, strlen(p), &r) == (int)strlen(p) && r.code == PP_OK, "proceed");
	CHECK(pp_xmpp_reply(no, strlen(no), &r) == (int)strlen(no) && r.code == PP_NO, "failure");
	CHECK(pp_xmpp_reply("<stream:error><x/></stream:error>", 33, &r) == 33 && r.code == PP_BYE,
	      "stream error");
	CHECK(pp_xmpp_reply("<a>\0</a>", 8, &r) == -EBADMSG, "NUL");
	CHECK(pp_postgres_reply("S", 1, &r) == 1 && r.code == 'S', "S");
	CHECK(pp_postgres_reply("N", 1, &r) == 1 && r.code == 'N', "N");
	CHECK(pp_postgres_reply("", 0, &r) == 0, "nothing yet");
	CHECK(pp_postgres_reply("X", 1, &r) == -EBADMSG, "X");
}

static void test_plaintext_kind(void)
{
	const struct {
		const char *in, *kind;
	} t[] = {
		{ "HTTP/1.1 400 Bad Request\r\n", "HTTP" },
		{ "220 mail ESMTP\r\n", "SMTP" },
		{ "220-mail\r\n", "SMTP" },
		{ "220 ProFTPD FTP\r\n", "FTP" },
		{ "* OK IMAP ready\r\n", "IMAP" },
		{ "+OK POP3\r\n", "POP3" },
		{ "SSH-2.0-OpenSSH\r\n", "SSH" },
		{ "200 news ready\r\n", "NNTP" },
		{ "hello there\r\n", "text" },
		{ "\x16\x03\x03\x00\x10", NULL },
		{ "\x15\x03\x01\x00\x02", NULL },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const char *k = pp_plaintext_kind((const unsigned char *)t[i].in, strlen(t[i].in));

		CHECK((k == NULL) == (t[i].kind == NULL) && (!k || !strcmp(k, t[i].kind)),
		      "'%s' gave %s", t[i].in, k ? k : "NULL");
	}
}

static char err[256];

/* A target from the command line: an error is exactly one record, without a place. */
static int target(struct probe_target *t, const char *spec, const char *starttls)
{
	const struct target_spec ts = { spec, starttls, NULL };
	struct diag d;
	const struct probe_diag pd = { .d = &d };
	int ret;

	diag_init(&d);
	ret = probe_target_parse(t, &ts, &pd);
	err[0] = '\0';
	CHECK(d.errors == (ret != 0) && d.n == d.errors && (!d.n || !d.recs[0].loc.file),
	      "'%s': %d with %zu records", spec, ret, d.n);
	if (d.n)
		snprintf(err, sizeof(err), "%s", d.recs[0].msg);
	diag_free(&d);
	return ret;
}

/* In a policy: "probe 'NAME': " first, at the target, or at starttls: when that is wrong. */
static void test_target_in_policy(void)
{
	const struct loc tl = { "p.conf", 9, 13, 4 }, sl = { "p.conf", 10, 15, 5 };
	const struct target_spec bad_port = { "h:0", "smtp", &sl },
				 bad_proto = { "h:25", "smtpx", &sl };
	struct probe_target t;
	struct diag d;
	const struct probe_diag pd = { &d, tl, "mx", DIAG_ERROR };

	diag_init(&d);
	CHECK(probe_target_parse(&t, &bad_port, &pd) == -EINVAL && d.n == 1 &&
		      d.recs[0].loc.line == 9 && d.recs[0].level == DIAG_ERROR &&
		      !strcmp(d.recs[0].msg, "probe 'mx': target 'h:0': port must be 1-65535"),
	      "port: %s", d.n ? d.recs[0].msg : "no record");
	CHECK(probe_target_parse(&t, &bad_proto, &pd) == -EINVAL && d.n == 2 &&
		      d.recs[1].loc.line == 10 && d.recs[1].loc.col == 15 &&
		      !strncmp(d.recs[1].msg, "probe 'mx': unknown STARTTLS protocol 'smtpx'", 45),
	      "protocol: %s", d.n > 1 ? d.recs[1].msg : "no record");
	diag_free(&d);
}

static void test_targets(void)
{
	struct probe_target t;

	CHECK(!target(&t, "mail.example.com:submission", NULL), "%s", err);
	CHECK(t.port == 587 && t.proto == PROTO_SMTP && !t.host_is_addr &&
		      !strcmp(t.name, "mail.example.com") && t.require_tls,
	      "submission");
	CHECK(!target(&t, "[2001:db8::1]:993", NULL), "%s", err);
	CHECK(t.port == 993 && t.proto == PROTO_IMPLICIT && t.host_is_addr && !t.name[0] &&
		      !strcmp(t.host, "2001:db8::1"),
	      "v6");
	CHECK(!target(&t, "192.0.2.1:2525", "smtp") && t.proto == PROTO_SMTP && !t.require_tls,
	      "explicit protocol");
	CHECK(!target(&t, "192.0.2.1:25", "none") && t.proto == PROTO_IMPLICIT, "--starttls none");
	CHECK(!target(&t, "h:ldap", NULL) && t.proto == PROTO_LDAP && t.port == 389, "ldap");
	CHECK(!target(&t, "h:5432", NULL) && t.proto == PROTO_POSTGRES, "postgres");
	CHECK(!target(&t, "h:990", NULL) && t.proto == PROTO_IMPLICIT, "ftps range");
	CHECK(t.min_tls == TLS1_2_VERSION && t.verify, "defaults");
	CHECK(target(&t, "h:2525", NULL) == -EINVAL && strstr(err, "--starttls"),
	      "unknown port needs --starttls: %s", err);
	CHECK(target(&t, "h:http", NULL) == -EINVAL, "http: no TLS");
	CHECK(target(&t, "h:dns", NULL) == -EINVAL, "dns: no TLS");
	CHECK(target(&t, "2001:db8::1:25", NULL) == -EINVAL && strstr(err, "[addr]"),
	      "unbracketed v6: %s", err);
	CHECK(target(&t, "[::1]25", NULL) == -EINVAL, "[::1]25");
	CHECK(target(&t, "[zz]:25", NULL) == -EINVAL, "[zz]");
	CHECK(target(&t, "h:0", NULL) == -EINVAL, "port 0");
	CHECK(target(&t, "h:70000", NULL) == -EINVAL, "port 70000");
	CHECK(target(&t, "h:25x", NULL) == -EINVAL, "25x");
	CHECK(target(&t, ":25", NULL) == -EINVAL, "no host");
	CHECK(target(&t, "h", NULL) == -EINVAL, "no port");
	CHECK(target(&t, "h:nosuch", NULL) == -EINVAL, "service");
	CHECK(target(&t, "h:25", "smtpx") == -EINVAL, "protocol");
	CHECK(probe_proto_by_name("sieve") == PROTO_SIEVE && probe_proto_by_name("x") < 0, "names");
}

int main(void)
{
	test_smtp();
	test_ftp();
	test_imap();
	test_pop3();
	test_nntp_sieve();
	test_ldap();
	test_xmpp_pg();
	test_plaintext_kind();
	test_targets();
	test_target_in_policy();
	if (failures) {
		printf("%d failures\n", failures);
		return 1;
	}
	printf("all probe parser tests passed\n");
	return 0;
}
