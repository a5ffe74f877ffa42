// SPDX-License-Identifier: GPL-2.0
/*
 * tlsfw explain [POLICY] PROTO SRC[:PORT] DST[:PORT] [--iface IF] [--dir ingress|egress]
 * [--json]: which rule decides the packet, and why the rules before it do not. With POLICY,
 * against that policy compiled; without, against the enforced one (enforced.h): for backend
 * bpf the verdict is read from the maps' active generation (explain_maps.h) and the reasons
 * from the recorded policy file if it is unchanged and agrees; for backend nft from the
 * recorded policy file only, which must be unchanged. Without --iface / --dir: every
 * interface and direction the policy hooks.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <json-c/json.h>

#include "cli.h"
#include "compile.h"
#include "enforced.h"
#include "explain.h"
#include "explain_maps.h"
#include "icmp_types.h"
#include "name_table.h"
#include "textsafe.h"
#include "tlsfw.h"

struct target {
	char ifname[IFNAMSIZ];
	uint8_t dir;
};

struct job {
	struct explain_pkt pkt; /* without interface and direction */
	const char *iface;	/* --iface, or NULL */
	int dir;		/* --dir, or -1 */
	bool json;
	json_object *all; /* --json: the explanations */
};

/* One explanation, printed. */
static int emit(struct job *j, const struct explain *e, const struct explain_pkt *p, bool first)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem;
	int err;

	if (!j->json) {
		if (!first)
			putchar('\n');
		explain_print(e, p, stdout);
		return 0;
	}
	/* explain_print_json writes a document: parse it back into the list */
	mem = open_memstream(&buf, &len);
	if (!mem)
		return -ENOMEM;
	err = explain_print_json(e, p, mem);
	fclose(mem);
	if (!err)
		json_object_array_add(j->all, json_tokener_parse(buf));
	free(buf);
	return err;
}

/* The (interface, direction) pairs to explain: --iface and --dir, else what pl hooks. */
static size_t targets_of_plan(const struct job *j, const struct plan *pl, struct target *t)
{
	size_t n = 0;

	for (size_t i = 0; i < pl->n_ifaces && n < TLSFW_MAX_CTX; i++) {
		for (int dir = TLSFW_DIR_INGRESS; dir <= TLSFW_DIR_EGRESS; dir++) {
			unsigned int hook = dir ? POL_HOOK_EGRESS : POL_HOOK_INGRESS;

			if ((j->iface && strcmp(j->iface, pl->ifaces[i].name)) ||
			    (j->dir >= 0 && j->dir != dir) ||
			    (!j->iface && !(pl->ifaces[i].hooks & hook)))
				continue;
			snprintf(t[n].ifname, sizeof(t[n].ifname), "%s", pl->ifaces[i].name);
			t[n++].dir = dir;
		}
	}
	if (!n && j->iface) { /* an interface the policy does not name: not hooked */
		snprintf(t[0].ifname, sizeof(t[0].ifname), "%.15s", j->iface);
		t[n++].dir = j->dir >= 0 ? j->dir : TLSFW_DIR_INGRESS;
	}
	return n;
}

static int explain_with_plan(struct job *j, const struct plan *pl, const char *note)
{
	struct target t[TLSFW_MAX_CTX];
	size_t n = targets_of_plan(j, pl, t);
	int err = 0;

	for (size_t i = 0; i < n && !err; i++) {
		struct explain_pkt p = j->pkt;
		struct explain e;

		memcpy(p.ifname, t[i].ifname, sizeof(p.ifname));
		p.dir = t[i].dir;
		err = explain_plan(pl, &p, &e);
		if (note || !e.note) /* explain_plan's own: state rules without --state */
			e.note = note;
		err = err ?: emit(j, &e, &p, i == 0);
		explain_free(&e);
	}
	return err;
}

/* The explanation the maps alone give: the deciding rule's record, no reasons. */
static void from_maps(const struct enforced *en, const struct explain_live_verdict *v,
		      struct explain *e)
{
	const struct tlsfw_rule_info *ri = v->matched ? &en->sm.rules[v->rule_slot] : NULL;

	memset(e, 0, sizeof(*e));
	e->file = en->file;
	e->hooked = v->hooked;
	e->rule = ri ? (long)v->rule_slot : -1;
	e->default_action = v->default_action;
	if (ri)
		e->decided = (struct explain_rule){ .name = ri->name,
						    .line = ri->line,
						    .action = v->action,
						    .monitor = v->monitor };
	e->verdict = !v->hooked	      ? TLSFW_ACT_ALLOW :
		     !ri	      ? v->default_action :
		     ri && v->monitor ? TLSFW_ACT_ALLOW :
					v->action;
	e->reasons_unknown = v->hooked;
}

/* Does the plan's explanation name the rule the maps decided by? */
static bool agrees(const struct enforced *en, const struct explain *e,
		   const struct explain_live_verdict *v)
{
	if (e->hooked != v->hooked)
		return false;
	if (!v->matched)
		return e->rule < 0;
	return e->rule >= 0 && v->rule_slot < TLSFW_MAX_RULES &&
	       !strncmp(e->decided.name, en->sm.rules[v->rule_slot].name, TLSFW_NAME_MAX);
}

static size_t targets_of_maps(const struct job *j, const struct enforced *en, struct target *t)
{
	unsigned int bit = 1u << en->sm.gen;
	size_t n = 0;

	for (size_t i = 0; i < TLSFW_MAX_CTX; i++) {
		const struct tlsfw_ctx_info *c = &en->sm.ctxs[i];

		if (!(c->in_use & bit) || (j->iface && strncmp(j->iface, c->ifname, 16)) ||
		    (j->dir >= 0 && j->dir != c->dir))
			continue;
		snprintf(t[n].ifname, sizeof(t[n].ifname), "%.15s", c->ifname);
		t[n++].dir = c->dir;
	}
	if (!n && j->iface) {
		snprintf(t[0].ifname, sizeof(t[0].ifname), "%.15s", j->iface);
		t[n++].dir = j->dir >= 0 ? j->dir : TLSFW_DIR_INGRESS;
	}
	return n;
}

static int explain_live_bpf(struct job *j, const struct enforced *en)
{
	struct target t[TLSFW_MAX_CTX];
	struct explain_live live;
	size_t n = en->have_policy ? targets_of_plan(j, &en->c.plan, t) : targets_of_maps(j, en, t);
	int err = explain_live_open(&live, &en->st.maps);

	for (size_t i = 0; i < n && !err; i++) {
		struct explain_pkt p = j->pkt;
		struct explain_live_verdict v = { 0 };
		struct explain e = { 0 };
		unsigned int ifindex = if_nametoindex(t[i].ifname);

		memcpy(p.ifname, t[i].ifname, sizeof(p.ifname));
		p.dir = t[i].dir;
		if (ifindex)
			err = explain_live_decide(&live, ifindex, &p, &v);
		if (!err && en->have_policy)
			err = explain_plan(&en->c.plan, &p, &e);
		if (!err && en->have_policy && agrees(en, &e, &v)) {
			e.note =
				"verdict from the enforced maps; reasons from the policy file, unchanged since apply";
		} else if (!err) {
			explain_free(&e);
			from_maps(en, &v, &e);
			e.note =
				en->have_policy ?
					"the policy file disagrees with the enforced maps here (a rule of a failing probe?)" :
					en->why_not;
		}
		err = err ?: emit(j, &e, &p, i == 0);
		explain_free(&e);
	}
	explain_live_close(&live);
	if (err)
		fprintf(stderr, "tlsfw: error: cannot read the enforced policy's maps: %s\n",
			strerror(-err));
	return err ? EXIT_SYSTEM : EXIT_OK;
}

static int explain_enforced(struct job *j)
{
	struct enforced en;
	struct diag d;
	int ret;

	diag_init(&d);
	if (enforced_read(&en, &d)) {
		diag_flush(&d, stderr);
		diag_free(&d);
		enforced_free(&en);
		return EXIT_SYSTEM;
	}
	diag_free(&d);
	if (en.backend == ENFORCED_NONE) {
		fprintf(stderr,
			"tlsfw: error: nothing is enforced in this network namespace; give a policy: tlsfw explain POLICY PROTO SRC DST\n");
		ret = EXIT_SYSTEM;
	} else if (en.backend == ENFORCED_BPF) {
		ret = explain_live_bpf(j, &en);
	} else if (!en.have_policy) {
		/* nf_tables rules cannot be asked for a verdict without a packet */
		fprintf(stderr,
			"tlsfw: error: backend nft is explained from the recorded policy file, but %s; give the policy: tlsfw explain POLICY PROTO SRC DST\n",
			en.why_not);
		ret = EXIT_SYSTEM;
	} else {
		ret = explain_with_plan(
			      j, &en.c.plan,
			      "backend nft: explained from the policy file recorded in table inet tlsfw, unchanged since apply") ?
			      EXIT_SYSTEM :
			      EXIT_OK;
	}
	enforced_free(&en);
	return ret;
}

static int explain_policy(struct job *j, const char *path)
{
	struct compile_opts co = { .path = path };
	struct compiled c;
	struct diag d;
	int ret = EXIT_OK, err;

	diag_init(&d);
	err = compile(&co, &c, &d);
	if (err) {
		if (err != -EINVAL)
			diag_sys_error(&d, err, "cannot compile the policy");
		diag_flush(&d, stderr);
		diag_print_summary(&d, stderr, "nothing explained");
		ret = err == -EINVAL ? EXIT_BAD_INPUT : EXIT_SYSTEM;
	} else if (explain_with_plan(j, &c.plan, NULL)) {
		ret = EXIT_SYSTEM;
	}
	compiled_free(&c);
	diag_free(&d);
	return ret;
}

static bool hop_parse(const char *s, long *v)
{
	char *end;

	*v = strtol(s, &end, 10);
	return end != s && !*end && *v >= 0 && *v <= 255;
}

/* ICMP and ICMPv6 packets carry a type, which rules with icmp_type: (and the essentials
 * rule) classify: --icmp-type, echo request when not given; the hop limit with it. */
static int icmp_of(struct explain_pkt *pkt, const char *type, long hop)
{
	bool v6 = pkt->proto == IPPROTO_ICMPV6;
	const struct icmp_type_name *n;
	char *end;
	long v;

	if (pkt->proto != IPPROTO_ICMP && !v6)
		return type ? -EINVAL : 0;
	pkt->has_type = true;
	pkt->hop_limit = hop;
	if (!type) {
		pkt->icmp_type = v6 ? 128 : 8;
		return 0;
	}
	n = icmp_type_find(type);
	v = n ? (v6 ? n->v6 : n->v4) : strtol(type, &end, 10);
	if (v < 0 || v > 255 || (!n && (*end || end == type)))
		return -EINVAL;
	pkt->icmp_type = v;
	return 0;
}

/* --state NAME: the packet's conntrack state (TLSFW_CT_*), for state rules. */
static int state_parse(const char *s, struct explain_pkt *pkt)
{
	for (unsigned int i = 0; i < POL_ST_COUNT; i++) {
		if (!strcmp(s, pol_state_names[i])) {
			pkt->ct_state = TLSFW_CT_NEW + i;
			return 0;
		}
	}
	return -EINVAL;
}

/*
 * --payload quic|tls|other: what the data plane's content inspection would see in the
 * packet (TLSFW_PL_*), for payload: and require: rules. quic: a QUIC long-header datagram
 * (UDP); tls: a TCP flow that starts with a ClientHello; other: neither.
 */
static int payload_parse(const char *s, struct explain_pkt *pkt)
{
	if (!strcmp(s, "quic") && pkt->proto == IPPROTO_UDP)
		pkt->pl = TLSFW_PL_QUIC;
	else if (!strcmp(s, "tls") && pkt->proto == IPPROTO_TCP)
		pkt->pl = TLSFW_PL_PLAIN;
	else if (!strcmp(s, "other"))
		pkt->pl = pkt->proto == IPPROTO_TCP ? TLSFW_PL_NOT_TLS : TLSFW_PL_PLAIN;
	else
		return -EINVAL;
	return 0;
}

/*
 * --sni NAME|none [--ech]: the flow's ClientHello, for sni: and ech: rules (a TCP flow that
 * starts with TLS). NULL, or what is wrong.
 */
static const char *hello_parse(const char *sni, bool ech, const char *payload,
			       struct explain_pkt *pkt)
{
	size_t len;

	if (!sni)
		return ech ? "--ech describes a ClientHello: give --sni NAME|none with it" : NULL;
	if (pkt->proto != IPPROTO_TCP)
		return "--sni: a ClientHello is sent over TCP";
	if (payload && strcmp(payload, "tls"))
		return "--sni describes a flow that starts with TLS: --payload must be tls or left out";
	if (strcmp(sni, "none") && name_normalize(sni, pkt->sni, &len) != 0)
		return "--sni is a host name (no wildcard, no trailing dot) or none";
	pkt->hello = true;
	pkt->ech = ech;
	pkt->pl = TLSFW_PL_PLAIN;
	return NULL;
}

static int cmd_explain(int argc, char **argv)
{
	struct job j = { .dir = -1 };
	const char *policy = NULL, *arg, *type = NULL, *payload = NULL, *sni = NULL, *bad;
	bool ech = false;
	long hop = 64;
	uint8_t ct;
	struct cli_parse p;
	char msg[200];
	int ret, key;

	cli_begin(&p, &cli_explain, argc, argv);
	while ((key = cli_next(&p, &arg)) >= 0) {
		if (key == 'i' && strlen(arg) >= IFNAMSIZ)
			return cli_usage_error(&cli_explain,
					       "--iface: '%s' is too long for an interface name",
					       arg);
		if (key == 'i')
			j.iface = arg;
		else if (key == 'd' && strcmp(arg, "ingress") && strcmp(arg, "egress"))
			return cli_usage_error(&cli_explain, "--dir is ingress or egress");
		else if (key == 'd')
			j.dir = !strcmp(arg, "egress");
		else if (key == 'j')
			j.json = true;
		else if (key == 't')
			type = arg;
		else if (key == 'P')
			payload = arg;
		else if (key == 'S' && state_parse(arg, &j.pkt))
			return cli_usage_error(&cli_explain,
					       "--state is new, established, related or invalid");
		else if (key == 's')
			sni = arg;
		else if (key == 'e')
			ech = true;
		else if (key == 'L' && !hop_parse(arg, &hop))
			return cli_usage_error(&cli_explain,
					       "--hop-limit is a number from 0 to 255");
	}
	if (key == CLI_STOP)
		return p.status;
	if (p.n_args != 3 && p.n_args != 4)
		return cli_usage_error(&cli_explain, "give [POLICY] PROTO SRC DST");
	if (p.n_args == 4)
		policy = p.args[0];
	ct = j.pkt.ct_state;
	if (explain_pkt_parse(&j.pkt, (const char *const *)p.args + (p.n_args - 3), msg,
			      sizeof(msg)))
		return cli_usage_error(&cli_explain, "%s", msg);
	j.pkt.ct_state = ct;
	if (payload && payload_parse(payload, &j.pkt))
		return cli_usage_error(
			&cli_explain,
			"--payload is quic (a UDP packet), tls (a TCP flow that starts with a ClientHello) or other");
	if ((bad = hello_parse(sni, ech, payload, &j.pkt)))
		return cli_usage_error(&cli_explain, "%s", bad);
	if (icmp_of(&j.pkt, type, hop))
		return cli_usage_error(
			&cli_explain,
			"--icmp-type is a type of the packet's protocol (icmp or icmpv6): a number up to 255 or a name of `nft describe icmp type`");
	if (j.json)
		j.all = json_object_new_array();
	ret = policy ? explain_policy(&j, policy) : explain_enforced(&j);
	if (j.json && ret == EXIT_OK) {
		json_object *doc = json_object_new_object();

		json_object_object_add(doc, "explanations", j.all);
		puts(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY |
								 JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(doc);
	} else {
		json_object_put(j.all);
	}
	return ret;
}

static const char *const forms[] = {
	"[POLICY] PROTO SRC[:PORT] DST[:PORT] [--iface] [--dir] [--icmp-type] [--hop-limit] [--state] [--payload] [--sni] [--ech] [--json]",
	NULL
};
static const struct cli_opt opts[] = { { "iface", "IF", 'i' },
				       { "dir", "ingress|egress", 'd' },
				       { "icmp-type", "TYPE", 't' },
				       { "hop-limit", "N", 'L' },
				       { "json", NULL, 'j' },
				       { "state", "new|established|related|invalid", 'S' },
				       { "payload", "quic|tls|other", 'P' },
				       { "sni", "NAME", 's' },
				       { "ech", NULL, 'e' },
				       { NULL } };
const struct cli_cmd cli_explain = { "explain", forms, opts, cmd_explain };
