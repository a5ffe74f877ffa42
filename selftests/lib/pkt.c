// SPDX-License-Identifier: GPL-2.0
/* Packet builder for data-plane tests (see pkt.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "pkt.h"

uint32_t pkt_csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *b = data;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)b[i] << 8 | b[i + 1];
	if (len & 1)
		sum += (uint32_t)b[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

uint16_t pkt_csum(const void *data, size_t len, uint32_t sum)
{
	sum = pkt_csum_add(sum, data, len);
	return htons((uint16_t)~sum);
}

uint32_t pkt_pseudo_sum(int family, const uint8_t *src, const uint8_t *dst, uint8_t proto,
			uint32_t len)
{
	uint32_t sum = 0;
	uint8_t tail[8] = { 0 };

	sum = pkt_csum_add(sum, src, family == 4 ? 4 : 16);
	sum = pkt_csum_add(sum, dst, family == 4 ? 4 : 16);
	if (family == 4) {
		tail[1] = proto;
		tail[2] = len >> 8;
		tail[3] = len;
		return pkt_csum_add(sum, tail, 4);
	}
	tail[0] = len >> 24;
	tail[1] = len >> 16;
	tail[2] = len >> 8;
	tail[3] = len;
	tail[7] = proto;
	return pkt_csum_add(sum, tail, 8);
}

int pkt_addr(const char *s, uint8_t out[16])
{
	struct in_addr a4;

	if (inet_pton(AF_INET, s, &a4) == 1) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &a4, 4);
		return 4;
	}
	if (inet_pton(AF_INET6, s, out) == 1)
		return 6;
	return -1;
}

static void put16(uint8_t *b, uint16_t v)
{
	b[0] = v >> 8;
	b[1] = v;
}

static void put32(uint8_t *b, uint32_t v)
{
	b[0] = v >> 24;
	b[1] = v >> 16;
	b[2] = v >> 8;
	b[3] = v;
}

/* The transport header and payload at b; returns its length. */
static size_t build_l4(uint8_t *b, const struct pkt_opts *o, uint8_t proto, size_t payload)
{
	size_t hl;

	switch (proto) {
	case 6:
		hl = 20;
		put16(b, o->sport);
		put16(b + 2, o->dport);
		put32(b + 4, o->seq);
		put32(b + 8, o->ack);
		b[12] = 5 << 4;
		b[13] = o->tcp_flags;
		put16(b + 14, 65535);
		break;
	case 17:
		hl = 8;
		put16(b, o->sport);
		put16(b + 2, o->dport);
		put16(b + 4, 8 + payload);
		break;
	case 1:
	case 58:
		hl = 8;
		b[0] = o->icmp_type ? o->icmp_type - 1 : proto == 1 ? 8 : 128; /* echo request */
		put16(b + 4, 1);
		put16(b + 6, 1);
		break;
	default:
		hl = 0;
	}
	for (size_t i = 0; i < payload; i++)
		b[hl + i] = (uint8_t)(i * 7 + 1);
	return hl + payload;
}

static void l4_csum(uint8_t *b, size_t len, int family, const uint8_t *src, const uint8_t *dst,
		    uint8_t proto)
{
	uint32_t sum;
	size_t off;

	if (proto == 6)
		off = 16;
	else if (proto == 17)
		off = 6;
	else if (proto == 1 || proto == 58)
		off = 2;
	else
		return;
	if (off + 2 > len)
		return;
	b[off] = b[off + 1] = 0;
	sum = proto == 1 ? 0 : pkt_pseudo_sum(family, src, dst, proto, len);
	uint16_t c = pkt_csum(b, len, sum);
	if (proto == 17 && c == 0)
		c = 0xffff;
	memcpy(b + off, &c, 2);
}

int pkt_build(struct pkt *p, const struct pkt_opts *o)
{
	uint8_t src[16], dst[16], *b = p->buf, l4buf[PKT_MAX];
	int family = o->family ? o->family : 4;
	uint8_t proto = o->proto ? o->proto : 17;
	struct pkt_opts d = *o;
	size_t off = 14, l4len, l3;

	memset(p, 0, sizeof(*p));
	if (!d.sport)
		d.sport = 40000;
	if (!d.dport)
		d.dport = 443;
	if (!d.tcp_flags && proto == 6)
		d.tcp_flags = 0x02;
	if (!d.frag_off)
		d.frag_off = 1480;
	if (pkt_addr(o->src	 ? o->src :
		     family == 4 ? "10.0.0.1" :
				   "fd00::1",
		     src) < 0 ||
	    pkt_addr(o->dst	 ? o->dst :
		     family == 4 ? "10.0.0.2" :
				   "fd00::2",
		     dst) < 0)
		return -EINVAL;
	/* the transport header (at most TCP's 20 bytes) and the payload are built in l4buf */
	if (o->payload > PKT_MAX - 20 || o->ip4_opts > 40 || (o->ip4_opts & 3) || o->n_vlan > 3 ||
	    o->n_ext > 12)
		return -EINVAL;

	memcpy(b, "\x02\x00\x00\x00\x00\x02", 6);     /* dst MAC */
	memcpy(b + 6, "\x02\x00\x00\x00\x00\x01", 6); /* src MAC */
	for (int i = 0; i < o->n_vlan; i++) {
		put16(b + off - 2, o->vlan_tpid[i] ? o->vlan_tpid[i] : 0x8100);
		put16(b + off, o->vlan_id[i] & 0xfff);
		off += 4;
	}
	put16(b + off - 2, o->ethertype ? o->ethertype : family == 4 ? 0x0800 : 0x86dd);
	p->l3_off = off;
	if (o->ethertype) {
		memset(b + off, 0xab, 28); /* an ARP-sized body */
		p->len = off + 28;
		goto cut;
	}

	/* transport (or the middle of a datagram) built aside, placed after the IP headers */
	if (o->frag == PKT_FRAG_LATER) {
		l4len = o->payload ? o->payload : 64;
		for (size_t i = 0; i < l4len; i++)
			l4buf[i] = (uint8_t)i;
	} else {
		l4len = build_l4(l4buf, &d, proto, o->payload);
		l4_csum(l4buf, l4len, family, family == 4 ? src + 12 : src,
			family == 4 ? dst + 12 : dst, proto);
		if (o->l4_cut > 0 && (size_t)o->l4_cut < l4len)
			l4len = o->l4_cut;
	}

	l3 = off;
	if (family == 4) {
		size_t hl = 20 + o->ip4_opts, tot;
		uint16_t fo = 0;

		b[off] = 0x40 | (hl / 4);
		b[off + 8] = o->hop_limit ? o->hop_limit : 64;
		b[off + 9] = proto;
		put16(b + off + 4, o->frag_id);
		if (o->frag == PKT_FRAG_FIRST)
			fo = 0x2000;
		else if (o->frag == PKT_FRAG_LATER)
			fo = d.frag_off / 8;
		put16(b + off + 6, fo);
		memcpy(b + off + 12, src + 12, 4);
		memcpy(b + off + 16, dst + 12, 4);
		for (size_t i = 0; i < o->ip4_opts; i++)
			b[off + 20 + i] = 1; /* NOP options */
		off += hl;
		tot = hl + l4len;
		put16(b + l3 + 2, tot);
		put16(b + l3 + 10, 0);
		uint16_t c = pkt_csum(b + l3, hl, 0);
		memcpy(b + l3 + 10, &c, 2);
	} else {
		uint8_t *next = b + off + 6;

		b[off] = 0x60;
		b[off + 7] = o->hop_limit ? o->hop_limit : 64;
		memcpy(b + off + 8, src, 16);
		memcpy(b + off + 24, dst, 16);
		off += 40;
		for (int i = 0; i < o->n_ext; i++) {
			*next = o->ext[i];
			next = b + off;
			if (o->ext[i] ==
			    51) { /* AH: 12 bytes of header + 4 of ICV, (4-octet units) - 2 */
				memset(b + off, 0, 16);
				b[off + 1] = 16 / 4 - 2;
				off += 16;
			} else {
				memset(b + off, 0, 8);
				b[off + 2] = 1; /* PadN option, 4 bytes: 1, 2, 0, 0 ... */
				b[off + 3] = 4;
				b[off + 1] = 0;
				off += 8;
			}
		}
		if (o->frag != PKT_NOFRAG) {
			*next = 44;
			next = b + off;
			memset(b + off, 0, 8);
			put16(b + off + 2, o->frag == PKT_FRAG_FIRST ? 1 : (d.frag_off & 0xfff8));
			put32(b + off + 4, o->frag_id);
			off += 8;
		}
		*next = proto;
	}
	if (off + l4len > PKT_MAX)
		return -EINVAL;
	memcpy(b + off, l4buf, l4len);
	p->l4_off = off;
	off += l4len;
	if (family == 6)
		put16(b + l3 + 4, off - l3 - 40);
	p->len = off;
cut:
	if (p->len < 60) { /* Ethernet minimum: padding after the IP packet */
		memset(b + p->len, 0, 60 - p->len);
		p->len = 60;
	}
	if (o->truncate && o->truncate < p->len)
		p->len = o->truncate;
	return 0;
}
