// SPDX-License-Identifier: GPL-2.0
/* `tlsfw log` output: an event as text or JSON (log_event.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "log_event.h"
#include "names.h"
#include "textsafe.h"

#define LOG_TIME_LEN 40

/* "2026-12-05T04:10:00.123456Z" */
static void log_time(const struct tlsfw_log_event *e, const struct log_names *n,
		     char out[LOG_TIME_LEN])
{
	uint64_t ns = e->time_ns + n->mono_to_real_ns;
	time_t s = ns / 1000000000ull;
	char day[24];
	struct tm tm;

	if (!gmtime_r(&s, &tm) || !strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm))
		snprintf(day, sizeof(day), "unknown");
	snprintf(out, LOG_TIME_LEN, "%s.%06uZ", day, (unsigned int)(ns % 1000000000ull / 1000));
}

static void log_addr(const uint8_t a[16], unsigned int family, char out[INET6_ADDRSTRLEN])
{
	if (family == 0)
		inet_ntop(AF_INET, a + 12, out, INET6_ADDRSTRLEN);
	else
		inet_ntop(AF_INET6, a, out, INET6_ADDRSTRLEN);
}

static bool has_ports(const struct tlsfw_log_event *e)
{
	return e->proto == IPPROTO_TCP || e->proto == IPPROTO_UDP || e->proto == IPPROTO_SCTP ||
	       e->proto == IPPROTO_UDPLITE;
}

static bool is_icmp(const struct tlsfw_log_event *e)
{
	return e->proto == IPPROTO_ICMP || e->proto == IPPROTO_ICMPV6;
}

/* "SRC:SPORT", "[SRC]:SPORT" or "SRC" */
static void log_end(const struct tlsfw_log_event *e, const uint8_t a[16], uint16_t port, char *out,
		    size_t len)
{
	char addr[INET6_ADDRSTRLEN];

	log_addr(a, e->family, addr);
	if (!has_ports(e))
		snprintf(out, len, "%s", addr);
	else if (e->family)
		snprintf(out, len, "[%s]:%u", addr, port);
	else
		snprintf(out, len, "%s:%u", addr, port);
}

static const char *log_verdict(const struct tlsfw_log_event *e)
{
	return e->monitor ? "monitor" : action_name(e->verdict);
}

int log_print_text(const struct tlsfw_log_event *e, const struct log_names *n, FILE *out)
{
	char t[LOG_TIME_LEN], src[INET6_ADDRSTRLEN + 8], dst[INET6_ADDRSTRLEN + 8], pb[8];
	char ifn[TEXTSAFE_LEN(16)], rule[TEXTSAFE_LEN(TLSFW_NAME_MAX)], type[24] = "";

	log_time(e, n, t);
	log_end(e, e->src, e->sport, src, sizeof(src));
	log_end(e, e->dst, e->dport, dst, sizeof(dst));
	if (is_icmp(e))
		snprintf(type, sizeof(type), " type %u", e->icmp_type);
	fprintf(out, "%s %s %s %s %s -> %s%s rule %s %s\n", t,
		textsafe(n->ifname, ifn, sizeof(ifn)), dir_name(e->dir),
		ip_proto_name(e->proto, pb, sizeof(pb)), src, dst, type,
		textsafe(n->rule, rule, sizeof(rule)), log_verdict(e));
	return ferror(out) ? -EIO : 0;
}

static void put(json_object *o, const char *k, json_object *v)
{
	json_object_object_add(o, k, v);
}

int log_print_json(const struct tlsfw_log_event *e, const struct log_names *n, FILE *out)
{
	char t[LOG_TIME_LEN], src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], pb[8];
	json_object *o = json_object_new_object();

	if (!o)
		return -ENOMEM;
	log_time(e, n, t);
	log_addr(e->src, e->family, src);
	log_addr(e->dst, e->family, dst);
	put(o, "time", json_object_new_string(t));
	put(o, "interface", json_object_new_string(n->ifname));
	put(o, "ifindex", json_object_new_int64(e->ifindex));
	put(o, "direction", json_object_new_string(dir_name(e->dir)));
	put(o, "hook", json_object_new_string(e->hook == TLSFW_LOG_XDP ? "xdp" : "tc"));
	put(o, "family", json_object_new_string(e->family ? "ipv6" : "ipv4"));
	put(o, "proto", json_object_new_string(ip_proto_name(e->proto, pb, sizeof(pb))));
	put(o, "src", json_object_new_string(src));
	put(o, "dst", json_object_new_string(dst));
	put(o, "sport", has_ports(e) ? json_object_new_int(e->sport) : NULL);
	put(o, "dport", has_ports(e) ? json_object_new_int(e->dport) : NULL);
	put(o, "icmp_type", is_icmp(e) ? json_object_new_int(e->icmp_type) : NULL);
	put(o, "rule", json_object_new_string(n->rule));
	put(o, "verdict", json_object_new_string(log_verdict(e)));
	put(o, "generation", json_object_new_int(e->gen));
	fprintf(out, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return ferror(out) ? -EIO : 0;
}
