/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Small facts written once: the names of actions, modes, directions, hooks, verdict and
 * reason counters and TLS versions, as users read them in output and write them in policies;
 * the hash and time formats of status and stats; English plurals. Every userspace mirror of
 * an enum of bpf/tlsfw_abi.h is tied to it here by _Static_assert (names.c).
 */
#ifndef TLSFW_NAMES_H
#define TLSFW_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* enum tlsfw_action (== enum pol_action): "allow", "drop", "reject"; "unknown" beyond. */
const char *action_name(unsigned int action);
/* The inverse: the action, or -EINVAL. */
int action_parse(const char *name);
/* "enforce" or "monitor". */
const char *mode_name(bool monitor);
/* enum tlsfw_dir: "ingress" or "egress". */
const char *dir_name(unsigned int dir);
/* "ingress" -> TLSFW_DIR_INGRESS, "egress" -> TLSFW_DIR_EGRESS; -EINVAL otherwise. */
int dir_parse(const char *name);

/*
 * Where a backend decides an interface's packets: enum tlsfw_hook for the BPF programs (the
 * same numbers), HOOK_NFT for the nftables chains.
 */
enum hook_id { HOOK_NONE = 0, HOOK_XDP_NATIVE, HOOK_XDP_GENERIC, HOOK_TC, HOOK_NFT };
/* The id of JSON output and Prometheus labels: "xdp-native", "xdp-generic", "tc", "nft";
 * NULL for HOOK_NONE (JSON null). */
const char *hook_id_name(unsigned int hook);
/* The words of text output: "XDP native", "XDP generic", "tc", "nftables", "-". */
const char *hook_label(unsigned int hook);

/* Counters of an interface and direction (enum tlsfw_stat): the verdict totals "pass", "drop",
 * "reject", "monitor", or NULL for the others; the reasons "malformed-ihl", ..., or NULL. */
const char *stat_verdict_name(unsigned int stat);
const char *stat_reason_name(unsigned int stat);
/* "default", a verdict or a reason name to its enum tlsfw_stat; -EINVAL otherwise. */
int stat_parse(const char *name);

/* A policy hash as status and stats print it: "sha256:" and 64 hex digits. */
#define SHA256_TEXT_LEN (7 + 64 + 1)
void sha256_text(const uint8_t hash[32], char out[SHA256_TEXT_LEN]);
/* ISO 8601 UTC ("2026-11-28T16:30:05Z"); "unknown" for 0. */
#define UTC_TEXT_LEN 32
void utc_text(uint64_t unix_seconds, char out[UTC_TEXT_LEN]);

/* An IP protocol as policies write it: "tcp", "udp", "icmp", "icmpv6", else its number in
 * buf. */
const char *ip_proto_name(unsigned int proto, char *buf, size_t len);

/* "s" unless n is 1: "%zu rule%s". */
const char *plural(unsigned long long n);

/* TLS versions: "1.0" .. "1.3" (exactly these strings, as policies and --min-tls write them)
 * to OpenSSL's TLS1_VERSION .. TLS1_3_VERSION; -EINVAL otherwise. The one parser of both
 * the policy's min_tls and `probe --min-tls`. */
int probe_min_tls_parse(const char *s);
/* OpenSSL's name of a version ("TLSv1.2"), "?" for others. */
const char *tls_version_name(int version);

#endif
