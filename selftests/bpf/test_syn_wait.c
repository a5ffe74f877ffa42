// SPDX-License-Identifier: GPL-2.0
/*
 * A SYN with another ISN on a connection that conntrack holds open (flow.h, flow_syn and
 * flow_at_server; architecture.md, "A SYN on an open connection"): the flow keeps its state
 * until the next payload, which asks conntrack whether the server took the new connection.
 * Built packets through tlsfw_xdp, tlsfw_tc_ingress and tlsfw_tc_egress with
 * BPF_PROG_TEST_RUN (lib_packets.h), in a network namespace of the test's own where each
 * flow's conntrack entry is made through ctnetlink: ESTABLISHED, the reply direction's
 * MAXACK_SET flag on, and its highest acknowledgment 0 (ctnetlink leaves window tracking at
 * zero), so that "the server acknowledged ISN + 1" is true exactly for ISN 0xffffffff.
 *   - keep: a flow whose ClientHello passed (ISN 0xffffffff), a SYN with ISN 5000: the SYN
 *     passes, and so does the application data after the ClientHello, since the server
 *     (acknowledging 0, not 5001) kept its connection. A flow restarted on the SYN judged
 *     those bytes as its first and cut them.
 *   - restart: a flow whose ClientHello passed (ISN 7000, its entry made after that), a SYN
 *     with ISN 0xffffffff, then plain HTTP at the new ISN + 1: the server acknowledged it
 *     (0), so the flow restarted there, and the plain bytes are cut.
 *   - a waiting SYN's handshake: on a flow cut for plain HTTP, a SYN with another ISN and an
 *     ACK without data pass (a new flow's facts until a payload tells); plain bytes at the old
 *     ISN after them are still cut.
 *   - keep over IPv6 (the entry found by the IPv6 tuple).
 * Every case checks the verdict and that exactly the expected counters moved. Needs root.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter/nf_conntrack_tcp.h>

#include "content_gen.h"
#include "ctnl.h"
#include "lib_packets.h"
#include "pkt.h"

#define TCP_CONNTRACK_ESTABLISHED 3 /* enum tcp_conntrack */

static const char policy[] = "version: 1\ninterfaces:\n  - name: lan0\n"
			     "    hooks: [ingress, egress]\n"
			     "default: allow\nrules:\n"
			     "  - name: tls-only\n    proto: tcp\n    dport: 443\n"
			     "    require: tls\n    action: drop\n";

#define PASS STATS(TLSFW_STAT_DEFAULT, TLSFW_STAT_PASS)

static struct ctnl nl;

/* The conntrack entry of the flow from sport (frame_build's addresses, to port 443). */
static void entry(uint16_t sport, int family)
{
	struct ctnl_tuple t = { .family = family, .proto = 6, .sport = sport, .dport = 443 };
	int err;

	pkt_addr(family == 6 ? "fd00::1" : "10.0.0.1", t.src);
	pkt_addr(family == 6 ? "fd00::2" : "10.0.0.2", t.dst);
	err = ctnl_create_tcp(&nl, &t, TCP_CONNTRACK_ESTABLISHED, IP_CT_TCP_FLAG_MAXACK_SET);
	if (err) {
		fprintf(stderr, "cannot make the conntrack entry of port %u: %s\n", sport,
			strerror(-err));
		exit(1);
	}
}

static void cases(struct env *e, const uint8_t *hello, size_t hlen)
{
	static const uint8_t http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	static const uint8_t appdata[] = "\x17\x03\x03\x00\x10"
					 "0123456789abcdef";
	const long *cut = STATS(rule_stat(e, "tls-only"), TLSFW_STAT_DROP);

	for (int hook = 0; hook < N_HOOKS; hook++) {
		uint16_t sport = 42000 + hook * 10;
		uint32_t a = 0xffffffffu;

		/* keep */
		entry(sport, 4);
		tcp_segment(e, hook, "keep: SYN", sport, a, 0x02, NULL, 0, V_PASS, PASS);
		tcp_segment(e, hook, "keep: ClientHello", sport, a + 1, 0x18, hello, hlen, V_PASS,
			    PASS);
		tcp_segment(e, hook, "keep: SYN with ISN 5000 (waits)", sport, 5000, 0x02, NULL, 0,
			    V_PASS, PASS);
		tcp_segment(e, hook, "keep: application data (the server kept the connection)",
			    sport, a + 1 + hlen, 0x18, appdata, sizeof(appdata) - 1, V_PASS, PASS);

		/* restart */
		tcp_segment(e, hook, "restart: SYN", sport + 1, 7000, 0x02, NULL, 0, V_PASS, PASS);
		tcp_segment(e, hook, "restart: ClientHello", sport + 1, 7001, 0x18, hello, hlen,
			    V_PASS, PASS);
		entry(sport + 1, 4);
		tcp_segment(e, hook, "restart: SYN with ISN 0xffffffff (waits)", sport + 1, a, 0x02,
			    NULL, 0, V_PASS, PASS);
		tcp_segment(e, hook, "restart: plain HTTP at the new ISN (the server took it)",
			    sport + 1, a + 1, 0x18, http, sizeof(http) - 1, V_DROP, cut);

		/* a waiting SYN's handshake on a cut flow */
		tcp_segment(e, hook, "cut: SYN", sport + 2, 9000, 0x02, NULL, 0, V_PASS, PASS);
		tcp_segment(e, hook, "cut: plain HTTP", sport + 2, 9001, 0x18, http,
			    sizeof(http) - 1, V_DROP, cut);
		entry(sport + 2, 4);
		tcp_segment(e, hook, "cut: SYN with ISN 20000 (waits)", sport + 2, 20000, 0x02,
			    NULL, 0, V_PASS, PASS);
		tcp_segment(e, hook, "cut: ACK without data while the SYN waits", sport + 2, 20001,
			    0x10, NULL, 0, V_PASS, PASS);
		tcp_segment(e, hook, "cut: plain HTTP at the old ISN (the server kept it)",
			    sport + 2, 9001 + sizeof(http) - 1, 0x18, http, sizeof(http) - 1,
			    V_DROP, cut);

		/* keep over IPv6: the entry is looked up by the IPv6 tuple */
		entry(sport + 3, 6);
		tcp_segment_of(e, hook, "keep, IPv6: SYN", 6, sport + 3, a, 0x02, NULL, 0, V_PASS,
			       PASS);
		tcp_segment_of(e, hook, "keep, IPv6: ClientHello", 6, sport + 3, a + 1, 0x18, hello,
			       hlen, V_PASS, PASS);
		tcp_segment_of(e, hook, "keep, IPv6: SYN with ISN 5000 (waits)", 6, sport + 3, 5000,
			       0x02, NULL, 0, V_PASS, PASS);
		tcp_segment_of(e, hook, "keep, IPv6: application data", 6, sport + 3, a + 1 + hlen,
			       0x18, appdata, sizeof(appdata) - 1, V_PASS, PASS);
	}
}

int main(void)
{
	static uint8_t buf[HELLO_MAX];
	struct hello_out h = { .buf = buf };
	struct hello_opts ho = { .sni = "www.example.com" };
	struct loaded pol;
	struct env e = { 0 };
	uint64_t rng = 11;
	int rc;

	if (unshare(CLONE_NEWNET)) {
		perror("unshare(CLONE_NEWNET)");
		return 1;
	}
	rc = ctnl_open(&nl);
	if (rc) {
		fprintf(stderr, "ctnetlink: %s\n", strerror(-rc));
		return 1;
	}
	if (hello_build(&h, &ho, &rng) || h.len > 1400) {
		fprintf(stderr, "cannot build a ClientHello\n");
		return 1;
	}
	rc = env_open(&e);
	if (rc)
		return rc;
	if (load_text(&pol, "syn-wait.conf", policy, 0) || use(&e, &pol, 0))
		return 1;
	cases(&e, h.buf, h.len);
	rc = env_close(&e);
	free_policy(&pol);
	ctnl_close(&nl);
	return rc;
}
