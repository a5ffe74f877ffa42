/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Random traffic pieces for the differential test (test_differential.c): encapsulations
 * around a packet, UDP payloads that are QUIC or look like it, and a TCP client's first
 * bytes. Seeded by randpol's generator.
 */
#ifndef TLSFW_DIFF_TRAFFIC_H
#define TLSFW_DIFF_TRAFFIC_H

#include <stddef.h>
#include <stdint.h>

#include "pkt.h"
#include "randpol.h"

#define FLOW_DATA 64 /* first bytes of a flow (tcp_first) */

/* The builder's options for ref's headers; src and dst hold INET6_ADDRSTRLEN bytes. */
void opts_of(const struct ref_pkt *ref, struct pkt_opts *o, char *src, char *dst);
/* Protocol numbers the builder and the parser treat as transports. */
uint8_t usable_proto(uint8_t proto, uint8_t family);
/* VLAN and QinQ tags, IPv4 options or IPv6 extension headers, a payload length. */
void rand_encap(struct rp_rng *r, struct pkt_opts *o);
/* A UDP payload of at most cap bytes; returns its length. */
size_t udp_payload(struct rp_rng *r, uint8_t *buf, size_t cap);
/* A client's first bytes (FLOW_DATA in buf); returns how many to send. */
size_t tcp_first(struct rp_rng *r, uint8_t *buf);

#endif
