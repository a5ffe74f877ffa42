// SPDX-License-Identifier: GPL-2.0
/*
 * Reports of probed mail domains: a verdict line per domain (the protection in force, or
 * how many checks failed), what DNS said, each MX host with its addresses, TLSA records,
 * DANE verdict and SMTP checks, MTA-STS and TLS-RPT, then every failing check and warning.
 * Or one JSON document with the same content.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "probe_domain.h"
#include "textsafe.h"

void domain_verdict_text(const struct domain_result *r, char *out, size_t len)
{
	const char *prot = domain_protection_names[r->prot];

	if (!r->reachable)
		snprintf(out, len, "UNREACHABLE (%zu check%s failed)", r->n_fail,
			 r->n_fail == 1 ? "" : "s");
	else if (r->n_fail)
		snprintf(out, len, "NOT PROTECTED AS CLAIMED (%zu check%s failed); in force: %s",
			 r->n_fail, r->n_fail == 1 ? "" : "s", prot);
	else
		snprintf(out, len, "PROTECTED: %s", prot);
}

static const char *mx_dane_name(const struct mx_host *h)
{
	return h->dane == DANE_NA ? "no-dane" : probe_dane_names[h->dane];
}

static void tlsa_text(const struct dns_tlsa *t, char *out, size_t len)
{
	size_t o = snprintf(out, len, "%u %u %u ", t->usage, t->selector, t->mtype);

	for (size_t i = 0; i < t->len && i < 8 && o + 3 < len; i++)
		o += snprintf(out + o, len - o, "%02x", t->data[i]);
	if (t->len > 8 && o + 4 < len)
		snprintf(out + o, len - o, "...");
}

static void host_text(FILE *out, const struct domain_result *r, const struct mx_host *h)
{
	char d[300], v[320], rr[64];

	/* names, reasons and evidence come from DNS and from the servers: escaped */
	char safe[TEXTSAFE_LEN(320)];

	if (h->implicit)
		fprintf(out, "  %s (no MX: the domain itself, RFC 5321 5.1)\n",
			textsafe(h->name, safe, sizeof(safe)));
	else
		fprintf(out, "  %s (preference %u)\n", textsafe(h->name, safe, sizeof(safe)),
			h->pref);
	dns_describe(&h->a, d, sizeof(d));
	fprintf(out, "    A        %s\n", d);
	dns_describe(&h->aaaa, d, sizeof(d));
	fprintf(out, "    AAAA     %s\n", d);
	if (h->tlsa_asked) {
		dns_describe(&h->tlsa, d, sizeof(d));
		fprintf(out, "    TLSA     %s", d);
		for (size_t i = 0; i < h->n_rr; i++) {
			tlsa_text(&h->rr[i], rr, sizeof(rr));
			fprintf(out, "%s%s", i ? ", " : ": ", rr);
		}
		fputc('\n', out);
	}
	fprintf(out, "    DANE     %s: %s\n", mx_dane_name(h),
		textsafe(h->dane_why, safe, sizeof(safe)));
	if (r->policy_ok)
		fprintf(out, "    MTA-STS  %s\n",
			h->sts_match ? "matches an mx pattern" : "matches no mx pattern");
	for (size_t i = h->first; i < h->first + h->n; i++) {
		probe_verdict_text(&r->r[i], v, sizeof(v));
		fprintf(out, "    %s: ", r->r[i].address[0] ? r->r[i].address : r->t[i].spec);
		textsafe_fputs(v, out);
		fputc('\n', out);
		if (r->r[i].reachable)
			probe_report_checks(out, &r->r[i], "      ");
	}
}

static void sts_text(FILE *out, const struct domain_result *r)
{
	char d[300];

	dns_describe(&r->sts_txt, d, sizeof(d));
	fprintf(out, "  MTA-STS  TXT %s: %s", d,
		r->sts_record	? "v=STSv1, id " :
		r->sts_error[0] ? "invalid" :
				  "no v=STSv1 record");
	if (r->sts_record)
		textsafe_fputs(r->sts.id, out);
	fputc('\n', out);
	if (!r->sts_fetched)
		return;
	fputs("           ", out);
	textsafe_fputs(r->fetch.url, out);
	fputs(": ", out);
	textsafe_fputs(r->fetch.error[0] ? r->fetch.error : "fetched", out);
	fputc('\n', out);
	if (!r->policy_ok)
		return;
	fprintf(out, "           mode %s, max_age %ld, mx", sts_mode_names[r->policy.mode],
		r->policy.max_age);
	for (size_t k = 0; k < r->policy.n_mx; k++) {
		fputs(k ? ", " : " ", out);
		textsafe_fputs(r->policy.mx[k], out);
	}
	fprintf(out, "%s\n", r->policy.n_mx ? "" : " (none)");
}

static void one_text(FILE *out, const struct domain_result *r)
{
	char v[320], d[300];

	domain_verdict_text(r, v, sizeof(v));
	textsafe_fputs(r->label, out);
	fputs(r->label[0] ? ": " : "", out);
	textsafe_fputs(r->domain, out);
	fprintf(out, ": %s\n", v);
	dns_describe(&r->mx, d, sizeof(d));
	fprintf(out, "  MX       %s%s\n", d,
		r->null_mx ? ": null MX, the domain takes no mail" : "");
	for (size_t i = 0; i < r->n_mx; i++)
		host_text(out, r, &r->mx_hosts[i]);
	sts_text(out, r);
	dns_describe(&r->rpt_txt, d, sizeof(d));
	fprintf(out, "  TLS-RPT  TXT %s: %s", d,
		r->rpt_record	? "v=TLSRPTv1, rua" :
		r->rpt_error[0] ? "invalid" :
				  "no v=TLSRPTv1 record");
	for (size_t i = 0; r->rpt_record && i < r->rpt.n_rua; i++) {
		fputs(i ? ", " : " ", out);
		textsafe_fputs(r->rpt.rua[i], out);
	}
	fputc('\n', out);
	for (size_t i = 0; i < r->n_f; i++) {
		fprintf(out, "  %s %-8s ", r->f[i].warning ? "warn" : "fail", r->f[i].check);
		textsafe_fputs(r->f[i].subject, out);
		fputs(": ", out);
		textsafe_fputs(r->f[i].evidence, out);
		fputc('\n', out);
	}
	if (r->n_lost)
		fprintf(out, "  (%zu more not shown)\n", r->n_lost);
}

void domain_report_text(FILE *out, const struct domain_result *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		one_text(out, &r[i]);
}

/* ---- JSON ------------------------------------------------------------------------------- */

static int add_int(struct json_object *o, const char *k, int64_t v)
{
	return probe_json_obj(o, k, json_object_new_int64(v));
}

static int add_bool(struct json_object *o, const char *k, bool v)
{
	return probe_json_obj(o, k, json_object_new_boolean(v));
}

static int add_dns(struct json_object *o, const char *k, const struct dns_answer *a)
{
	char d[300];

	dns_describe(a, d, sizeof(d));
	return probe_json_str(o, k, d);
}

static struct json_object *tlsa_json(const struct mx_host *h)
{
	struct json_object *o = json_object_new_object(), *arr = json_object_new_array();
	int ret = add_dns(o, "status", &h->tlsa) | add_int(o, "records", h->n_tlsa_all);

	for (size_t i = 0; arr && i < h->n_rr; i++) {
		const struct dns_tlsa *t = &h->rr[i];
		struct json_object *e = json_object_new_object();
		char hex[2 * 64 + 1] = "";

		for (size_t k = 0; k < t->len && k < 64; k++)
			snprintf(hex + 2 * k, 3, "%02x", t->data[k]);
		ret |= add_int(e, "usage", t->usage) | add_int(e, "selector", t->selector) |
		       add_int(e, "matching", t->mtype) | probe_json_str(e, "data", hex);
		ret |= json_object_array_add(arr, e) ? (json_object_put(e), -ENOMEM) : 0;
	}
	ret |= probe_json_obj(o, "usable", arr);
	if (ret || !o) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static struct json_object *host_json(const struct domain_result *r, const struct mx_host *h)
{
	struct json_object *o = json_object_new_object(), *ts = json_object_new_array();
	int ret = probe_json_str(o, "name", h->name);

	ret |= add_int(o, "preference", h->pref) | add_bool(o, "implicit", h->implicit);
	ret |= add_dns(o, "a", &h->a) | add_dns(o, "aaaa", &h->aaaa);
	if (h->tlsa_asked)
		ret |= probe_json_obj(o, "tlsa", tlsa_json(h));
	ret |= probe_json_str(o, "dane", mx_dane_name(h));
	ret |= probe_json_str(o, "dane_evidence", h->dane_why);
	if (r->policy_ok)
		ret |= add_bool(o, "mta_sts_match", h->sts_match);
	for (size_t i = h->first; ts && i < h->first + h->n; i++) {
		struct json_object *t = probe_target_json(&r->t[i], &r->r[i]);

		if (t && r->t[i].n_tlsa)
			ret |= probe_json_str(t, "dane", probe_dane_names[r->r[i].dane]) |
			       probe_json_str(t, "dane_evidence", r->r[i].dane_evidence);
		ret |= !t || json_object_array_add(ts, t) ? (json_object_put(t), -ENOMEM) : 0;
	}
	ret |= probe_json_obj(o, "targets", ts);
	if (ret || !o) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static struct json_object *sts_json(const struct domain_result *r)
{
	struct json_object *o = json_object_new_object(), *p, *mx;
	int ret = add_dns(o, "txt", &r->sts_txt) | add_bool(o, "record", r->sts_record);

	if (r->sts_record)
		ret |= probe_json_str(o, "id", r->sts.id);
	if (r->sts_fetched) {
		ret |= probe_json_str(o, "url", r->fetch.url);
		ret |= add_int(o, "http_status", r->fetch.http_status);
		ret |= probe_json_str(o, "content_type", r->fetch.content_type);
		ret |= add_int(o, "fetch_ms", r->fetch.elapsed_ms);
	}
	if (r->sts_error[0] || r->fetch.error[0])
		ret |= probe_json_str(o, "error",
				      r->fetch.error[0] ? r->fetch.error : r->sts_error);
	if (r->policy_ok) {
		p = json_object_new_object();
		mx = json_object_new_array();
		for (size_t k = 0; mx && k < r->policy.n_mx; k++)
			ret |= json_object_array_add(mx, json_object_new_string(r->policy.mx[k]));
		ret |= probe_json_str(p, "mode", sts_mode_names[r->policy.mode]);
		ret |= add_int(p, "max_age", r->policy.max_age) | probe_json_obj(p, "mx", mx);
		ret |= probe_json_obj(o, "policy", p);
	}
	if (ret || !o) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static struct json_object *rpt_json(const struct domain_result *r)
{
	struct json_object *o = json_object_new_object(), *rua = json_object_new_array();
	int ret = add_dns(o, "txt", &r->rpt_txt) | add_bool(o, "record", r->rpt_record);

	for (size_t i = 0; rua && r->rpt_record && i < r->rpt.n_rua; i++)
		ret |= json_object_array_add(rua, json_object_new_string(r->rpt.rua[i]));
	ret |= probe_json_obj(o, "rua", rua);
	if (r->rpt_error[0])
		ret |= probe_json_str(o, "error", r->rpt_error);
	if (ret || !o) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static struct json_object *findings_json(const struct domain_result *r, bool warnings)
{
	struct json_object *arr = json_object_new_array();
	int ret = 0;

	for (size_t i = 0; arr && i < r->n_f; i++) {
		struct json_object *e;

		if (r->f[i].warning != warnings)
			continue;
		e = json_object_new_object();
		ret |= probe_json_str(e, "check", r->f[i].check) |
		       probe_json_str(e, "subject", r->f[i].subject) |
		       probe_json_str(e, "evidence", r->f[i].evidence);
		ret |= !e || json_object_array_add(arr, e) ? (json_object_put(e), -ENOMEM) : 0;
	}
	if (ret) {
		json_object_put(arr);
		return NULL;
	}
	return arr;
}

static struct json_object *domain_json(const struct domain_result *r)
{
	struct json_object *o = json_object_new_object(), *mx = json_object_new_object(), *hosts;
	char v[320];
	int ret = probe_json_str(o, "domain", r->domain);

	domain_verdict_text(r, v, sizeof(v));
	if (r->label[0])
		ret |= probe_json_str(o, "probe", r->label);
	ret |= probe_json_str(o, "protection", domain_protection_names[r->prot]);
	ret |= add_bool(o, "compliant", r->reachable && !r->n_fail);
	ret |= add_bool(o, "reachable", r->reachable) | probe_json_str(o, "verdict", v);
	ret |= add_int(o, "elapsed_ms", r->elapsed_ms);
	ret |= add_dns(mx, "status", &r->mx) | add_bool(mx, "null", r->null_mx);
	hosts = json_object_new_array();
	for (size_t i = 0; hosts && i < r->n_mx; i++) {
		struct json_object *h = host_json(r, &r->mx_hosts[i]);

		ret |= !h || json_object_array_add(hosts, h) ? (json_object_put(h), -ENOMEM) : 0;
	}
	ret |= probe_json_obj(mx, "hosts", hosts) | probe_json_obj(o, "mx", mx);
	ret |= probe_json_obj(o, "mta_sts", sts_json(r)) |
	       probe_json_obj(o, "tls_rpt", rpt_json(r));
	ret |= probe_json_obj(o, "failures", findings_json(r, false));
	ret |= probe_json_obj(o, "warnings", findings_json(r, true));
	if (ret || !o) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

int domain_report_json_add(struct json_object *root, const struct domain_result *r, size_t n,
			   const char *summary)
{
	struct json_object *arr = json_object_new_array(), *sum = json_object_new_object();
	int ret = 0, ok = 0, bad = 0, down = 0;

	for (size_t i = 0; arr && i < n; i++) {
		struct json_object *d = domain_json(&r[i]);

		ret |= !d || json_object_array_add(arr, d) ? (json_object_put(d), -ENOMEM) : 0;
		down += !r[i].reachable;
		bad += r[i].reachable && r[i].n_fail;
		ok += r[i].reachable && !r[i].n_fail;
	}
	ret |= add_int(sum, "domains", n) | add_int(sum, "protected", ok);
	ret |= add_int(sum, "not_protected", bad) | add_int(sum, "unreachable", down);
	ret |= probe_json_obj(root, "domains", arr) | probe_json_obj(root, summary, sum);
	return ret ? -ENOMEM : 0;
}

int domain_report_json(FILE *out, const struct domain_result *r, size_t n)
{
	struct json_object *root = json_object_new_object();

	return probe_json_print(out, root, domain_report_json_add(root, r, n, "summary"));
}
