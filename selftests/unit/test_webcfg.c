// SPDX-License-Identifier: GPL-2.0
/*
 * webcfg without TLS files: what the reader accepts (YAML 1.1 booleans, null values, an
 * empty file, headers, users) and where it puts its errors (aliases, several documents, deep
 * nesting, a control character, keys given twice, wrong types, TLS settings without a
 * certificate), and basic authentication
 * (bcrypt through libxcrypt, the remembered password, unknown users). Certificates and the
 * comparison with promtool are in selftests/net/test_stats_web_config.sh.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "webcfg.h"

/* htpasswd -nbBC 4 prom s3cret (cost 4: the test stays fast). */
#define HASH "$2y$04$gETqs.e6SjP0YIhXV6UnwOx0UA//xENvLDz10qbWn3AiHWZf170z2"

/* Read text as a web configuration; the diagnostics (or "") into *out. */
static int read_text(const char *text, struct webcfg *w, char **out)
{
	char path[] = "/tmp/tlsfw-webcfg-XXXXXX";
	int fd = mkstemp(path), err;
	size_t len = 0;
	struct diag d;
	FILE *f;

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		return -EIO;
	close(fd);
	diag_init(&d);
	err = webcfg_read(w, path, &d);
	f = open_memstream(out, &len);
	diag_print(&d, f);
	fclose(f);
	diag_free(&d);
	unlink(path);
	/* the temporary name varies: keep what follows it */
	if (!strncmp(*out, path, strlen(path)))
		memmove(*out, *out + strlen(path), strlen(*out + strlen(path)) + 1);
	return err;
}

static void expect_error(const char *text, const char *want)
{
	struct webcfg w;
	char *out = NULL;
	int err = read_text(text, &w, &out);

	CHECK(err == -EINVAL, "'%s': %d, want -EINVAL", text, err);
	CHECK(out && strstr(out, want), "'%s':\n--- got ---\n%s--- want ---\n%s", text, out, want);
	free(out);
	webcfg_free(&w);
}

static void test_accepted(void)
{
	struct webcfg w;
	char *out = NULL;
	int err;

	err = read_text("", &w, &out);
	CHECK(!err && !w.tls && !w.n_users && !w.n_headers, "empty file: %d %s", err, out);
	free(out);
	webcfg_free(&w);
	err = read_text("tls_server_config:\nhttp_server_config:\n  http2: no\n  headers: ~\n"
			"basic_auth_users:\n  prom: " HASH "\n",
			&w, &out);
	CHECK(!err && !w.tls && w.n_users == 1 && !strcmp(w.users[0].name, "prom"),
	      "nulls, a YAML 1.1 boolean, one user: %d %s", err, out);
	free(out);
	webcfg_free(&w);
	err = read_text("http_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\n"
			"    Content-Security-Policy: \"default-src 'self'\"\n",
			&w, &out);
	CHECK(!err && w.n_headers == 2 && !strcmp(w.headers[1].value, "default-src 'self'"),
	      "headers: %d %s", err, out);
	free(out);
	webcfg_free(&w);
}

static void test_errors(void)
{
	expect_error("basic_auth_users: &u\n  prom: " HASH "\nhttp_server_config:\n  headers: *u\n",
		     ":4:12: error: headers: aliases are not supported in a web configuration");
	expect_error("basic_auth_users:\n---\nbasic_auth_users:\n",
		     ":2:1: error: a web configuration is one YAML document, not several");
	expect_error("tls_server_config: [1, 2]\n",
		     ":1:20: error: tls_server_config must be a mapping, not a list");
	expect_error("- a\n", ":1:1: error: the web configuration must be a mapping, not a list");
	expect_error("http_server_config:\n  http2: maybe\n",
		     ":2:10: error: http2: 'maybe' is not true or false");
	expect_error("http_server_config:\n  http2: \"false\"\n",
		     ":2:10: error: http2: 'false' is not true or false");
	expect_error("basic_auth_users:\n  prom:\n    - " HASH "\n",
		     ":3:5: error: prom must be a string, not a list");
	expect_error("tls_server_config:\n  min_version: TLS12\n  min_version: TLS13\n",
		     ":3:3: error: 'min_version' is given twice (first on line 2)");
	expect_error("basic_auth_users:\n  prom: " HASH
		     "\n  eve: $2x$04$e1Ly9nkkPxjhc1CqOfb5W.6xNh2HNeAJ8RvMfK/AXi3mHJaSyHuXi\n",
		     ":3:8: error: the password of 'eve' is not a bcrypt hash");
	expect_error(
		"tls_server_conf:\n  cert_file: a\n",
		":1:1: error: unknown key 'tls_server_conf' in the web configuration (did you mean 'tls_server_config'?)");
	expect_error(
		"basic_auth_users:\n  a: b\nnope: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n",
		":3:1: error: unknown key 'nope' in the web configuration");
	/* a control character: libyaml says where only as an offset */
	expect_error("basic_auth_users:\n  pr\x1bom: x\n",
		     ":2:5: error: invalid YAML: control characters are not allowed");
	expect_error(
		"http_server_config:\n  headers:\n    X-XSS-Protection: \"1\\r\\nSet-Cookie: a=b\"\n",
		":3:23: error: the value of X-XSS-Protection holds a line break");
}

/* TLS settings without a certificate: checked all the same, and refused (the exporters
 * would serve plain HTTP and ignore them). */
static void test_tls_without_cert(void)
{
	expect_error("tls_server_config:\n  min_version: TLS99\n",
		     ":2:16: error: unknown TLS version 'TLS99'");
	expect_error("tls_server_config:\n  cipher_suites: [BOGUS]\n",
		     ":2:19: error: unknown cipher 'BOGUS'");
	expect_error("tls_server_config:\n  max_version: TLS12\n  curve_preferences: [P256]\n",
		     ":3:23: error: unknown curve 'P256'");
	expect_error(
		"tls_server_config:\n  max_version: TLS12\n",
		":2:16: error: max_version is set but TLS is off: it needs cert_file and key_file");
	expect_error(
		"tls_server_config:\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n",
		":2:18: error: cipher_suites is set but TLS is off: it needs cert_file and key_file");
	expect_error("tls_server_config:\n  prefer_server_cipher_suites: false\n",
		     ":2:32: error: prefer_server_cipher_suites is set but TLS is off");
}

static void test_password(void)
{
	struct webcfg_attempt a;
	struct webcfg w;
	char *out = NULL;

	CHECK(!read_text("basic_auth_users:\n  prom: " HASH "\n", &w, &out), "read: %s", out);
	free(out);
	CHECK(webcfg_password_ok(&w, "prom", "s3cret"), "the right password");
	CHECK(w.users[0].have_ok, "remembered after a match");
	CHECK(webcfg_password_ok(&w, "prom", "s3cret"), "the right password again (remembered)");
	CHECK(!webcfg_password_ok(&w, "prom", "s3cret "), "a wrong password");
	CHECK(!webcfg_password_ok(&w, "prom", ""), "an empty password");
	CHECK(!webcfg_password_ok(&w, "mallory", "s3cret"), "an unknown user with the password");
	/* failures are remembered too; an unknown user is checked against a fixed cost-10 hash */
	CHECK(webcfg_auth_cached(&w, "prom", "s3cret ", &a) == 0, "a failure remembered");
	CHECK(webcfg_auth_cached(&w, "prom", "other", &a) == -EAGAIN && a.known &&
		      !strcmp(a.hash, HASH),
	      "a new password needs bcrypt against the user's hash");
	CHECK(webcfg_auth_cached(&w, "eve", "x", &a) == -EAGAIN && !a.known &&
		      !strncmp(a.hash, "$2y$10$", 7),
	      "an unknown user: the dummy hash of cost 10");
	webcfg_auth_remember(&w, "eve", &a, false);
	CHECK(webcfg_auth_cached(&w, "eve", "x", &a) == 0, "an unknown user's failure remembered");
	CHECK(webcfg_auth_cached(&w, "prom", "s3cret", &a) == 1, "the success still remembered");
	webcfg_free(&w);
}

int main(void)
{
	test_accepted();
	test_errors();
	test_tls_without_cert();
	test_password();
	return check_report("test_webcfg");
}
