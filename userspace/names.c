// SPDX-License-Identifier: GPL-2.0
/* Names and formats written once (names.h), and the ties of userspace enums to the ABI. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "lazy_openssl.h"

#include "../bpf/tlsfw_abi.h"
#include "names.h"
#include "policy.h"

/* The policy model mirrors the data plane's enums: the lowering copies them across. (The
 * casts: comparing two enum types is what -Wenum-compare warns about, and here the point.) */
#define SAME(a, b) ((int)(a) == (int)(b))
_Static_assert(SAME(POL_ALLOW, TLSFW_ACT_ALLOW) && SAME(POL_DROP, TLSFW_ACT_DROP) &&
		       SAME(POL_REJECT, TLSFW_ACT_REJECT),
	       "enum pol_action must equal enum tlsfw_action");
_Static_assert(SAME(POL_FRAG_FOLLOW, TLSFW_FRAG_FOLLOW) && SAME(POL_FRAG_DROP, TLSFW_FRAG_DROP) &&
		       SAME(POL_FRAG_ALLOW, TLSFW_FRAG_ALLOW),
	       "enum pol_frag must equal enum tlsfw_frag_mode");
_Static_assert(SAME(POL_ENFORCE, 0) && SAME(POL_MONITOR, 1),
	       "enum pol_mode must equal tlsfw_rule_val.monitor");
_Static_assert(SAME(HOOK_NONE, TLSFW_HOOK_NONE) && SAME(HOOK_XDP_NATIVE, TLSFW_HOOK_XDP_NATIVE) &&
		       SAME(HOOK_XDP_GENERIC, TLSFW_HOOK_XDP_GENERIC) &&
		       SAME(HOOK_TC, TLSFW_HOOK_TC),
	       "enum hook_id must extend enum tlsfw_hook");

const char *const pol_action_names[3] = { "allow", "drop", "reject" };
const char *const pol_state_names[POL_ST_COUNT] = { "new", "established", "related", "invalid" };
const char *const pol_mode_names[2] = { "enforce", "monitor" };
const char *const pol_frag_names[3] = { "follow", "drop", "allow" };

const char *action_name(unsigned int action)
{
	return action < 3 ? pol_action_names[action] : "unknown";
}

int action_parse(const char *name)
{
	for (unsigned int a = 0; a < 3; a++)
		if (!strcmp(name, pol_action_names[a]))
			return a;
	return -EINVAL;
}

const char *mode_name(bool monitor)
{
	return pol_mode_names[monitor];
}

static const char *const dir_names[] = {
	[TLSFW_DIR_INGRESS] = "ingress", [TLSFW_DIR_EGRESS] = "egress"
};

const char *dir_name(unsigned int dir)
{
	return dir == TLSFW_DIR_EGRESS ? dir_names[TLSFW_DIR_EGRESS] : dir_names[TLSFW_DIR_INGRESS];
}

int dir_parse(const char *name)
{
	for (unsigned int d = 0; d < 2; d++)
		if (!strcmp(name, dir_names[d]))
			return d;
	return -EINVAL;
}

static const struct {
	const char *id, *label;
} hooks[] = {
	[HOOK_NONE] = { NULL, "-" },
	[HOOK_XDP_NATIVE] = { "xdp-native", "XDP native" },
	[HOOK_XDP_GENERIC] = { "xdp-generic", "XDP generic" },
	[HOOK_TC] = { "tc", "tc" },
	[HOOK_NFT] = { "nft", "nftables" },
};

const char *hook_id_name(unsigned int hook)
{
	return hook <= HOOK_NFT ? hooks[hook].id : NULL;
}

const char *hook_label(unsigned int hook)
{
	return hook <= HOOK_NFT ? hooks[hook].label : "-";
}

static const char *const verdict_names[TLSFW_STAT_MAX] = {
	[TLSFW_STAT_PASS] = "pass",
	[TLSFW_STAT_DROP] = "drop",
	[TLSFW_STAT_REJECT] = "reject",
	[TLSFW_STAT_MONITOR] = "monitor",
};

static const char *const reason_names[TLSFW_STAT_MAX] = {
	[TLSFW_STAT_MALFORMED_TRUNCATED] = "malformed-truncated",
	[TLSFW_STAT_MALFORMED_IHL] = "malformed-ihl",
	[TLSFW_STAT_MALFORMED_LENGTH] = "malformed-length",
	[TLSFW_STAT_MALFORMED_EXTHDR] = "malformed-exthdr",
	[TLSFW_STAT_MALFORMED_VLAN] = "malformed-vlan",
	[TLSFW_STAT_FRAG_TINY] = "fragment-tiny",
	[TLSFW_STAT_FRAG_NO_FIRST] = "fragment-without-first",
	[TLSFW_STAT_FRAG_FOLLOWED] = "fragment-followed",
	[TLSFW_STAT_FRAG_DROPPED] = "fragment-dropped",
	[TLSFW_STAT_FRAG_ALLOWED] = "fragment-allowed",
	[TLSFW_STAT_REJECT_SENT] = "reject-sent",
	[TLSFW_STAT_REJECT_FAILED] = "reject-failed",
	[TLSFW_STAT_MALFORMED_VERSION] = "malformed-version",
};

const char *stat_verdict_name(unsigned int stat)
{
	return stat < TLSFW_STAT_MAX ? verdict_names[stat] : NULL;
}

const char *stat_reason_name(unsigned int stat)
{
	return stat < TLSFW_STAT_MAX ? reason_names[stat] : NULL;
}

int stat_parse(const char *name)
{
	if (!strcmp(name, "default"))
		return TLSFW_STAT_DEFAULT;
	for (unsigned int i = 0; i < TLSFW_STAT_MAX; i++)
		if ((verdict_names[i] && !strcmp(verdict_names[i], name)) ||
		    (reason_names[i] && !strcmp(reason_names[i], name)))
			return i;
	return -EINVAL;
}

void sha256_text(const uint8_t hash[32], char out[SHA256_TEXT_LEN])
{
	int n = snprintf(out, SHA256_TEXT_LEN, "sha256:");

	for (int i = 0; i < 32; i++)
		n += snprintf(out + n, SHA256_TEXT_LEN - n, "%02x", hash[i]);
}

void utc_text(uint64_t t, char out[UTC_TEXT_LEN])
{
	time_t tt = t;
	struct tm tm;

	if (!t || !gmtime_r(&tt, &tm) || !strftime(out, UTC_TEXT_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, UTC_TEXT_LEN, "unknown");
}

const char *plural(unsigned long long n)
{
	return n == 1 ? "" : "s";
}

static const struct {
	const char *text, *name;
	int version;
} tls_versions[] = {
	{ "1.0", "TLSv1", TLS1_VERSION },
	{ "1.1", "TLSv1.1", TLS1_1_VERSION },
	{ "1.2", "TLSv1.2", TLS1_2_VERSION },
	{ "1.3", "TLSv1.3", TLS1_3_VERSION },
};

int probe_min_tls_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(tls_versions) / sizeof(tls_versions[0]); i++)
		if (!strcmp(s, tls_versions[i].text))
			return tls_versions[i].version;
	return -EINVAL;
}

const char *tls_version_name(int version)
{
	for (size_t i = 0; i < sizeof(tls_versions) / sizeof(tls_versions[0]); i++)
		if (version == tls_versions[i].version)
			return tls_versions[i].name;
	return "?";
}

const char *ip_proto_name(unsigned int proto, char *buf, size_t len)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_ICMP:
		return "icmp";
	case IPPROTO_ICMPV6:
		return "icmpv6";
	}
	snprintf(buf, len, "%u", proto);
	return buf;
}
