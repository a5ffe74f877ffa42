// SPDX-License-Identifier: GPL-2.0
/*
 * tlsfw status [--json]: what is enforced in this network namespace, from the kernel alone,
 * rendered from the one model both backends fill (backend.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>

#include "backend.h"
#include "cli.h"
#include "confirm.h"
#include "names.h"
#include "textsafe.h"
#include "tlsfw.h"

static json_object *str_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static json_object *policy_json(const struct status_model *m)
{
	json_object *p = json_object_new_object();
	char when[UTC_TEXT_LEN];

	utc_text(m->applied_at, when);
	json_object_object_add(p, "file", json_object_new_string(m->file));
	json_object_object_add(p, "hash", json_object_new_string(m->hash));
	json_object_object_add(p, "applied_at", json_object_new_string(when));
	json_object_object_add(p, "applied_at_unix", json_object_new_int64(m->applied_at));
	json_object_object_add(p, "rules", json_object_new_int64(m->n_rules));
	json_object_object_add(p, "default",
			       json_object_new_string(action_name(m->default_action)));
	json_object_object_add(p, "backend", json_object_new_string(m->backend->name));
	json_object_object_add(p, "generation",
			       m->generation < 0 ? NULL : json_object_new_int(m->generation));
	json_object_object_add(p, "table", str_or_null(m->table));
	json_object_object_add(p, "flow_table_entries",
			       m->flows ? json_object_new_int64(m->flows) : NULL);
	return p;
}

/* Per interface, the policy's fields again: a script reading one interface needs no join. */
static json_object *iface_json(const struct status_model *m, const struct status_iface *si)
{
	json_object *o = json_object_new_object();
	bool p = m->have_policy;
	char when[UTC_TEXT_LEN];

	utc_text(m->applied_at, when);
	json_object_object_add(o, "name", json_object_new_string(si->name));
	json_object_object_add(o, "ifindex",
			       si->ifindex ? json_object_new_int64(si->ifindex) : NULL);
	json_object_object_add(o, "ingress", str_or_null(hook_id_name(si->ingress)));
	json_object_object_add(o, "egress", str_or_null(hook_id_name(si->egress)));
	json_object_object_add(o, "in_policy", json_object_new_boolean(si->in_policy));
	json_object_object_add(o, "foreign", json_object_new_boolean(si->foreign));
	json_object_object_add(
		o, "applied_name",
		json_object_new_string(*si->applied_name ? si->applied_name : si->name));
	json_object_object_add(o, "lost",
			       str_or_null(si->lost == IFACE_DELETED   ? "deleted" :
					   si->lost == IFACE_RECREATED ? "recreated" :
					   si->lost == IFACE_REMOVED   ? "removed" :
					   si->lost == IFACE_ABSENT    ? "absent" :
									 NULL));
	json_object_object_add(o, "policy", p ? json_object_new_string(m->file) : NULL);
	json_object_object_add(o, "hash", p ? json_object_new_string(m->hash) : NULL);
	json_object_object_add(o, "applied_at", p ? json_object_new_string(when) : NULL);
	json_object_object_add(o, "rules", p ? json_object_new_int64(m->n_rules) : NULL);
	return o;
}

/* The pending `apply --confirm`, or null. */
static json_object *confirm_json(const struct status_model *m)
{
	const struct confirm_pending *p = &m->confirm;
	int64_t left = p->deadline_ms - confirm_now_ms();
	json_object *o;
	char when[UTC_TEXT_LEN];

	if (!m->confirm_pending)
		return NULL;
	o = json_object_new_object();
	utc_text((uint64_t)((p->deadline_ms + 999) / 1000), when);
	json_object_object_add(o, "policy", json_object_new_string(p->policy));
	json_object_object_add(o, "deadline", json_object_new_string(when));
	json_object_object_add(o, "deadline_unix",
			       json_object_new_int64((p->deadline_ms + 999) / 1000));
	json_object_object_add(o, "seconds_left",
			       json_object_new_int64(left > 0 ? (left + 999) / 1000 : 0));
	json_object_object_add(o, "rollback",
			       json_object_new_string(p->restore ? "restore" : "detach"));
	json_object_object_add(o, "rollback_policy",
			       p->restore ? json_object_new_string(p->restore_file) : NULL);
	json_object_object_add(o, "rollback_hash",
			       p->restore ? json_object_new_string(p->restore_hash) : NULL);
	json_object_object_add(o, "watchdog_pid", json_object_new_int64(p->pid));
	return o;
}

/* Some interface is filtered in some direction. */
static bool enforced(const struct status_model *m)
{
	for (size_t i = 0; i < m->n_ifaces; i++)
		if (!m->ifaces[i].foreign &&
		    (m->ifaces[i].ingress != HOOK_NONE || m->ifaces[i].egress != HOOK_NONE))
			return true;
	return false;
}

static int print_json(const struct status_model *m)
{
	json_object *doc = json_object_new_object(), *ifs = json_object_new_array();

	json_object_object_add(doc, "enforced", json_object_new_boolean(enforced(m)));
	json_object_object_add(doc, "backend", m->backend ? str_or_null(m->backend->name) : NULL);
	json_object_object_add(doc, "policy", m->have_policy ? policy_json(m) : NULL);
	for (size_t i = 0; i < m->n_ifaces; i++)
		json_object_array_add(ifs, iface_json(m, &m->ifaces[i]));
	json_object_object_add(doc, "interfaces", ifs);
	json_object_object_add(doc, "confirm", confirm_json(m));
	puts(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY |
							 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(doc);
	return fflush(stdout) ? EXIT_SYSTEM : EXIT_OK;
}

static void ago(uint64_t t, char *buf, size_t len)
{
	long d = (long)(time(NULL) - (time_t)t);

	if (d < 0)
		snprintf(buf, len, "in the future");
	else if (d < 120)
		snprintf(buf, len, "%ld s ago", d);
	else if (d < 7200)
		snprintf(buf, len, "%ld min ago", d / 60);
	else if (d < 172800)
		snprintf(buf, len, "%ld h ago", d / 3600);
	else
		snprintf(buf, len, "%ld days ago", d / 86400);
}

static void print_policy(const struct status_model *m)
{
	char when[UTC_TEXT_LEN], since[32], buf[TEXTSAFE_LEN(TLSFW_PATH_MAX)];

	utc_text(m->applied_at, when);
	ago(m->applied_at, since, sizeof(since));
	printf("policy   %s\n", textsafe(m->file, buf, sizeof(buf)));
	printf("hash     %s\n", textsafe(m->hash, buf, sizeof(buf)));
	printf("applied  %s (%s)\n", when, since);
	printf("rules    %u, default %s\n", m->n_rules, action_name(m->default_action));
	printf("backend  %s (%s)\n", m->backend->name, m->backend->what);
	if (m->flows)
		printf("flows    %u entries in the flow table\n", m->flows);
	putchar('\n');
}

static void print_confirm(const struct status_model *m)
{
	char when[80], what[TEXTSAFE_LEN(TLSFW_PATH_MAX) + 40];
	char safe[TEXTSAFE_LEN(TLSFW_PATH_MAX)];

	confirm_when(&m->confirm, when, sizeof(when));
	confirm_rollback_text(&m->confirm, what, sizeof(what));
	printf("confirm  pending: %s waits for `tlsfw confirm` until %s, then tlsfw %s\n\n",
	       textsafe(m->confirm.policy, safe, sizeof(safe)), when, what);
}

static int print_text(const struct status_model *m)
{
	if (!m->n_ifaces) {
		printf("tlsfw: nothing enforced in this network namespace\n");
		if (m->confirm_pending)
			print_confirm(m);
		return EXIT_OK;
	}
	if (m->have_policy)
		print_policy(m);
	else if (!enforced(m))
		printf("tlsfw: nothing enforced in this network namespace\n\n");
	if (m->confirm_pending)
		print_confirm(m);
	printf("%-16s %-12s %-8s %s\n", "INTERFACE", "INGRESS", "EGRESS", "RULES");
	for (size_t i = 0; i < m->n_ifaces; i++) {
		const struct status_iface *si = &m->ifaces[i];
		char name[TEXTSAFE_LEN(IF_NAMESIZE)];

		printf("%-16s %-12s %-8s ", textsafe(si->name, name, sizeof(name)),
		       hook_label(si->ingress), hook_label(si->egress));
		if (si->foreign)
			printf("none here: the tlsfw programs of another network namespace's policy (moved here after that apply): run `tlsfw detach %s`\n",
			       name);
		else if (si->lost == IFACE_DELETED)
			printf("none: deleted (or moved to another network namespace) since the policy was applied\n");
		else if (si->lost == IFACE_REMOVED && si->ingress == HOOK_NONE &&
			 si->egress == HOOK_NONE)
			printf("none: tlsfw's programs were removed by another tool since the policy was applied (run `tlsfw apply` again)\n");
		else if (si->lost == IFACE_REMOVED)
			printf("%u, but tlsfw's %s program was removed by another tool since the policy was applied (run `tlsfw apply` again)\n",
			       m->n_rules, si->ingress == HOOK_NONE ? "ingress" : "egress");
		else if (si->lost == IFACE_ABSENT)
			printf("none: no interface of that name now (nftables filters one again once it appears)\n");
		else if (si->lost == IFACE_RECREATED)
			printf("none: deleted and created again since the policy was applied (run `tlsfw apply` again)\n");
		else if (si->in_policy && *si->applied_name)
			printf("%u (renamed: %s when the policy was applied)\n", m->n_rules,
			       textsafe(si->applied_name, name, sizeof(name)));
		else if (si->in_policy)
			printf("%u\n", m->n_rules);
		else
			printf("none (left by an interrupted apply: run `tlsfw detach` for it)\n");
	}
	return EXIT_OK;
}

static int cmd_status(int argc, char **argv)
{
	struct status_model m;
	struct cli_parse p;
	const char *arg;
	bool json = false;
	struct diag d;
	int ret, key;

	cli_begin(&p, &cli_status, argc, argv);
	while ((key = cli_next(&p, &arg)) >= 0)
		json |= key == 'j';
	if (key == CLI_STOP)
		return p.status;
	if (p.n_args)
		return cli_usage_error(&cli_status, "unexpected argument '%s'", p.args[0]);
	diag_init(&d);
	if (backend_status(&m, &d) || confirm_read(&m.confirm, &m.confirm_pending, &d))
		ret = EXIT_SYSTEM;
	else
		ret = json ? print_json(&m) : print_text(&m);
	diag_print(&d, stderr);
	diag_free(&d);
	status_model_free(&m);
	return ret;
}

static const char *const forms[] = { "[--json]", NULL };
static const struct cli_opt opts[] = { { "json", NULL, 'j' }, { NULL } };
const struct cli_cmd cli_status = { "status", forms, opts, cmd_status };
