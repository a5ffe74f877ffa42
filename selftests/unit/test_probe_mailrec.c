// SPDX-License-Identifier: GPL-2.0
/*
 * The mail TLS records (RFC 8461 MTA-STS TXT and policy, RFC 8460 TLS-RPT TXT) and the DNS
 * RDATA decoders: what the grammar allows parses to the right values, what it forbids is an
 * error that names the place, the mx wildcard rule matches exactly one label.
 */
#include <errno.h>
#include <string.h>

#include "probe_dns.h"
#include "probe_mailrec.h"

#include "check.h"

static char err[MAILREC_ERR_MAX];
static struct diag d;

/* A parser's result: an error is exactly one record in d, its text kept in err. */
static int got(int ret)
{
	err[0] = '\0';
	CHECK(d.errors == (ret == -EINVAL) && d.n == d.errors, "%d: %u errors in %zu records", ret,
	      d.errors, d.n);
	if (d.n)
		snprintf(err, sizeof(err), "%s", d.recs[0].msg);
	diag_free(&d);
	return ret;
}

static int policy(const char *text, struct sts_policy *p)
{
	return got(sts_policy_parse(text, strlen(text), p, &d));
}

/* the policy text must be refused with an error containing want */
static void bad_policy(const char *text, const char *want)
{
	struct sts_policy p;
	int ret = policy(text, &p);

	CHECK(ret == -EINVAL && strstr(err, want), "policy '%s': %d '%s', want '%s'", text, ret,
	      err, want);
}

static void test_sts_txt(void)
{
	struct sts_txt t;

	CHECK(!got(sts_txt_parse("v=STSv1; id=20240101T000000", &t, &d)) &&
		      !strcmp(t.id, "20240101T000000"),
	      "plain record: %s", err);
	CHECK(!got(sts_txt_parse("v=STSv1;id=abc;", &t, &d)) && !strcmp(t.id, "abc"),
	      "no spaces, final ';': %s", err);
	CHECK(!got(sts_txt_parse("v=STSv1 ;\tid=x1 ; ext=a.b-c", &t, &d)) && !strcmp(t.id, "x1"),
	      "spaces around ';' and an extension: %s", err);
	CHECK(got(sts_txt_parse("v=spf1 -all", &t, &d)) == -ENOENT, "other TXT");
	CHECK(got(sts_txt_parse("v=STSv10; id=1", &t, &d)) == -ENOENT, "STSv10");
	CHECK(got(sts_txt_parse("V=STSv1; id=1", &t, &d)) == -ENOENT, "case");
	CHECK(got(sts_txt_parse("v=STSv1", &t, &d)) == -EINVAL && strstr(err, "no id"), "no id: %s",
	      err);
	CHECK(got(sts_txt_parse("v=STSv1; id=a-b", &t, &d)) == -EINVAL &&
		      strstr(err, "letter or digit"),
	      "id with '-': %s", err);
	CHECK(got(sts_txt_parse("v=STSv1; id=123456789012345678901234567890123", &t, &d)) ==
		      -EINVAL,
	      "33-character id");
	CHECK(got(sts_txt_parse("v=STSv1; id=1; id=2", &t, &d)) == -EINVAL, "two ids");
	CHECK(got(sts_txt_parse("v=STSv1;; id=1", &t, &d)) == -EINVAL && strstr(err, "empty field"),
	      "empty field: %s", err);
	CHECK(got(sts_txt_parse("v=STSv1; id", &t, &d)) == -EINVAL, "no '='");
}

static void test_tlsrpt(void)
{
	struct tlsrpt r;

	CHECK(!got(tlsrpt_parse("v=TLSRPTv1; rua=mailto:tls@example.org", &r, &d)) &&
		      r.n_rua == 1 && !strcmp(r.rua[0], "mailto:tls@example.org"),
	      "one rua: %s", err);
	CHECK(!got(tlsrpt_parse("v=TLSRPTv1;rua=mailto:a@x.org , https://r.x.org/tls", &r, &d)) &&
		      r.n_rua == 2 && !strcmp(r.rua[1], "https://r.x.org/tls"),
	      "two: %s", err);
	CHECK(got(tlsrpt_parse("v=TLSRPTv1; rua=ftp://x.org", &r, &d)) == -EINVAL &&
		      strstr(err, "neither a mailto: nor an https://"),
	      "ftp: %s", err);
	CHECK(got(tlsrpt_parse("v=TLSRPTv1;", &r, &d)) == -EINVAL && strstr(err, "no rua"),
	      "no rua: %s", err);
	CHECK(got(tlsrpt_parse("v=STSv1; id=1", &r, &d)) == -ENOENT, "not TLSRPT");
	CHECK(got(tlsrpt_parse("v=TLSRPTv1; rua=mailto:", &r, &d)) == -EINVAL, "empty mailto");

	/* A URI too long to keep is refused, not dropped: a parsed record has a rua. */
	char longrua[400] = "v=TLSRPTv1; rua=mailto:a@";
	memset(longrua + strlen(longrua), 'x', 300);
	strcat(longrua, ".org");
	CHECK(got(tlsrpt_parse(longrua, &r, &d)) == -EINVAL && strstr(err, "longer than"),
	      "overlong rua: %s", err);
}

static void test_policy(void)
{
	struct sts_policy p;

	CHECK(!policy("version: STSv1\r\nmode: enforce\r\nmx: mail.example.org\r\n"
		      "mx: *.example.net\r\nmax_age: 604800\r\n",
		      &p),
	      "CRLF policy: %s", err);
	CHECK(p.mode == STS_MODE_ENFORCE && p.max_age == 604800 && p.n_mx == 2 &&
		      !strcmp(p.mx[1], "*.example.net") && !p.n_warnings,
	      "values");
	CHECK(!policy("version: STSv1\nmode: testing\nmx: a.org\nmax_age:86400", &p) &&
		      p.mode == STS_MODE_TESTING,
	      "LF, no final newline, no space after ':': %s", err);
	CHECK(!policy("version: STSv1\nmode: none\nmax_age: 86400\nfoo: bar baz\n", &p) &&
		      p.mode == STS_MODE_NONE && !p.n_mx,
	      "mode none without mx, an extension ignored: %s", err);
	CHECK(!policy("version: STSv1\nmode: enforce\nmx: a.org\nmax_age: 300\n\n", &p) &&
		      p.n_warnings == 2 && strstr(p.warning, "line 4: max_age 300 is under a day"),
	      "warnings: %u '%s'", p.n_warnings, p.warning);
	bad_policy("version: STSv2\nmode: enforce\nmx: a.org\nmax_age: 1\n",
		   "line 1: version 'STSv2', expected STSv1");
	bad_policy("version: STSv1\nmode: Enforce\nmx: a.org\nmax_age: 1\n", "line 2: mode");
	bad_policy("version: STSv1\nmode: enforce\nmx: a.org\nmax_age: 31557601\n",
		   "line 4: max_age 31557601 is above the maximum");
	bad_policy("version: STSv1\nmode: enforce\nmx: a.org\nmax_age: -1\n",
		   "line 4: max_age '-1' is not a number");
	bad_policy("version: STSv1\nmode: enforce\nmax_age: 1\n", "mode enforce without any mx");
	bad_policy("version: STSv1\nmode: enforce\nmx: a.org\n", "no max_age field");
	bad_policy("Version: STSv1\nmode: enforce\nmx: a.org\nmax_age: 1\n",
		   "no version field (field names are case-sensitive: 'Version' at line 1)");
	bad_policy("version: STSv1\nmode: enforce\nmode: testing\nmx: a\nmax_age: 1\n",
		   "line 3: 'mode' again (first at line 2)");
	bad_policy("version: STSv1\nmode: enforce\nmx: a.*.org\nmax_age: 1\n",
		   "line 3: mx 'a.*.org' is not a host name");
	bad_policy("version: STSv1\nmode: enforce\nmx: -a.org\nmax_age: 1\n", "line 3: mx");
	bad_policy("version: STSv1\nmode: enforce\nmx: a.org.\nmax_age: 1\n", "line 3: mx");
	bad_policy("<html>404</html>\n", "line 1: expected 'key: value'");
	bad_policy("version STSv1\n", "line 1: expected 'key: value'");
	bad_policy("version: STSv1\nmode:\n", "line 2: 'mode' has no value");
	bad_policy("version: STSv1\x01\n", "line 1: control character 0x01");
}

static void test_match(void)
{
	CHECK(sts_mx_match("mail.example.org", "MAIL.example.org."), "exact, case, final dot");
	CHECK(!sts_mx_match("mail.example.org", "mx.example.org"), "other host");
	CHECK(sts_mx_match("*.example.org", "mx1.example.org"), "wildcard: one label");
	CHECK(!sts_mx_match("*.example.org", "a.b.example.org"), "wildcard: not two labels");
	CHECK(!sts_mx_match("*.example.org", "example.org"), "wildcard: not the parent");
	CHECK(!sts_mx_match("*.example.org", ".example.org"), "wildcard: not an empty label");
	CHECK(!sts_mx_match("*.example.org", "mx1.xexample.org"), "wildcard: label boundary");
}

static void test_rdata(void)
{
	static const unsigned char mx[] = { 0,	 10,  3,   'm', 'x', '1', 7, 'e',
					    'x', 'a', 'm', 'p', 'l', 'e', 0 };
	static const unsigned char odd[] = { 0, 5, 3, 'a', '.', 0x01, 0 };
	static const unsigned char nullmx[] = { 0, 0, 0 };
	static const unsigned char loop[] = { 0, 1, 0xc0, 0 };
	static const unsigned char txt[] = { 3, 'a', 'b', 'c', 0, 2, 'd', 'e' };
	static const unsigned char tlsa[] = { 3, 1, 1, 0xab, 0xcd };
	char host[PROBE_NAME_MAX], out[64];
	struct dns_tlsa t;
	uint16_t pref;

	CHECK(!dns_mx(mx, sizeof(mx), &pref, host, sizeof(host)) && pref == 10 &&
		      !strcmp(host, "mx1.example"),
	      "MX: %u %s", pref, host);
	CHECK(!dns_mx(odd, sizeof(odd), &pref, host, sizeof(host)) && !strcmp(host, "a\\046\\001"),
	      "escapes: %s", host);
	CHECK(!dns_mx(nullmx, sizeof(nullmx), &pref, host, sizeof(host)) && !host[0] && !pref,
	      "null MX");
	CHECK(dns_mx(loop, sizeof(loop), &pref, host, sizeof(host)) == -EBADMSG, "pointer");
	CHECK(dns_mx(mx, sizeof(mx) - 1, &pref, host, sizeof(host)) == -EBADMSG, "cut name");
	CHECK(dns_mx(mx, sizeof(mx), &pref, host, 5) == -ENAMETOOLONG, "small buffer");
	CHECK(!dns_txt(txt, sizeof(txt), out, sizeof(out)) && !strcmp(out, "abcde"),
	      "TXT strings joined: %s", out);
	CHECK(dns_txt(txt, sizeof(txt) - 1, out, sizeof(out)) == -EBADMSG, "cut TXT");
	CHECK(!dns_tlsa(tlsa, sizeof(tlsa), &t) && t.usage == 3 && t.selector == 1 &&
		      t.mtype == 1 && t.len == 2 && t.data[1] == 0xcd,
	      "TLSA");
	CHECK(dns_tlsa(tlsa, 3, &t) == -EBADMSG, "TLSA without data");
	CHECK(!dns_addr(DNS_T_A, (const uint8_t *)"\x0a\xcb\x00\x01", 4, out, sizeof(out)) &&
		      !strcmp(out, "10.203.0.1"),
	      "A");
	CHECK(dns_addr(DNS_T_AAAA, (const uint8_t *)"\x0a\xcb\x00\x01", 4, out, sizeof(out)) ==
		      -EBADMSG,
	      "AAAA of 4 bytes");
}

int main(void)
{
	test_sts_txt();
	test_tlsrpt();
	test_policy();
	test_match();
	test_rdata();
	return check_report("test_probe_mailrec");
}
