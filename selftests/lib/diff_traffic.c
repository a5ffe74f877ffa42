// SPDX-License-Identifier: GPL-2.0
/* Random traffic pieces for the differential test; see diff_traffic.h. */
#include <arpa/inet.h>
#include <string.h>

#include "content_gen.h"
#include "diff_traffic.h"

static const char *addr_str(const uint8_t *a, uint8_t family, char *buf, size_t len)
{
	if (family == 4)
		return inet_ntop(AF_INET, a + 12, buf, len);
	return inet_ntop(AF_INET6, a, buf, len);
}

void opts_of(const struct ref_pkt *ref, struct pkt_opts *o, char *src, char *dst)
{
	o->family = ref->family;
	o->src = addr_str(ref->src, ref->family, src, INET6_ADDRSTRLEN);
	o->dst = addr_str(ref->dst, ref->family, dst, INET6_ADDRSTRLEN);
	o->proto = ref->proto;
	o->sport = ref->sport;
	o->dport = ref->dport;
}

/* Protocol numbers the builder and the parser treat as transports. */
uint8_t usable_proto(uint8_t proto, uint8_t family)
{
	if (proto == 0)
		return 253; /* 0 means "default" to the builder (and hop-by-hop in IPv6) */
	if (family == 6 && (proto == 43 || proto == 44 || proto == 51 || proto == 60))
		return 253;
	return proto;
}

void rand_encap(struct rp_rng *r, struct pkt_opts *o)
{
	static const uint8_t exts[] = { 43, 60, 51 };

	o->n_vlan = rp_below(r, 4) ? 0 : 1 + rp_below(r, 2);
	for (int i = 0; i < o->n_vlan; i++) {
		/* QinQ: 802.1ad outside, 802.1Q inside */
		o->vlan_tpid[i] = o->n_vlan == 2 && i == 0 ? 0x88a8 : 0x8100;
		o->vlan_id[i] = rp_below(r, 4095);
	}
	if (o->family == 4) {
		o->ip4_opts = rp_below(r, 3) ? 0 : 4 * rp_below(r, 11);
	} else if (!rp_below(r, 3)) {
		o->n_ext = 1 + rp_below(r, 3);
		for (int i = 0; i < o->n_ext; i++)
			o->ext[i] = i == 0 && rp_below(r, 2) ? 0 : exts[rp_below(r, sizeof(exts))];
	}
	o->payload = rp_below(r, 4) ? rp_below(r, 64) : rp_below(r, 600);
}

/* A UDP payload: QUIC long headers of every kind and version (RFC 9000, 9369, drafts,
 * greasing, version negotiation), and the look-alikes that must not be taken for QUIC. */
size_t udp_payload(struct rp_rng *r, uint8_t *buf, size_t cap)
{
	static const uint32_t versions[] = { 1,		 0x6b3343cf, 0xff00001d, 0xff000022,
					     0x1a2a3a4a, 0,	     0xff000023, 0x00000002 };
	uint64_t rng = rp_next(r);
	struct quic_opts q = { 0 };
	int n;

	switch (rp_below(r, 10)) {
	case 0:
		return dns_query(buf, 0xc3c3, "example.com", rp_below(r, 2));
	case 1:
		return stun_binding(buf, &rng);
	case 2:
		return wireguard_initiation(buf, &rng);
	case 3:
		return rtp_packet(buf, 96, rp_below(r, 200), rp_below(r, 2), &rng);
	case 4:
		return dtls13_ciphertext(buf, rp_below(r, 200), &rng);
	case 5:
		return openvpn_reset(buf, &rng);
	default:
		break;
	}
	q.version = versions[rp_below(r, sizeof(versions) / sizeof(versions[0]))];
	q.kind = rp_below(r, 4);
	q.dcid_len = rp_below(r, 5) ? 8 : rp_below(r, 24);
	q.scid_len = rp_below(r, 21);
	q.size = q.kind == QK_INITIAL && rp_below(r, 4) ? 1200 + rp_below(r, 200) : 0;
	q.payload_len = 20 + rp_below(r, 40);
	n = quic_build(buf, cap, &q, &rng);
	if (n < 0)
		return 0;
	/* now and then a truncated one */
	return rp_below(r, 8) ? (size_t)n : rp_below(r, (uint32_t)n + 1);
}

/* A client's first bytes: ClientHello starts of every record version, near misses in each of
 * the six decisive bytes, and protocols that hide on TLS ports. */
size_t tcp_first(struct rp_rng *r, uint8_t *buf)
{
	/* HTTP/1.1, SSH, OpenVPN over TCP (a 2-byte length, P_CONTROL_HARD_RESET_CLIENT_V2),
	 * HTTP/2 without TLS */
	static const struct {
		const char *s;
		size_t n;
	} plain[] = { { "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 27 },
		      { "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n", 33 },
		      { "\x00\x2a\x38\x01\x02\x03\x04\x05\x06\x07\x08\x00\x00", 13 },
		      { "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24 } };
	size_t len = 6 + rp_below(r, FLOW_DATA - 6);

	for (size_t i = 0; i < FLOW_DATA; i++)
		buf[i] = rp_next(r);
	if (rp_below(r, 4) == 0) {
		unsigned int k = rp_below(r, sizeof(plain) / sizeof(plain[0]));

		memcpy(buf, plain[k].s, plain[k].n);
		return plain[k].n < len ? plain[k].n : len;
	}
	buf[0] = 22;
	buf[1] = 3;
	buf[2] = 1 + rp_below(r, 4);
	buf[3] = rp_below(r, 0x40);
	buf[4] = rp_next(r);
	buf[5] = 1;
	if (!rp_below(r, 3)) { /* one decisive byte off */
		static const uint8_t wrong[][2] = { { 0, 23 }, { 0, 21 },   { 1, 2 }, { 2, 0 },
						    { 2, 5 },  { 3, 0x40 }, { 5, 2 }, { 5, 0 } };
		const uint8_t *w = wrong[rp_below(r, sizeof(wrong) / sizeof(wrong[0]))];

		buf[w[0]] = w[1];
		if (w[0] == 3) /* a record longer than 2^14 */
			buf[4] = 1;
		if (w[0] == 3 && rp_below(r, 2)) /* or empty */
			buf[3] = buf[4] = 0;
	}
	return len;
}
