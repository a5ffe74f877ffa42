// SPDX-License-Identifier: GPL-2.0
/* Probe reports: JSON carries every check of every target; the verdict and exit logic. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "probe.h"

#include "check.h"

static const char *str(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

int main(void)
{
	struct probe_target t[3];
	struct probe_result r[3];
	char *buf = NULL;
	struct diag d;
	const struct probe_diag pd = { .d = &d };
	size_t len = 0;
	FILE *f;

	memset(r, 0, sizeof(r));
	diag_init(&d);
	CHECK(!probe_target_parse(&t[0], &(struct target_spec){ "mail.test:submission" }, &pd),
	      "%s", d.n ? d.recs[0].msg : "");
	CHECK(!probe_target_parse(&t[1], &(struct target_spec){ "192.0.2.1:993" }, &pd), "%s",
	      d.n ? d.recs[0].msg : "");
	CHECK(!probe_target_parse(&t[2], &(struct target_spec){ "[2001:db8::1]:25" }, &pd), "%s",
	      d.n ? d.recs[0].msg : "");
	snprintf(t[0].label, sizeof(t[0].label), "corp-submission");
	/* ftps is 989 (data) and 990 (control): a new connection goes to the control port */
	CHECK(!probe_target_parse(&t[1], &(struct target_spec){ "ftp.test:ftps" }, &pd), "%s",
	      d.n ? d.recs[0].msg : "");
	CHECK(t[1].port == 990 && t[1].proto == PROTO_IMPLICIT, "ftps: port %u", t[1].port);
	CHECK(!probe_target_parse(&t[1], &(struct target_spec){ "192.0.2.1:993" }, &pd), "%s",
	      d.n ? d.recs[0].msg : "");

	r[0].reachable = true;
	r[0].starttls = ST_STRIPPED;
	snprintf(r[0].address, sizeof(r[0].address), "192.0.2.25:587");
	r[0].checks[PC_STARTTLS].st = PS_FAIL;
	snprintf(r[0].checks[PC_STARTTLS].evidence, 64, "stripped \"quoted\"\n");
	r[1].reachable = true;
	r[1].checks[PC_HANDSHAKE].st = PS_PASS;
	snprintf(r[1].tls_version, sizeof(r[1].tls_version), "TLSv1.3");
	r[1].have_cert = true;
	r[1].days_left = 42;
	snprintf(r[2].error, sizeof(r[2].error), "connect: Connection refused");

	CHECK(!probe_compliant(&r[0]), "a failed check");
	CHECK(probe_compliant(&r[1]), "only pass and n/a");
	CHECK(!probe_compliant(&r[2]), "unreachable");

	f = open_memstream(&buf, &len);
	CHECK(!probe_report_json(f, t, r, 3), "json");
	fclose(f);
	struct json_object *root = json_tokener_parse(buf), *targets, *sum, *x;

	CHECK(root != NULL, "not JSON: %s", buf);
	if (root) {
		CHECK(json_object_object_get_ex(root, "targets", &targets) &&
			      json_object_array_length(targets) == 3,
		      "3 targets");
		struct json_object *a = json_object_array_get_idx(targets, 0);
		struct json_object *b = json_object_array_get_idx(targets, 1);
		struct json_object *c = json_object_array_get_idx(targets, 2);

		CHECK(!strcmp(str(a, "probe"), "corp-submission"), "label");
		CHECK(!strcmp(str(a, "starttls"), "stripped"), "outcome");
		CHECK(!strcmp(str(a, "mode"), "starttls") && !strcmp(str(a, "protocol"), "smtp"),
		      "mode");
		CHECK(json_object_object_get_ex(a, "checks", &x) &&
			      json_object_array_length(x) == PC__N,
		      "every check");
		x = json_object_array_get_idx(x, PC_STARTTLS);
		CHECK(!strcmp(str(x, "name"), "starttls") && !strcmp(str(x, "status"), "fail") &&
			      !strcmp(str(x, "evidence"), "stripped \"quoted\"\n"),
		      "check round trip");
		CHECK(!strcmp(str(b, "mode"), "implicit") &&
			      !strcmp(str(b, "verdict"), "COMPLIANT"),
		      "implicit");
		CHECK(json_object_object_get_ex(b, "certificate", &x) &&
			      json_object_object_get_ex(x, "days_left", &x) &&
			      json_object_get_int(x) == 42,
		      "days_left");
		CHECK(!strcmp(str(c, "error"), "connect: Connection refused") &&
			      strstr(str(c, "verdict"), "UNREACHABLE"),
		      "unreachable");
		CHECK(json_object_object_get_ex(root, "summary", &sum) &&
			      json_object_object_get_ex(sum, "unreachable", &x) &&
			      json_object_get_int(x) == 1 &&
			      json_object_object_get_ex(sum, "compliant", &x) &&
			      json_object_get_int(x) == 1,
		      "summary");
		json_object_put(root);
	}
	free(buf);

	buf = NULL;
	f = open_memstream(&buf, &len);
	probe_report_text(f, t, r, 3);
	fclose(f);
	CHECK(strstr(buf,
		     "corp-submission: mail.test:submission (192.0.2.25:587, STARTTLS smtp): NOT COMPLIANT (1 check failed)\n") !=
		      NULL,
	      "verdict line:\n%s", buf);
	CHECK(strstr(buf, "  fail starttls ") != NULL, "check line:\n%s", buf);
	CHECK(strstr(buf,
		     "[2001:db8::1]:25 (STARTTLS smtp): UNREACHABLE: connect: Connection refused\n") !=
		      NULL,
	      "unreachable line:\n%s", buf);
	free(buf);
	diag_free(&d);

	if (failures) {
		printf("%d failures\n", failures);
		return 1;
	}
	printf("all probe report tests passed\n");
	return 0;
}
