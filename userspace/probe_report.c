// SPDX-License-Identifier: GPL-2.0
/* Probe reports: a verdict line per target and its checks, or one JSON document. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "probe.h"
#include "textsafe.h"

static const char *const status_names[] = { "n/a", "pass", "fail", "warn" };

static const char *mode_name(const struct probe_target *t)
{
	return t->proto == PROTO_IMPLICIT ? "implicit TLS" : "STARTTLS";
}

static unsigned int n_failed(const struct probe_result *r)
{
	unsigned int n = 0;

	for (int i = 0; i < PC__N; i++)
		n += r->checks[i].st == PS_FAIL;
	return n;
}

static unsigned int n_warned(const struct probe_result *r)
{
	unsigned int n = 0;

	for (int i = 0; i < PC__N; i++)
		n += r->checks[i].st == PS_WARN;
	return n;
}

void probe_verdict_text(const struct probe_result *r, char *out, size_t len)
{
	unsigned int f = n_failed(r), w = n_warned(r);

	if (!r->reachable)
		snprintf(out, len, "UNREACHABLE: %s", r->error);
	else if (f)
		snprintf(out, len, "NOT COMPLIANT (%u check%s failed)", f, f == 1 ? "" : "s");
	else if (w)
		snprintf(out, len, "COMPLIANT (%u warning%s)", w, w == 1 ? "" : "s");
	else
		snprintf(out, len, "COMPLIANT");
}

/* What a server says (greetings, errors, names in its certificate) ends up in the evidence:
 * every string of a report is written escaped. */
void probe_report_text(FILE *out, const struct probe_target *t, const struct probe_result *r,
		       size_t n)
{
	char v[320], safe[4][TEXTSAFE_LEN(320)];

	for (size_t i = 0; i < n; i++) {
		probe_verdict_text(&r[i], v, sizeof(v));
		/* the address only when the target did not say it */
		bool addr = r[i].address[0] && strcmp(r[i].address, t[i].spec);

		fprintf(out, "%s%s%s (%s%s%s%s%s): %s\n",
			textsafe(t[i].label, safe[0], sizeof(safe[0])), t[i].label[0] ? ": " : "",
			textsafe(t[i].spec, safe[1], sizeof(safe[1])),
			addr ? textsafe(r[i].address, safe[2], sizeof(safe[2])) : "",
			addr ? ", " : "", mode_name(&t[i]), t[i].proto ? " " : "",
			t[i].proto ? probe_proto_names[t[i].proto] : "",
			textsafe(v, safe[3], sizeof(safe[3])));
		if (r[i].reachable)
			probe_report_checks(out, &r[i], "  ");
	}
}

void probe_report_checks(FILE *out, const struct probe_result *r, const char *indent)
{
	char safe[TEXTSAFE_LEN(320)];

	for (int c = 0; c < PC__N; c++)
		fprintf(out, "%s%-4s %-19s %s\n", indent, status_names[r->checks[c].st],
			probe_check_names[c], textsafe(r->checks[c].evidence, safe, sizeof(safe)));
}

int probe_json_str(struct json_object *o, const char *k, const char *v)
{
	return probe_json_obj(o, k, json_object_new_string(v ? v : ""));
}

int probe_json_obj(struct json_object *o, const char *k, struct json_object *v)
{
	if (!o || !v || json_object_object_add(o, k, v)) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

struct json_object *probe_target_json(const struct probe_target *t, const struct probe_result *r)
{
	struct json_object *o = json_object_new_object(), *checks, *tls, *cert;
	char v[320];
	int ret = 0;

	if (!o)
		return NULL;
	probe_verdict_text(r, v, sizeof(v));
	ret |= probe_json_str(o, "target", t->spec);
	if (t->label[0])
		ret |= probe_json_str(o, "probe", t->label);
	ret |= probe_json_str(o, "address", r->address);
	ret |= probe_json_obj(o, "port", json_object_new_int(t->port));
	ret |= probe_json_str(o, "mode", t->proto == PROTO_IMPLICIT ? "implicit" : "starttls");
	ret |= probe_json_str(o, "protocol", probe_proto_names[t->proto]);
	ret |= probe_json_obj(o, "reachable", json_object_new_boolean(r->reachable));
	ret |= probe_json_obj(o, "compliant", json_object_new_boolean(probe_compliant(r)));
	ret |= probe_json_str(o, "verdict", v);
	if (!r->reachable)
		ret |= probe_json_str(o, "error", r->error);
	ret |= probe_json_str(o, "starttls", starttls_outcome_names[r->starttls]);
	ret |= probe_json_obj(o, "elapsed_ms", json_object_new_int(r->elapsed_ms));
	if (r->tls_version[0]) {
		tls = json_object_new_object();
		if (tls) {
			ret |= probe_json_str(tls, "version", r->tls_version);
			ret |= probe_json_str(tls, "cipher", r->cipher);
			ret |= probe_json_str(tls, "group", r->group);
			ret |= probe_json_str(tls, "alpn", r->alpn);
		}
		ret |= probe_json_obj(o, "tls", tls);
	}
	if (r->have_cert) {
		cert = json_object_new_object();
		if (cert) {
			ret |= probe_json_str(cert, "subject", r->subject);
			ret |= probe_json_str(cert, "issuer", r->issuer);
			ret |= probe_json_obj(cert, "days_left",
					      json_object_new_int64(r->days_left));
			ret |= probe_json_obj(cert, "chain_days_left",
					      json_object_new_int64(r->chain_days_left));
		}
		ret |= probe_json_obj(o, "certificate", cert);
	}
	checks = json_object_new_array();
	for (int c = 0; checks && c < PC__N; c++) {
		struct json_object *e = json_object_new_object();

		if (!e) {
			ret = -ENOMEM;
			break;
		}
		ret |= probe_json_str(e, "name", probe_check_names[c]);
		ret |= probe_json_str(e, "status", status_names[r->checks[c].st]);
		ret |= probe_json_str(e, "evidence", r->checks[c].evidence);
		if (json_object_array_add(checks, e)) {
			json_object_put(e);
			ret = -ENOMEM;
		}
	}
	ret |= probe_json_obj(o, "checks", checks);
	if (ret) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

int probe_report_json_add(struct json_object *root, const struct probe_target *t,
			  const struct probe_result *r, size_t n)
{
	struct json_object *arr = json_object_new_array(), *sum = json_object_new_object();
	int64_t ok = 0, bad = 0, down = 0;
	int ret = 0;

	for (size_t i = 0; arr && i < n; i++) {
		struct json_object *o = probe_target_json(&t[i], &r[i]);

		ret |= !o || json_object_array_add(arr, o) ? (json_object_put(o), -ENOMEM) : 0;
		down += !r[i].reachable;
		ok += r[i].reachable && probe_compliant(&r[i]);
		bad += r[i].reachable && !probe_compliant(&r[i]);
	}
	ret |= probe_json_obj(sum, "targets", json_object_new_int64(n));
	ret |= probe_json_obj(sum, "compliant", json_object_new_int64(ok));
	ret |= probe_json_obj(sum, "noncompliant", json_object_new_int64(bad));
	ret |= probe_json_obj(sum, "unreachable", json_object_new_int64(down));
	ret |= probe_json_obj(root, "targets", arr) | probe_json_obj(root, "summary", sum);
	return ret ? -ENOMEM : 0;
}

int probe_json_print(FILE *out, struct json_object *root, int ret)
{
	if (!ret && root)
		fprintf(out, "%s\n",
			json_object_to_json_string_ext(
				root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	return ret || !root ? -ENOMEM : 0;
}

int probe_report_json(FILE *out, const struct probe_target *t, const struct probe_result *r,
		      size_t n)
{
	struct json_object *root = json_object_new_object();

	return probe_json_print(out, root, probe_report_json_add(root, t, r, n));
}
