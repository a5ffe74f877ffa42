// SPDX-License-Identifier: GPL-2.0
/*
 * Data-plane tests of the shipped policies (block-quic-port.conf under each fragments: mode,
 * with its https rule turned into reject, and block-dot.conf), built packets run through
 * tlsfw_xdp, tlsfw_tc_ingress and tlsfw_tc_egress with BPF_PROG_TEST_RUN (lib_packets.h).
 * Each case checks the program's return code, that exactly the expected counters moved (by
 * one packet and its length in bytes), and for reject the reply frame field by field,
 * checksums included; and that switching and clearing generations changes the verdicts.
 * Needs root.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib_packets.h"
#include "treefile.h"

static void malformed(struct env *e)
{
	int drop = e->cur->plan.malformed_action == TLSFW_ACT_ALLOW ? V_PASS : V_DROP;
	long total = drop == V_PASS ? TLSFW_STAT_PASS : TLSFW_STAT_DROP;
	/* poke: 1 IHL 4, 2 wrong version, 3 total length 16; xdp_only: BPF_PROG_TEST_RUN of tc
	 * programs refuses frames without a whole IP header (it reads it for socket lookup) */
	struct {
		const char *what;
		struct pkt_opts o;
		long stat;
		int poke, xdp_only;
	} c[] = {
		{ "IPv4 cut in the IP header",
		  { .truncate = 14 + 10 },
		  TLSFW_STAT_MALFORMED_TRUNCATED,
		  0,
		  1 },
		{ "IPv4 cut in the options",
		  { .ip4_opts = 20, .truncate = 14 + 30 },
		  TLSFW_STAT_MALFORMED_LENGTH },
		{ "IPv4 cut in the UDP header",
		  { .payload = 60, .truncate = 14 + 20 + 4 },
		  TLSFW_STAT_MALFORMED_LENGTH },
		{ "IPv4 cut in the TCP header",
		  { .proto = 6, .payload = 40, .truncate = 14 + 20 + 12 },
		  TLSFW_STAT_MALFORMED_LENGTH },
		{ "IPv4 UDP header cut short by its IP length",
		  { .l4_cut = 4 },
		  TLSFW_STAT_MALFORMED_TRUNCATED },
		{ "IPv4 TCP header cut short by its IP length",
		  { .proto = 6, .l4_cut = 12 },
		  TLSFW_STAT_MALFORMED_TRUNCATED },
		{ "IPv4 IHL 4", { 0 }, TLSFW_STAT_MALFORMED_IHL, 1 },
		{ "IPv4 version 5", { 0 }, TLSFW_STAT_MALFORMED_VERSION, 2 },
		{ "IPv4 total length below the header", { 0 }, TLSFW_STAT_MALFORMED_LENGTH, 3 },
		{ "IPv6 cut in the IP header",
		  { .family = 6, .truncate = 14 + 20 },
		  TLSFW_STAT_MALFORMED_TRUNCATED,
		  0,
		  1 },
		{ "IPv6 cut in an extension header",
		  { .family = 6, .n_ext = 2, .ext = { 0, 60 }, .truncate = 14 + 40 + 12 },
		  TLSFW_STAT_MALFORMED_LENGTH },
		{ "IPv6 cut in the UDP header",
		  { .family = 6, .truncate = 14 + 40 + 4 },
		  TLSFW_STAT_MALFORMED_LENGTH },
		{ "IPv6 UDP header cut short by its IP length",
		  { .family = 6, .n_ext = 1, .ext = { 60 }, .l4_cut = 6 },
		  TLSFW_STAT_MALFORMED_TRUNCATED },
		{ "IPv6 9 extension headers",
		  { .family = 6, .n_ext = 9, .ext = { 0, 60, 60, 60, 60, 60, 60, 60, 60 } },
		  TLSFW_STAT_MALFORMED_EXTHDR },
		{ "IPv6 version 4", { .family = 6 }, TLSFW_STAT_MALFORMED_VERSION, 2 },
		{ "3 VLAN tags", { .n_vlan = 3 }, TLSFW_STAT_MALFORMED_VLAN },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct pkt p;

		build(e, &p, &c[i].o, c[i].what);
		if (c[i].poke == 1)
			p.buf[p.l3_off] = 0x44;
		if (c[i].poke == 2)
			p.buf[p.l3_off] = c[i].o.family == 6 ? 0x40 : 0x55;
		if (c[i].poke == 3) {
			p.buf[p.l3_off + 2] = 0;
			p.buf[p.l3_off + 3] = 16;
		}
		for (int h = 0; h < (c[i].xdp_only ? 1 : N_HOOKS); h++)
			run(e, h, c[i].what, &p, drop, STATS(c[i].stat, total), NULL, NULL);
	}
	/* not IP: a frame cut inside its VLAN tag is left alone, uncounted */
	all_hooks(e, "cut in the VLAN tag", &(struct pkt_opts){ .n_vlan = 1, .truncate = 16 },
		  V_PASS, NULL);
}

static void reject_tcp(struct env *e, struct loaded *rej)
{
	/* a policy rejecting TCP 443: block-quic with the https rule turned into reject */
	reject_case(e, "reject IPv4 TCP SYN", &(struct pkt_opts){ .proto = 6, .seq = 1000 },
		    "allow-https", 0);
	reject_case(e, "reject IPv4 TCP ACK with data",
		    &(struct pkt_opts){
			    .proto = 6, .tcp_flags = 0x18, .seq = 5, .ack = 77777, .payload = 100 },
		    "allow-https", 100);
	reject_case(e, "reject IPv4 TCP FIN without ACK",
		    &(struct pkt_opts){ .proto = 6,
					.tcp_flags = 0x01,
					.seq = 0xfffffff0,
					.payload = 20,
					.ip4_opts = 8 },
		    "allow-https", 20);
	reject_case(e, "reject IPv6 TCP SYN in QinQ",
		    &(struct pkt_opts){ .family = 6, .proto = 6, .n_vlan = 2, .seq = 42 },
		    "allow-https", 0);
	reject_case(e, "reject IPv6 TCP ACK behind extension headers",
		    &(struct pkt_opts){ .family = 6,
					.proto = 6,
					.tcp_flags = 0x10,
					.ack = 99,
					.n_ext = 2,
					.ext = { 0, 60 },
					.payload = 10 },
		    "allow-https", 10);
	/* a reset is never answered */
	all_hooks(e, "reject IPv4 TCP RST: no answer",
		  &(struct pkt_opts){ .proto = 6, .tcp_flags = 0x04 }, V_DROP,
		  STATS(rule_stat(e, "allow-https"), TLSFW_STAT_REJECT, TLSFW_STAT_REJECT_FAILED));
}

static void block_dot(struct env *e)
{
	long dot = rule_stat(e, "block-dot"), dns = rule_stat(e, "allow-dns");

	for (int fam = 4; fam <= 6; fam += 2) {
		char w[64];

		snprintf(w, sizeof(w), "IPv%d TCP 853", fam);
		all_hooks(e, w, &(struct pkt_opts){ .family = fam, .proto = 6, .dport = 853 },
			  V_DROP, STATS(dot, TLSFW_STAT_DROP));
		snprintf(w, sizeof(w), "IPv%d UDP 853", fam);
		all_hooks(e, w, &(struct pkt_opts){ .family = fam, .dport = 853 }, V_DROP,
			  STATS(dot, TLSFW_STAT_DROP));
		snprintf(w, sizeof(w), "IPv%d UDP 53", fam);
		all_hooks(e, w, &(struct pkt_opts){ .family = fam, .dport = 53 }, V_PASS,
			  STATS(dns, TLSFW_STAT_PASS));
		snprintf(w, sizeof(w), "IPv%d TCP 53", fam);
		all_hooks(e, w, &(struct pkt_opts){ .family = fam, .proto = 6, .dport = 53 },
			  V_PASS, STATS(dns, TLSFW_STAT_PASS));
		snprintf(w, sizeof(w), "IPv%d UDP 443 (default under block-dot)", fam);
		all_hooks(e, w, &(struct pkt_opts){ .family = fam }, V_PASS,
			  STATS(TLSFW_STAT_DEFAULT, TLSFW_STAT_PASS));
		snprintf(w, sizeof(w), "IPv%d TCP 853 from port 853 in 802.1Q", fam);
		all_hooks(e, w,
			  &(struct pkt_opts){ .family = fam,
					      .proto = 6,
					      .sport = 853,
					      .dport = 853,
					      .n_vlan = 1 },
			  V_DROP, STATS(dot, TLSFW_STAT_DROP));
	}
}

/* block-quic with "action: allow" of allow-https turned into reject, for the RST */
static int load_rejecting(struct loaded *l)
{
	size_t len;
	char *t = tree_file("policies/block-quic-port.conf", &len), *at, *rt;
	int err;

	if (!t || !(at = strstr(t, "service: https"))) {
		fprintf(stderr, "block-quic-port.conf: no https rule to turn into reject\n");
		free(t);
		return -ENOENT;
	}
	at = strstr(at, "action: allow");
	if (!at || asprintf(&rt, "%.*saction: reject%s", (int)(at - t), t,
			    at + strlen("action: allow")) < 0) {
		free(t);
		return -EINVAL;
	}
	free(t);
	err = load_text(l, "block-quic-rej", rt, 0);
	free(rt);
	return err;
}

int main(void)
{
	struct loaded quic, quic_drop, quic_allow, quic_rej, dot;
	struct env e = { 0 };
	int rc = env_open(&e);

	if (rc)
		return rc;
	if (load_policy(&quic, "policies/block-quic-port.conf", NULL, 0) ||
	    load_policy(&quic_drop, "policies/block-quic-port.conf", "fragments: drop\n", 0) ||
	    load_policy(&quic_allow, "policies/block-quic-port.conf", "fragments: allow\n", 0) ||
	    load_policy(&dot, "policies/block-dot.conf", NULL, 100) || load_rejecting(&quic_rej))
		return 1;

	if (use(&e, &quic, 0))
		return 1;
	block_quic(&e);
	malformed(&e);
	rejects(&e);
	fragments(&e, 10000);

	/* generation switch: block-dot into generation 1, flip, the verdicts change */
	if (use(&e, &dot, 1))
		return 1;
	block_dot(&e);
	/* and back: generation 0 was left as it was */
	e.cur = &quic;
	if (bpf_set_gen(&e.m, 0))
		return 1;
	all_hooks(&e, "IPv4 UDP 443 after switching back", &(struct pkt_opts){ .payload = 1 },
		  V_REPLY,
		  STATS(rule_stat(&e, "block-quic"), TLSFW_STAT_REJECT, TLSFW_STAT_REJECT_SENT));

	if (use(&e, &quic_drop, 1))
		return 1;
	fragments(&e, 20000);
	if (use(&e, &quic_allow, 0))
		return 1;
	fragments(&e, 30000);
	if (use(&e, &quic_rej, 1))
		return 1;
	reject_tcp(&e, &quic_rej);

	/* clearing a generation leaves no entry of it behind: packets get no context */
	if (use(&e, &quic, 0) || bpf_clear_gen(&e.m, 1))
		return 1;
	if (bpf_set_gen(&e.m, 1))
		return 1;
	all_hooks(&e, "IPv4 UDP 443 on a cleared generation", &(struct pkt_opts){ 0 }, V_PASS,
		  NULL);
	bpf_set_gen(&e.m, 0);

	rc = env_close(&e);
	free_policy(&quic);
	free_policy(&quic_drop);
	free_policy(&quic_allow);
	free_policy(&quic_rej);
	free_policy(&dot);
	return rc;
}
