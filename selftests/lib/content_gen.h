/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test traffic for content inspection: TLS ClientHellos (random extension order, padding,
 * post-quantum key shares, ECH, several records, every length field recorded so a test can
 * break it), QUIC long-header packets (Initials protected as RFC 9001 5 and RFC 9369 3.3
 * say, with OpenSSL), the UDP look-alikes QUIC must not match, and Ethernet frames carrying
 * them (pkt.h).
 */
#ifndef TLSFW_CONTENT_GEN_H
#define TLSFW_CONTENT_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "pkt.h"

/* Seeded generator (splitmix64). */
uint64_t gen_next(uint64_t *s);
uint32_t gen_below(uint64_t *s, uint32_t n);

/* ---- ClientHello --------------------------------------------------------------------------- */

#define HELLO_MAX (80 * 1024)
#define HELLO_FIELDS 512

struct hello_opts {
	const char *sni;	 /* NULL: no server_name */
	int ech;		 /* an encrypted_client_hello (outer) extension */
	size_t key_share;	 /* key_share bytes besides x25519 (1216: X25519MLKEM768) */
	size_t padding;		 /* a padding extension of this many bytes (0: none) */
	int padding_first;	 /* padding before server_name (else in random order) */
	int shuffle;		 /* random extension order (pre_shared_key stays last) */
	int sni_last;		 /* server_name after every other extension (but PSK) */
	int grease;		 /* GREASE values and extensions, as Chromium sends them */
	int psk;		 /* a pre_shared_key extension (last) */
	size_t target;		 /* > 0: pad the handshake message to this many bytes */
	size_t record_max;	 /* > 0: records of at most this payload (default 16384) */
	uint16_t record_version; /* of the first record; default 0x0301 */
	int tls12;		 /* a TLS 1.2 ClientHello (no supported_versions, key_share) */
	int n_extra;		 /* more extensions of unknown types, empty or small */
	int sid_len;		 /* legacy_session_id bytes: 0 for 32, -1 for none */
	int suites;		 /* cipher suites sent (0: all 15) */
	int no_ext;		 /* no extensions block at all (a TLS 1.0 style hello) */
};

/* Where a length field of the built bytes is, so that a test can break it. */
struct hello_field {
	size_t off;
	uint8_t size; /* 1, 2 or 3 bytes, big-endian */
};

struct hello_out {
	uint8_t *buf; /* HELLO_MAX bytes, owned by the caller */
	size_t len;
	size_t name_at; /* offset of the host_name bytes (with sni) */
	int n_ext;	/* extensions sent */
	int n_records;
	struct hello_field fields[HELLO_FIELDS];
	int n_fields;
};

/* Returns 0 or -E2BIG. rng: the seeded state (shuffling, random bytes). */
int hello_build(struct hello_out *out, const struct hello_opts *o, uint64_t *rng);

/* ---- QUIC ---------------------------------------------------------------------------------- */

enum quic_kind { QK_INITIAL = 0, QK_0RTT, QK_HANDSHAKE, QK_RETRY };

struct quic_opts {
	uint32_t version;
	enum quic_kind kind;
	const uint8_t *dcid; /* NULL: dcid_len random bytes */
	size_t dcid_len, scid_len;
	size_t token_len; /* Initial: a token of this many bytes */
	uint32_t pn;	  /* packet number (4 bytes on the wire) */
	const uint8_t *payload;
	size_t payload_len; /* plaintext frames; padded with PADDING to reach `size` */
	size_t size;	    /* datagram size (0: as the payload needs) */
};

/* A long-header packet; Initials of v1, v2 and drafts are protected with the Initial keys of
 * their version (greased versions: with v1's). Returns the length or -1. */
int quic_build(uint8_t *out, size_t cap, const struct quic_opts *o, uint64_t *rng);

/* v as an n-byte (1, 2, 4 or 8) variable-length integer at b (RFC 9000 16: any size that
 * holds the value). Returns n. */
size_t quic_put_varint(uint8_t *b, uint64_t v, size_t n);

/* RFC 9001 A.1 / RFC 9369 A.1: the client Initial key, IV and header protection key for
 * connection ID dcid (for the test of this builder against the RFCs' vectors). */
int quic_initial_keys(uint32_t version, const uint8_t *dcid, size_t dcid_len, uint8_t key[16],
		      uint8_t iv[12], uint8_t hp[16]);

/* ---- look-alikes (each a UDP payload; returns its length) ---------------------------------- */

size_t dns_query(uint8_t *out, uint16_t id, const char *name, int edns);
size_t stun_binding(uint8_t *out, uint64_t *rng);
size_t turn_allocate(uint8_t *out, uint64_t *rng);
size_t wireguard_initiation(uint8_t *out, uint64_t *rng);
size_t rtp_packet(uint8_t *out, uint8_t pt, size_t payload, int srtp, uint64_t *rng);
size_t dtls13_ciphertext(uint8_t *out, size_t payload, uint64_t *rng);
size_t openvpn_reset(uint8_t *out, uint64_t *rng);

/* ---- frames -------------------------------------------------------------------------------- */

struct frame_opts {
	int family; /* 4 or 6 */
	int vlans;  /* 0, 1 or 2 tags */
	uint8_t proto;
	uint16_t sport, dport;
	uint32_t seq;
	uint8_t tcp_flags;
	size_t tcp_opts; /* bytes of TCP options (NOPs; for a SYN with data: Fast Open) */
	enum pkt_frag frag;
	const uint8_t *data;
	size_t len; /* at most 1400 */
};

int frame_build(struct pkt *p, const struct frame_opts *o);

#endif
