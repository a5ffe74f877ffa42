// SPDX-License-Identifier: GPL-2.0
/* tlsfw services [--json]: the built-in service catalog. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>
#include <netinet/in.h>

#include "catalog.h"
#include "cli.h"
#include "tlsfw.h"

static const char *const tls_mode_names[] = { "none", "implicit", "starttls", "quic" };

static void port_str(const struct svc_port *p, char *buf, size_t len)
{
	const char *proto = p->proto == IPPROTO_TCP ? "tcp" : "udp";

	if (p->lo == p->hi)
		snprintf(buf, len, "%s/%u", proto, p->lo);
	else
		snprintf(buf, len, "%s/%u-%u", proto, p->lo, p->hi);
}

static json_object *names_json(const char *const *names)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; names[i]; i++)
		json_object_array_add(a, json_object_new_string(names[i]));
	return a;
}

/* The server names of the services that have them, under the table. */
static void print_names(void)
{
	for (size_t i = 0; i < catalog_len; i++) {
		if (!catalog[i].names)
			continue;
		printf("\n%s server names:", catalog[i].name);
		for (size_t j = 0; catalog[i].names[j]; j++)
			printf("%s%s", j % 4 ? " " : "\n  ", catalog[i].names[j]);
		printf("\n");
	}
}

static int print_json(void)
{
	json_object *arr = json_object_new_array();

	for (size_t i = 0; i < catalog_len; i++) {
		const struct service *s = &catalog[i];
		json_object *o = json_object_new_object(), *ports = json_object_new_array();

		json_object_object_add(o, "name", json_object_new_string(s->name));
		json_object_object_add(o, "alias",
				       s->alias ? json_object_new_string(s->alias) : NULL);
		for (size_t j = 0; j < s->n_ports; j++) {
			json_object *p = json_object_new_object();

			json_object_object_add(
				p, "proto",
				json_object_new_string(s->ports[j].proto == IPPROTO_TCP ? "tcp" :
											  "udp"));
			json_object_object_add(p, "from", json_object_new_int(s->ports[j].lo));
			json_object_object_add(p, "to", json_object_new_int(s->ports[j].hi));
			json_object_array_add(ports, p);
		}
		json_object_object_add(o, "ports", ports);
		json_object_object_add(o, "tls", json_object_new_string(tls_mode_names[s->tls]));
		json_object_object_add(o, "starttls",
				       s->starttls ? json_object_new_string(s->starttls) : NULL);
		json_object_object_add(o, "description", json_object_new_string(s->note));
		if (s->names)
			json_object_object_add(o, "server_names", names_json(s->names));
		json_object_array_add(arr, o);
	}
	json_object *doc = json_object_new_object();

	json_object_object_add(doc, "services", arr);
	puts(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY |
							 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(doc);
	return EXIT_OK;
}

static void print_table(void)
{
	printf("%-20s %-18s %s\n", "NAME", "TRANSPORT/PORT", "TLS MODE");
	for (size_t i = 0; i < catalog_len; i++) {
		const struct service *s = &catalog[i];
		char ports[64] = "", one[24], name[40];

		for (size_t j = 0; j < s->n_ports; j++) {
			port_str(&s->ports[j], one, sizeof(one));
			if (j)
				strcat(ports, ",");
			strcat(ports, one);
		}
		if (s->alias)
			snprintf(name, sizeof(name), "%s (%s)", s->name, s->alias);
		else
			snprintf(name, sizeof(name), "%s", s->name);
		printf("%-20s %-18s %s\n", name, ports, s->note);
	}
}

static int cmd_services(int argc, char **argv)
{
	struct cli_parse p;
	const char *arg;
	bool json = false;
	int key;

	cli_begin(&p, &cli_services, argc, argv);
	while ((key = cli_next(&p, &arg)) >= 0)
		json |= key == 'j';
	if (key == CLI_STOP)
		return p.status;
	if (p.n_args)
		return cli_usage_error(&cli_services, "unexpected argument '%s'", p.args[0]);
	if (json)
		return print_json();
	print_table();
	print_names();
	return EXIT_OK;
}

static const char *const forms[] = { "[--json]", NULL };
static const struct cli_opt opts[] = { { "json", NULL, 'j' }, { NULL } };
const struct cli_cmd cli_services = { "services", forms, opts, cmd_services };
