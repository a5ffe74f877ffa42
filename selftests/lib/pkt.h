/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small packet builder for data-plane tests: Ethernet, up to two VLAN tags, IPv4 with
 * options or IPv6 with extension headers, fragments (first, later, tiny first), TCP, UDP or
 * ICMP, and truncation at any byte. Checksums are correct unless a test breaks them.
 */
#ifndef TLSFW_PKT_H
#define TLSFW_PKT_H

#include <stddef.h>
#include <stdint.h>

/* a frame that BPF_PROG_TEST_RUN takes in one buffer (XDP: a page less its headroom and
 * shared info, about 3.5 KB), so that a test can reach offsets past 2,047 (test_quic) */
#define PKT_MAX 3072

enum pkt_frag { PKT_NOFRAG = 0, PKT_FRAG_FIRST, PKT_FRAG_LATER };

struct pkt_opts {
	int family;	       /* 4 (default) or 6 */
	const char *src, *dst; /* addresses; default 10.0.0.1 / 10.0.0.2 or fd00::1 / fd00::2 */
	uint16_t ethertype;    /* 0: from family; else this EtherType and no IP header (ARP) */
	int n_vlan;	       /* tags, outermost first */
	uint16_t vlan_tpid[3]; /* 0x8100 (default) or 0x88a8 */
	uint16_t vlan_id[3];
	uint8_t proto;	       /* 6, 17 (default), 1, 58, ... */
	uint16_t sport, dport; /* default 40000 -> 443 */
	uint8_t tcp_flags;     /* default SYN */
	uint32_t seq, ack;
	size_t payload;	    /* transport payload bytes (pattern filled) */
	size_t ip4_opts;    /* IPv4 option bytes (multiple of 4, <= 40) */
	int n_ext;	    /* IPv6 extension headers before the transport (or fragment) */
	uint8_t ext[12];    /* 0 hop-by-hop, 43 routing, 60 dst options, 51 AH */
	enum pkt_frag frag; /* fragment kind; IPv6 adds a fragment header after ext[] */
	uint32_t frag_id;
	uint16_t frag_off; /* bytes, multiple of 8, for PKT_FRAG_LATER (default 1480) */
	int l4_cut;	   /* > 0: only this many bytes of the transport header (tiny) */
	int icmp_type;	   /* ICMP, ICMPv6: type + 1; 0: echo request */
	uint8_t hop_limit; /* TTL or hop limit; 0: 64 */
	size_t truncate;   /* > 0: cut the frame to this length after building */
};

struct pkt {
	uint8_t buf[PKT_MAX];
	size_t len;
	size_t l3_off, l4_off; /* where the builder put the headers */
};

/* Returns 0 or -EINVAL (bad options, too long). */
int pkt_build(struct pkt *p, const struct pkt_opts *o);

/* Internet checksum over len bytes, continuing from sum (0 to start); folded, complemented. */
uint16_t pkt_csum(const void *data, size_t len, uint32_t sum);
/* Partial sums to chain: add len bytes to sum (unfolded). */
uint32_t pkt_csum_add(uint32_t sum, const void *data, size_t len);
/* Pseudo-header sum of an IPv4 (family 4, 4-byte addresses) or IPv6 header. */
uint32_t pkt_pseudo_sum(int family, const uint8_t *src, const uint8_t *dst, uint8_t proto,
			uint32_t len);
/* Parse an address of either family into 16 bytes (IPv4 v4-mapped). Returns 4, 6 or -1. */
int pkt_addr(const char *s, uint8_t out[16]);

#endif
