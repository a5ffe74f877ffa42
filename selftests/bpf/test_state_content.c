// SPDX-License-Identifier: GPL-2.0
/*
 * Content rules with a state (`require: tls` or `payload: quic` with `state:`) behind a rule
 * with a state alone: the packet's conntrack state is then looked up first (decide.h,
 * decide_rule), and the content rule must still be reached as when it is found first:
 * content first, its state after (lower_bpf.c, rule_admits). Built packets through tlsfw_xdp,
 * tlsfw_tc_ingress and tlsfw_tc_egress with BPF_PROG_TEST_RUN (lib_packets.h), in a network
 * namespace of the test's own with no conntrack entry: a SYN, a plain ACK and ACK+PSH are
 * new to conntrack there, FIN+ACK invalid, a UDP datagram new (bpf/ct.h).
 *   - TCP: the SYN and the ClientHello of a flow (new) feed the flow table although the
 *     require rule lists invalid only, so the flow's FIN+ACK (invalid) finds a TLS flow and
 *     passes; a flow whose first bytes are not TLS, and a FIN+ACK of a flow never seen
 *     (midstream: drop), are cut by the rule (test_differential seed 161 found the first).
 *   - UDP: a QUIC Initial (new) is not taken by a payload: quic rule that lists established
 *     only (such a rule keeps no flow and admits by state; inspect()'s QUIC shortcut returns
 *     the rule found with the state known); the next rule, which lists new, takes it.
 * Every case checks the verdict and that exactly the expected counters moved. Needs root.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "content_gen.h"
#include "lib_packets.h"

#define HEAD "version: 1\ninterfaces:\n  - name: lan0\n    hooks: [ingress, egress]\n"

static const char tcp_policy[] = HEAD "default: allow\nmidstream: drop\nrules:\n"
				      "  - name: est\n    proto: tcp\n    state: [established]\n"
				      "    action: drop\n"
				      "  - name: tls-inv\n    proto: tcp\n    dport: 443\n"
				      "    require: tls\n    state: [invalid]\n    action: drop\n";

static const char udp_policy[] = HEAD "default: allow\nrules:\n"
				      "  - name: est\n    proto: udp\n    state: [established]\n"
				      "    action: drop\n"
				      "  - name: quic-est\n    proto: udp\n    payload: quic\n"
				      "    state: [established]\n    action: allow\n"
				      "  - name: quic-new\n    proto: udp\n    payload: quic\n"
				      "    state: [new]\n    action: drop\n";

#define ISN 5000u
#define DEFAULT_PASS STATS(TLSFW_STAT_DEFAULT, TLSFW_STAT_PASS)

/* On hook: a flow from sport whose first bytes are first (len bytes), then its FIN+ACK. */
static void tcp_flow(struct env *e, int hook, uint16_t sport, const uint8_t *first, size_t len,
		     int fin_want, const long *fin_stats)
{
	tcp_segment(e, hook, "SYN (new)", sport, ISN, 0x02, NULL, 0, V_PASS, DEFAULT_PASS);
	tcp_segment(e, hook, "first bytes (new)", sport, ISN + 1, 0x18, first, len, V_PASS,
		    DEFAULT_PASS);
	tcp_segment(e, hook, "FIN+ACK (invalid)", sport, ISN + 1 + len, 0x11, NULL, 0, fin_want,
		    fin_stats);
}

static void tcp_cases(struct env *e)
{
	static uint8_t buf[HELLO_MAX];
	static const uint8_t http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	struct hello_out h = { .buf = buf };
	struct hello_opts ho = { .sni = "www.example.com" };
	const long *cut = STATS(rule_stat(e, "tls-inv"), TLSFW_STAT_DROP);
	uint64_t rng = 7;

	if (hello_build(&h, &ho, &rng) || h.len > 1400) {
		fprintf(stderr, "cannot build a ClientHello\n");
		exit(1);
	}
	for (int hook = 0; hook < N_HOOKS; hook++) {
		uint16_t sport = 41000 + hook * 10;

		tcp_flow(e, hook, sport, h.buf, h.len, V_PASS, DEFAULT_PASS);
		tcp_flow(e, hook, sport + 1, http, sizeof(http) - 1, V_DROP, cut);
		tcp_segment(e, hook, "FIN+ACK of a flow never seen (invalid, mid-stream)",
			    sport + 2, ISN, 0x11, NULL, 0, V_DROP, cut);
	}
}

static void udp_cases(struct env *e)
{
	uint8_t d[1400];
	struct quic_opts q = { .version = 1, .kind = QK_INITIAL, .dcid_len = 8, .size = 1200 };
	uint64_t rng = 9;
	int n = quic_build(d, sizeof(d), &q, &rng);
	struct frame_opts o = { .family = 4, .proto = 17, .sport = 50000, .dport = 443, .data = d };
	struct pkt p;

	if (n < 0) {
		fprintf(stderr, "cannot build a QUIC Initial\n");
		exit(1);
	}
	o.len = (size_t)n;
	if (frame_build(&p, &o)) {
		fprintf(stderr, "cannot build the QUIC frame\n");
		exit(1);
	}
	for (int hook = 0; hook < N_HOOKS; hook++)
		run(e, hook, "QUIC Initial (new)", &p, V_DROP,
		    STATS(rule_stat(e, "quic-new"), TLSFW_STAT_DROP), NULL, NULL);
}

int main(void)
{
	struct loaded tcp, udp;
	struct env e = { 0 };
	int rc;

	/* a namespace without conntrack entries: each state as bpf/ct.h gives it without one */
	if (unshare(CLONE_NEWNET)) {
		perror("unshare(CLONE_NEWNET)");
		return 1;
	}
	rc = env_open(&e);
	if (rc)
		return rc;
	if (load_text(&tcp, "tcp.conf", tcp_policy, 0) ||
	    load_text(&udp, "udp.conf", udp_policy, 8))
		return 1;
	if (use(&e, &tcp, 0))
		return 1;
	tcp_cases(&e);
	if (use(&e, &udp, 1))
		return 1;
	udp_cases(&e);
	rc = env_close(&e);
	free_policy(&tcp);
	free_policy(&udp);
	return rc;
}
