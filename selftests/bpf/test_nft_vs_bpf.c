// SPDX-License-Identifier: GPL-2.0
/*
 * The nftables backend against the BPF backend, packet by packet, through a real namespace
 * gateway (scripts/topology.sh). For each seeded random policy (randpol, the data plane's
 * differential generator) both backends enforce it in turn with `tlsfw apply` (`backend: bpf`,
 * then `backend: nft`); the same random packets (randpol_packet, built by pkt_build) are sent
 * as raw frames from the client's veth (AF_PACKET) into lan0, and the server's veth captures
 * what the gateway forwarded. The delivered sets must be equal, and so must the packet count of
 * every rule counter `tlsfw stats --json --exact` shows.
 *
 * The gateway is made deterministic: it routes every destination off its subnets to the
 * server under permanent neighbour entries, sends no redirects and never rate-limits ICMP
 * errors, and client and server have no address left (no neighbour discovery from them; the
 * server captures and never answers). dmz0,
 * which random policies may name, is a veth of the gateway that sees no traffic. The policy's
 * lan0 hooks [ingress] and wan0 [egress] only (restrict_hooks()), and every packet is sent
 * into lan0 whichever hook randpol aimed it at. Router solicitations are off and the
 * multicast listener reports of the new links are let settle before the first policy.
 *
 * Named differences, kept out of the comparison (architecture.md, "Differences from the BPF
 * backend"):
 * - fragments (`follow`), VLAN and QinQ tags, malformed packets: none is generated; every
 *   packet is an untagged, unfragmented IPv4 or IPv6 datagram. An IPv6 next header that
 *   names an extension header which is not there (randpol's "any protocol" may pick 0, 43,
 *   44, 50, 51, 60, 135, 139, 140, 253, 254) is malformed and not sent: the inet ingress hook
 *   drops it before nftables sees it, the BPF backend classifies it.
 * - reject answers: the BPF backend sends them itself (XDP_TX out of the interface the packet
 *   came in by; from tc, redirected), nftables through the stack (routed to the source, seen
 *   by the output hook, and not for ICMP errors or multicast sources). Where the answer goes
 *   and which hook counts it differ by design, so every `reject` of a random policy becomes
 *   `drop` here; test_reject.sh compares the answers of both backends.
 * - a forwarded packet the gateway cannot transmit (a destination on one of its own subnets
 *   other than the server, whose neighbour never answers): nftables' egress chains run in
 *   the forward hook, before neighbour resolution, and count it; tc egress runs at the device
 *   and never sees it. Such destinations are not sent, nor such sources: the gateway's answer
 *   to a packet (an ICMP time exceeded for a random hop limit of 1, a reset from its own
 *   stack) goes back to the source, and nftables' output chain counts it on wan0 egress where
 *   tc never sees it (test_nft_vs_bpf seeds 6 and 13 did).
 *
 * Packets are told apart by the IPv4 identification and the IPv6 flow label (both kept by
 * forwarding, covered by no transport checksum), checked against addresses and protocol.
 * Seeded (TLSFW_SEED, default 1; TLSFW_NFT_POLICIES policies, default 24); a mismatch prints the
 * seed, the policy and the packet; NVB_DEBUG=1 also lists the packets the reference decision
 * puts on a counter that differs, and the frames the server caught that were not ours.
 * Needs root, ip(8) and the tlsfw binary ($TLSFW).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>

#include "pkt.h"
#include "tlsfw_abi.h"
#include "randpol.h"
#include "ref_decide.h"

#define N_PACKETS 160
#define MAX_FAILURES 5

struct sent {
	struct pkt p;
	struct ref_pkt ref;
	uint32_t tag; /* IPv4 id / IPv6 flow label */
};

struct ctr {
	char key[160]; /* "rule interface direction" */
	unsigned long long packets;
};

struct run { /* what one backend did with one policy's packets */
	bool delivered[N_PACKETS];
	struct ctr *c;
	size_t n_c;
	int apply_rc;
};

struct env {
	char prefix[64], gw[80], cli[80], srv[80];
	const char *tlsfw;
	int tx, rx; /* AF_PACKET on the client's and the server's veth0 */
	int tx_ifindex;
	uint8_t gw_mac[6], cli_mac[6];
	char dir[64];
	unsigned long failures, packets, compared;
};

static struct env *g_env; /* cleanup from the signal handler and fatal paths only */

static void topo_down(struct env *e)
{
	char cmd[256];

	if (!e->prefix[0])
		return;
	snprintf(cmd, sizeof(cmd), "scripts/topology.sh down %s", e->prefix);
	if (system(cmd))
		fprintf(stderr, "warning: %s failed\n", cmd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", e->dir);
	if (system(cmd))
		fprintf(stderr, "warning: %s failed\n", cmd);
	e->prefix[0] = 0;
}

static void on_signal(int sig)
{
	if (g_env)
		topo_down(g_env);
	_exit(128 + sig);
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	return rc == -1 ? -1 : WEXITSTATUS(rc);
}

/* A socket created in namespace ns (a socket keeps the namespace it was created in). */
static int socket_in(const char *ns, int domain, int type, int proto)
{
	char path[160];
	int self = open("/proc/self/ns/net", O_RDONLY), fd, s = -1;

	snprintf(path, sizeof(path), "/var/run/netns/%s", ns);
	fd = open(path, O_RDONLY);
	if (self < 0 || fd < 0 || setns(fd, CLONE_NEWNET)) {
		perror(path);
		goto out;
	}
	s = socket(domain, type, proto);
	if (setns(self, CLONE_NEWNET)) {
		perror("setns back");
		topo_down(g_env);
		exit(1);
	}
out:
	if (fd >= 0)
		close(fd);
	if (self >= 0)
		close(self);
	return s;
}

static int packet_socket(const char *ns, int *ifindex, uint8_t mac[6])
{
	int s = socket_in(ns, AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	struct ifreq ifr = { 0 };

	if (s < 0)
		return -1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "veth0");
	if (ioctl(s, SIOCGIFINDEX, &ifr) || (sll.sll_ifindex = ifr.ifr_ifindex, 0) ||
	    bind(s, (struct sockaddr *)&sll, sizeof(sll)) || ioctl(s, SIOCGIFHWADDR, &ifr)) {
		perror("AF_PACKET veth0");
		close(s);
		return -1;
	}
	if (ifindex)
		*ifindex = sll.sll_ifindex;
	if (mac)
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	return s;
}

static int gw_mac(struct env *e)
{
	int s = socket_in(e->gw, AF_INET, SOCK_DGRAM, 0);
	struct ifreq ifr = { 0 };

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lan0");
	if (s < 0 || ioctl(s, SIOCGIFHWADDR, &ifr)) {
		perror("lan0 address");
		return -1;
	}
	memcpy(e->gw_mac, ifr.ifr_hwaddr.sa_data, 6);
	close(s);
	return 0;
}

static int topo_up(struct env *e)
{
	snprintf(e->prefix, sizeof(e->prefix), "tlsfw-nvb-%d-", getpid());
	snprintf(e->gw, sizeof(e->gw), "%sgw", e->prefix);
	snprintf(e->cli, sizeof(e->cli), "%sc", e->prefix);
	snprintf(e->srv, sizeof(e->srv), "%ss", e->prefix);
	if (sh("scripts/topology.sh up %s", e->prefix))
		return -1;
	/* The gateway sends every destination off its own subnets to the server, under
	 * permanent neighbour entries, without redirects and with ICMP errors never rate
	 * limited (their count must not depend on timing). The server then loses its
	 * addresses: it captures and never answers, so nothing comes back through the gateway. */
	if (sh("ip netns exec %s sh -e -c '"
	       "ip link add dmz0 type veth peer name dmz0p; ip link set dmz0 up;"
	       "sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0 net.ipv4.icmp_msgs_per_sec=100000"
	       " net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.lan0.send_redirects=0 net.ipv4.conf.wan0.send_redirects=0;"
	       "for a in 10.10.2.2 fd00:2::2; do python3 selftests/net/nettool.py udp-probe --to $a --port 9 --timeout 0.3 >/dev/null; done;"
	       "s=$(ip neigh show 10.10.2.2 dev wan0 | sed -n \"s/.*lladdr \\([^ ]*\\).*/\\1/p\");"
	       "ip neigh replace 10.10.2.2 lladdr $s dev wan0 nud permanent;"
	       "ip neigh replace fd00:2::2 lladdr $s dev wan0 nud permanent;"
	       "ip route add default via 10.10.2.2; ip -6 route add default via fd00:2::2'",
	       e->gw))
		return -1;
	/* Client and server lose their addresses and neighbours: neither ever sends neighbour
	 * discovery again (a late NS or NA would be counted by whichever backend runs then). */
	for (int i = 1; i < 3; i++)
		if (sh("ip netns exec %s sh -e -c 'ip addr flush dev veth0 scope global; ip -6 addr flush dev veth0 scope global; ip neigh flush all; ip -6 neigh flush all'",
		       i == 1 ? e->cli : e->srv))
			return -1;
	for (int i = 0; i < 3; i++)
		if (sh("ip netns exec %s sh -c 'for f in /proc/sys/net/ipv6/conf/*/router_solicitations; do echo 0 >$f; done'",
		       i == 0 ? e->gw :
		       i == 1 ? e->cli :
				e->srv))
			return -1;
	sleep(3);
	e->tx = packet_socket(e->cli, &e->tx_ifindex, e->cli_mac);
	e->rx = packet_socket(e->srv, NULL, NULL);
	if (e->tx < 0 || e->rx < 0 || gw_mac(e))
		return -1;
	return 0;
}

static void addr_str(const uint8_t a[16], int family, char *buf, size_t len)
{
	inet_ntop(family == 4 ? AF_INET : AF_INET6, family == 4 ? a + 12 : a, buf, len);
}

/* Does some hook of the policy reach rule r? */
static bool reachable(const struct policy *p, const struct pol_rule *r)
{
	for (size_t i = 0; i < p->n_ifaces; i++) {
		bool listed = !r->ifaces.n;

		for (size_t k = 0; k < r->ifaces.n; k++)
			listed |= !strcmp(r->ifaces.v[k], p->ifaces[i].name);
		if (listed && (p->ifaces[i].hooks & (r->direction ? r->direction : 3u)))
			return true;
	}
	return false;
}

/* Only lan0's ingress and wan0's egress see the injected packets and nothing else: the
 * gateway's and the peers' own link-local chatter (MLD, neighbour discovery) leaves by lan0
 * and arrives on wan0 at moments no test controls. A rule whose scoping then reaches no hook
 * (the checker refuses it) loses its direction. */
static void restrict_hooks(struct policy *p)
{
	for (size_t i = 0; i < p->n_ifaces; i++) {
		if (!strcmp(p->ifaces[i].name, "lan0"))
			p->ifaces[i].hooks = POL_HOOK_INGRESS;
		else if (!strcmp(p->ifaces[i].name, "wan0"))
			p->ifaces[i].hooks = POL_HOOK_EGRESS;
	}
	for (size_t i = 0; i < p->n_rules; i++)
		if (!reachable(p, &p->rules[i]))
			p->rules[i].direction = 0;
}

/* An address (of family) on the gateway's subnets other than the server's. */
static bool on_gw_subnet(const uint8_t *a, unsigned int family)
{
	static const uint8_t v4[2][3] = { { 10, 10, 1 }, { 10, 10, 2 } };
	static const uint8_t v6[2][8] = { { 0xfd, 0, 0, 1 }, { 0xfd, 0, 0, 2 } };
	uint8_t s4[16], s6[16];

	pkt_addr("10.10.2.2", s4);
	pkt_addr("fd00:2::2", s6);
	if (!memcmp(a, family == 4 ? s4 : s6, 16))
		return false;
	for (int i = 0; i < 2; i++)
		if (family == 4 ? !memcmp(a + 12, v4[i], 3) : !memcmp(a, v6[i], 8))
			return true;
	return false;
}

/* The frame for s->ref, into lan0 with tag; false for what is not compared. */
static bool build(struct env *e, struct sent *s, uint32_t tag)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	struct pkt_opts o = { 0 };
	uint8_t *b;

	static const uint8_t ext6[] = { 0, 43, 44, 50, 51, 60, 135, 139, 140, 253, 254 };

	if (s->ref.family == 6 && memchr(ext6, s->ref.proto, sizeof(ext6)))
		return false; /* malformed: a named difference (top of the file) */
	if (on_gw_subnet(s->ref.dst, s->ref.family) || on_gw_subnet(s->ref.src, s->ref.family))
		return false; /* never transmitted, or its answer: a named difference */
	addr_str(s->ref.src, s->ref.family, src, sizeof(src));
	addr_str(s->ref.dst, s->ref.family, dst, sizeof(dst));
	o.family = s->ref.family;
	o.src = src;
	o.dst = dst;
	o.proto = s->ref.proto;
	o.sport = s->ref.sport;
	o.dport = s->ref.dport;
	o.tcp_flags = 0x02;
	o.payload = 16;
	o.icmp_type = s->ref.has_type ? s->ref.icmp_type + 1 : 0;
	o.hop_limit = s->ref.hop_limit;
	if (pkt_build(&s->p, &o))
		return false;
	b = s->p.buf;
	memcpy(b, e->gw_mac, 6);
	memcpy(b + 6, e->cli_mac, 6);
	s->tag = tag;
	if (s->ref.family == 4) {
		uint8_t *ip = b + s->p.l3_off;
		uint16_t c;

		ip[4] = tag >> 8;
		ip[5] = tag;
		ip[10] = ip[11] = 0;
		c = pkt_csum(ip, (ip[0] & 15) * 4, 0);
		memcpy(ip + 10, &c, 2);
	} else {
		uint8_t *ip = b + s->p.l3_off;

		ip[1] = (ip[1] & 0xf0) | ((tag >> 16) & 0x0f);
		ip[2] = tag >> 8;
		ip[3] = tag;
	}
	return true;
}

static int cmp_ctr(const void *a, const void *b)
{
	return strcmp(((const struct ctr *)a)->key, ((const struct ctr *)b)->key);
}

static int read_counters(struct env *e, struct run *r)
{
	char path[128];
	json_object *doc, *rules;

	snprintf(path, sizeof(path), "%s/stats.json", e->dir);
	if (sh("ip netns exec %s %s stats --json --exact >%s", e->gw, e->tlsfw, path))
		return -1;
	doc = json_object_from_file(path);
	if (!doc || !json_object_object_get_ex(doc, "rules", &rules))
		return -1;
	r->n_c = json_object_array_length(rules);
	r->c = calloc(r->n_c ? r->n_c : 1, sizeof(*r->c));
	for (size_t i = 0; i < r->n_c; i++) {
		json_object *o = json_object_array_get_idx(rules, i), *v;
		const char *f[3] = { "", "", "" }, *keys[3] = { "name", "interface", "direction" };

		for (int k = 0; k < 3; k++)
			if (json_object_object_get_ex(o, keys[k], &v))
				f[k] = json_object_get_string(v);
		snprintf(r->c[i].key, sizeof(r->c[i].key), "%s %s %s", f[0], f[1], f[2]);
		if (json_object_object_get_ex(o, "packets", &v))
			r->c[i].packets = json_object_get_int64(v);
	}
	qsort(r->c, r->n_c, sizeof(*r->c), cmp_ctr);
	json_object_put(doc);
	return 0;
}

/* Frames captured on the server: which of ours arrived. */
static void drain(struct env *e, const struct sent *s, size_t n, bool *delivered)
{
	uint8_t buf[PKT_MAX];
	ssize_t len;

	while ((len = recv(e->rx, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		uint16_t et = buf[12] << 8 | buf[13];
		uint32_t tag;
		uint8_t *ip = buf + 14;

		if (et == ETH_P_IP && len >= 34)
			tag = ip[4] << 8 | ip[5];
		else if (et == ETH_P_IPV6 && len >= 54)
			tag = (ip[1] & 0x0f) << 16 | ip[2] << 8 | ip[3];
		else
			continue;
		if (getenv("NVB_DEBUG") && (!tag || tag > n)) {
			fprintf(stderr, "  other frame: et %04x len %zd:", et, len);
			for (int i = 14; i < len && i < 70; i++)
				fprintf(stderr, "%02x", buf[i]);
			fprintf(stderr, "\n");
		}
		if (!tag || tag > n)
			continue;
		const struct sent *x = &s[tag - 1];
		const uint8_t *sip = x->p.buf + x->p.l3_off;
		/* the same addresses (and version) as what was sent, else the gateway's own */
		if (x->ref.family == 4 ? et != ETH_P_IP || memcmp(ip + 12, sip + 12, 8) :
					 et != ETH_P_IPV6 || memcmp(ip + 8, sip + 8, 32))
			continue;
		delivered[tag - 1] = true;
	}
}

static void write_policy(struct env *e, const char *yaml, const char *backend, char *path,
			 size_t len)
{
	FILE *f;

	snprintf(path, len, "%s/%s.conf", e->dir, backend);
	f = fopen(path, "w");
	if (!f) {
		perror(path);
		topo_down(e);
		exit(1);
	}
	/* "version: 1\n" is randpol_yaml's first line */
	fprintf(f, "version: 1\nbackend: %s\n%s", backend, yaml + strlen("version: 1\n"));
	fclose(f);
}

static void run_backend(struct env *e, const char *yaml, const char *backend, const struct sent *s,
			size_t n, struct run *r)
{
	char path[128];
	struct timespec ts = { 0, 400 * 1000 * 1000 };

	memset(r, 0, sizeof(*r));
	write_policy(e, yaml, backend, path, sizeof(path));
	r->apply_rc = sh("ip netns exec %s %s apply %s >%s/apply.out 2>&1", e->gw, e->tlsfw, path,
			 e->dir);
	if (r->apply_rc) {
		sh("cat %s/apply.out", e->dir);
		return;
	}
	while (recv(e->rx, (char[64]){ 0 }, 64, MSG_DONTWAIT) > 0)
		; /* whatever the apply's neighbour traffic left */
	for (size_t i = 0; i < n; i++) {
		struct sockaddr_ll to = { .sll_family = AF_PACKET,
					  .sll_ifindex = e->tx_ifindex,
					  .sll_halen = 6 };

		memcpy(to.sll_addr, e->gw_mac, 6);
		if (sendto(e->tx, s[i].p.buf, s[i].p.len, 0, (struct sockaddr *)&to, sizeof(to)) <
		    0)
			perror("sendto");
		if (i % 16 == 15)
			usleep(2000); /* the veth backlog (1000 frames) never overflows */
	}
	nanosleep(&ts, NULL);
	drain(e, s, n, r->delivered);
	if (read_counters(e, r))
		r->apply_rc = -1;
	sh("ip netns exec %s %s detach >/dev/null", e->gw, e->tlsfw);
}

static void failed(struct env *e, uint64_t seed, const char *yaml)
{
	if (++e->failures <= MAX_FAILURES)
		fprintf(stderr, "  seed %llu, policy:\n%s\n", (unsigned long long)seed, yaml);
}

/* Which packets the reference decision puts on counter key (for a failure message). */
static void explain(const struct policy *pol, const struct sent *s, size_t n, const struct run *a,
		    const char *key)
{
	static const char *const ifs[2] = { "lan0", "wan0" };

	for (size_t i = 0; i < n; i++) {
		for (int h = 0; h < 2; h++) {
			struct ref_pkt p = s[i].ref;
			struct ref_verdict v;
			char k[160];

			p.ifname = ifs[h];
			p.dir = h ? TLSFW_DIR_EGRESS : TLSFW_DIR_INGRESS;
			if (h && !a->delivered[i])
				continue;
			v = ref_decide(pol, &p);
			if (v.rule == -1)
				continue;
			snprintf(k, sizeof(k), "%s %s %s",
				 v.rule == REF_ESSENTIALS ? "(essentials)" :
							    pol->rules[v.rule].name,
				 ifs[h], h ? "egress" : "ingress");
			if (strcmp(k, key))
				continue;
			fprintf(stderr, "    reference: packet %zu (%s) counts here: ", i,
				a->delivered[i] ? "delivered" : "not delivered");
			ref_pkt_print(&p, stderr);
			fprintf(stderr, "\n");
		}
	}
}

static void compare(struct env *e, uint64_t seed, const char *yaml, const struct policy *pol,
		    const struct sent *s, size_t n, const struct run *a, const struct run *b)
{
	bool bad = false;

	for (size_t i = 0; i < n; i++) {
		e->compared++;
		if (a->delivered[i] == b->delivered[i])
			continue;
		if (e->failures < MAX_FAILURES) {
			fprintf(stderr, "FAIL: seed %llu packet %zu: bpf %s, nft %s: ",
				(unsigned long long)seed, i,
				a->delivered[i] ? "delivered" : "not delivered",
				b->delivered[i] ? "delivered" : "not delivered");
			ref_pkt_print(&s[i].ref, stderr);
			fprintf(stderr, "\n");
		}
		bad = true;
	}
	/* every counter of one backend against the other's; one that only one backend shows
	 * must be 0 (a rule scoped away from a hook) */
	for (size_t i = 0, j = 0; i < a->n_c || j < b->n_c;) {
		int c = i == a->n_c ? 1 : j == b->n_c ? -1 : strcmp(a->c[i].key, b->c[j].key);
		unsigned long long pa = c <= 0 ? a->c[i].packets : 0,
				   pb = c >= 0 ? b->c[j].packets : 0;
		const char *key = c <= 0 ? a->c[i].key : b->c[j].key;

		/* The gateway's own neighbour discovery and MLD leave by egress when the kernel
		 * decides (reachability probes, reports): the implicit rule's egress counts
		 * differ by run, not by backend. */
		if (!strncmp(key, "(essentials) ", 13) && strstr(key, " egress"))
			pa = pb;
		if (pa != pb) {
			if (e->failures < MAX_FAILURES)
				fprintf(stderr,
					"FAIL: seed %llu counter %s: bpf %llu, nft %llu packets\n",
					(unsigned long long)seed, key, pa, pb);
			if (e->failures < MAX_FAILURES && getenv("NVB_DEBUG"))
				explain(pol, s, n, a, key);
			bad = true;
		}
		i += c <= 0;
		j += c >= 0;
	}
	if (bad)
		failed(e, seed, yaml);
}

int main(void)
{
	const char *seed_env = getenv("TLSFW_SEED"), *np = getenv("TLSFW_NFT_POLICIES");
	uint64_t seed0 = seed_env ? strtoull(seed_env, NULL, 0) : 1;
	unsigned int n_pol = np ? atoi(np) : 24;
	struct randpol_opts ro = {
		.max_rules = 8, .services = true, .monitor = true, .valid = true
	};
	struct env e = { .tx = -1, .rx = -1 };
	static struct sent s[N_PACKETS];
	static struct run rb, rn;
	unsigned int skipped = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	e.tlsfw = getenv("TLSFW");
	if (geteuid()) {
		fprintf(stderr, "FAIL: needs root\n");
		return 1;
	}
	if (!e.tlsfw || access(e.tlsfw, X_OK) || access("scripts/topology.sh", X_OK)) {
		fprintf(stderr,
			"FAIL: run from the source tree with TLSFW=<tlsfw binary> (selftests/run.sh does)\n");
		return 1;
	}
	snprintf(e.dir, sizeof(e.dir), "/tmp/tlsfw-nvb.XXXXXX");
	if (!mkdtemp(e.dir)) {
		perror("mkdtemp");
		return 1;
	}
	g_env = &e;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (topo_up(&e)) {
		fprintf(stderr, "FAIL: cannot set up the namespace gateway\n");
		topo_down(&e);
		return 1;
	}
	for (unsigned int k = 0; k < n_pol && e.failures < MAX_FAILURES; k++) {
		uint64_t seed = seed0 * 1000003 + k;
		struct policy pol;
		struct rp_rng r;
		size_t n = 0;
		char *yaml;

		rp_seed(&r, seed);
		if (randpol_new(&pol, &r, &ro)) {
			fprintf(stderr, "FAIL: randpol_new\n");
			break;
		}
		restrict_hooks(&pol);
		/* reject answers differ by design (see the top of this file): drop instead */
		for (size_t i = 0; i < pol.n_rules; i++)
			if (pol.rules[i].action == POL_REJECT)
				pol.rules[i].action = POL_DROP;
		yaml = randpol_yaml(&pol);
		for (unsigned int tries = 0; yaml && n < N_PACKETS && tries < 20 * N_PACKETS;
		     tries++) {
			memset(&s[n], 0, sizeof(s[n]));
			randpol_packet(&pol, &r, &s[n].ref);
			if (build(&e, &s[n], n + 1))
				n++;
		}
		if (!yaml || !n) {
			skipped++;
			free(yaml);
			randpol_free(&pol);
			continue;
		}
		run_backend(&e, yaml, "bpf", s, n, &rb);
		run_backend(&e, yaml, "nft", s, n, &rn);
		if (rb.apply_rc != rn.apply_rc) {
			fprintf(stderr, "FAIL: seed %llu: apply exited %d (bpf) and %d (nft)\n",
				(unsigned long long)seed, rb.apply_rc, rn.apply_rc);
			failed(&e, seed, yaml);
		} else if (rb.apply_rc) {
			skipped++; /* refused by both (e.g. a rule left without a hook) */
		} else {
			compare(&e, seed, yaml, &pol, s, n, &rb, &rn);
			e.packets += n;
		}
		free(rb.c);
		free(rn.c);
		free(yaml);
		randpol_free(&pol);
	}
	topo_down(&e);
	printf("%u policies (%u refused by both or empty), %lu packets compared: %lu failures\n",
	       n_pol, skipped, e.packets, e.failures);
	if (!e.packets) {
		fprintf(stderr, "FAIL: no packet was compared\n");
		return 1;
	}
	return e.failures ? 1 : 0;
}
