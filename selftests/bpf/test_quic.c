// SPDX-License-Identifier: GPL-2.0
/*
 * The QUIC fact (bpf/quic.h) through BPF_PROG_TEST_RUN on the XDP and tc programs of
 * selftests/bpf/content_prog.bpf.c, IPv4 and IPv6, untagged and QinQ, against the reference
 * (selftests/lib/ref_content.c) and exact expectations:
 * - the client Initials of RFC 9001 A.2 and RFC 9369 A.2, built by the test's own packet
 *   protection and checked byte for byte against the RFCs (SHA-256 of the 1,200 bytes);
 * - Initials sent by a real client (ngtcp2's gtlsclient) for v1, v2, draft 29 and a greasing
 *   version; built packets of every type, version, connection ID and token length, cut at
 *   every length, with random bytes changed;
 * - the look-alikes that must not match: DNS queries and responses of every ID (dig's, also
 *   iterative ones without RD), DTLS 1.2 (openssl s_client -dtls1_2) and 1.3, STUN and TURN,
 *   WireGuard, RTP and SRTP, OpenVPN (a real client's first packet), NTP.
 * Needs root.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "capture.h"
#include "check.h"
#include "lib_content.h"

#define DGRAM_MAX SEG_MAX

static unsigned long n_datagrams;

/* The fact of datagram d through a hook in one framing (k: family and tags). */
static int quic_fact(int hook, int k, const uint8_t *d, size_t len, uint16_t dport)
{
	struct frame_opts o = { .family = k & 1 ? 6 : 4,
				.vlans = k & 2 ? 2 : 0,
				.proto = 17,
				.sport = 40000 + k,
				.dport = dport,
				.data = d,
				.len = len };
	struct tlsfw_facts g;
	struct pkt p;

	if (frame_build(&p, &o) || crun_frame(&ct_env.r, hook, &p, &g))
		return -1;
	n_datagrams++;
	return g.quic;
}

/* Both hooks, every framing (or one, light), agree with the reference and with want (-1: any). */
static int quic_check(const char *what, const uint8_t *d, size_t len, int want, int light)
{
	int ref = ref_quic(d, len), ok = want < 0 || ref == want;

	CHECK(ok, "%s (%zu bytes): the reference says %d, want %d", what, len, ref, want);
	for (int hook = 0; hook < CR_HOOKS; hook++)
		for (int k = 0; k < (light ? 1 : 4); k++) {
			int g = quic_fact(hook, light ? (int)gen_below(&ct_rng, 4) : k, d, len,
					  light ? 443 : 1 + gen_below(&ct_rng, 65535));

			ok &= g == ref;
			CHECK(g == ref, "%s (%zu bytes, hook %d, framing %d): got %d, reference %d",
			      what, len, hook, k, g, ref);
		}
	return ok;
}

static void sha256(const uint8_t *d, size_t n, uint8_t out[32])
{
	unsigned int len = 32;

	EVP_Digest(d, n, out, &len, EVP_sha256(), NULL);
}

static int unhex(const char *s, uint8_t *out)
{
	int n = 0;

	for (; s[0] && s[1]; s += 2)
		out[n++] = (s[0] % 32 + 9) % 25 * 16 + (s[1] % 32 + 9) % 25;
	return n;
}

/* RFC 9001 A.2 and RFC 9369 A.2: the CRYPTO frame, padded, in a 1,200-byte Initial. */
static void test_rfc_vectors(void)
{
	static const char crypto[] =
		"060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e86804fe3a47f06a2b6948"
		"4c00000413011302010000c000000010000e00000b6578616d706c652e636f6dff01000100000a0008"
		"0006001d0017001800100007000504616c706e000500050100000000003300260024001d00209370b2"
		"c9caa47fbabaf4559fedba753de171fa71f50f1ce15d43e994ec74d748002b0003020304000d001000"
		"0e0403050306030203080408050806002d00020101001c00024001003900320408ffffffffffffffff"
		"05048000ffff07048000ffff0801100104800075300901100f088394c8f03e51570806048000ffff";
	static const struct {
		uint32_t version;
		const char *sha;
	} v[] = {
		{ 1, "73fa0210cb4a5a17dc10b9dc98e5cc359ba1c20fe7c0e93a9e1dcb473c37e097" },
		{ 0x6b3343cf, "b0b766fe7e762577072d3365cc4f9635809210cba301a67f8457f5e6fdac5c68" },
	};
	static const uint8_t dcid[] = { 0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08 };
	uint8_t frame[256], pkt[1500], got[32], want[32];
	int n = unhex(crypto, frame);

	for (size_t i = 0; i < 2; i++) {
		struct quic_opts o = { .version = v[i].version,
				       .dcid = dcid,
				       .dcid_len = 8,
				       .pn = 2,
				       .payload = frame,
				       .payload_len = n,
				       .size = 1200 };
		int len = quic_build(pkt, sizeof(pkt), &o, &ct_rng);

		unhex(v[i].sha, want);
		if (len > 0)
			sha256(pkt, len, got);
		CHECK(len == 1200 && !memcmp(got, want, 32),
		      "version %#x: the protected Initial (%d bytes) is not the RFC's",
		      v[i].version, len);
		quic_check(i ? "RFC 9369 A.2" : "RFC 9001 A.2", pkt, len, TLSFW_QUIC_INITIAL, 0);
	}
}

/* What gtlsclient sends first for a version (hex), over IPv4 or IPv6. */
static void real_initial(const char *version, int family, int want)
{
	uint8_t d[2048];
	char port[8], what[64];
	struct capture c;
	ssize_t n;

	if (capture_listen(&c, SOCK_DGRAM, family)) {
		CHECK(0, "no UDP socket");
		return;
	}
	snprintf(port, sizeof(port), "%u", c.port);
	n = capture_run(&c,
			(char *[]){ "gtlsclient", "-q", "-v", (char *)version,
				    family == 6 ? "::1" : "127.0.0.1", port, "https://example.com/",
				    NULL },
			d, sizeof(d), 10000);
	snprintf(what, sizeof(what), "gtlsclient -v %s", version);
	CHECK(n > 0, "%s sent nothing (%zd): is ngtcp2-client installed?", what, n);
	if (n > 0) {
		printf("%s: %zd bytes, first byte %#x, version %02x%02x%02x%02x\n", what, n, d[0],
		       d[1], d[2], d[3], d[4]);
		if (want == -2)
			want = (d[0] >> 4 & 3) == 1 ? TLSFW_QUIC_INITIAL : TLSFW_QUIC_LONG;
		quic_check(what, d, n, want, 0);
	}
}

static void test_real_initials(void)
{
	real_initial("0x1", 4, TLSFW_QUIC_INITIAL);
	real_initial("0x1", 6, TLSFW_QUIC_INITIAL);
	/* an ngtcp2 without RFC 9369 sends this version with v1's type bits: an Initial only
	 * if its type bits say so in v2's numbering (the RFC 9369 vector is a real one) */
	real_initial("0x6b3343cf", 4, -2);
	real_initial("0xff00001d", 4, TLSFW_QUIC_INITIAL);
	real_initial("0x1a2a3a4a", 4, TLSFW_QUIC_LONG);
}

static void test_built(void)
{
	static const struct {
		uint32_t v;
		int initial; /* the fact of a 1,200-byte Initial */
	} vs[] = {
		{ 1, TLSFW_QUIC_INITIAL },
		{ 0x6b3343cf, TLSFW_QUIC_INITIAL },
		{ 0xff00001d, TLSFW_QUIC_INITIAL },
		{ 0xff000022, TLSFW_QUIC_INITIAL },
		{ 0xff000016, TLSFW_QUIC_INITIAL },
		{ 0xff000015, TLSFW_QUIC_LONG },
		{ 0xff000001, TLSFW_QUIC_LONG },
		{ 0x1a2a3a4a, TLSFW_QUIC_LONG },
		{ 0xfafafafa, TLSFW_QUIC_LONG },
		{ 0, TLSFW_QUIC_NONE },
		{ 0xff000000, TLSFW_QUIC_NONE },
		{ 0xff000023, TLSFW_QUIC_NONE },
		{ 2, TLSFW_QUIC_NONE },
		{ 0x51303530, TLSFW_QUIC_NONE },
		{ 0x709a50c4, TLSFW_QUIC_NONE },
	};
	static const size_t cids[] = { 0, 8, 20, 21 }, tokens[] = { 0, 1, 90 };
	uint8_t d[DGRAM_MAX + 64];
	char what[96];

	for (size_t v = 0; v < sizeof(vs) / sizeof(vs[0]); v++)
		for (int kind = QK_INITIAL; kind <= QK_RETRY; kind++)
			for (size_t c = 0; c < 16; c++) {
				struct quic_opts o = { .version = vs[v].v,
						       .kind = kind,
						       .dcid_len = cids[c & 3],
						       .scid_len = cids[(c >> 2) & 3],
						       .token_len =
							       tokens[c % 3] + (kind == QK_RETRY),
						       .payload_len = 30,
						       .size = c & 1 ? 1200 : 0 };
				int len = quic_build(d, sizeof(d), &o, &ct_rng), want = -1;

				if (len < 0)
					continue;
				if (kind == QK_INITIAL && len >= 1200 && cids[c & 3] <= 20 &&
				    cids[(c >> 2) & 3] <= 20)
					want = vs[v].initial;
				snprintf(what, sizeof(what), "version %#x type %d cids %zu/%zu",
					 vs[v].v, kind, o.dcid_len, o.scid_len);
				quic_check(what, d, len, want, c > 3);
			}
}

/* A datagram cut at every length (its UDP length too), and with random bytes changed. */
static void test_cut_and_changed(void)
{
	static const struct quic_opts os[] = {
		{ .version = 1, .kind = QK_INITIAL, .dcid_len = 8, .scid_len = 8, .size = 1200 },
		{ .version = 0x6b3343cf,
		  .kind = QK_HANDSHAKE,
		  .dcid_len = 20,
		  .scid_len = 4,
		  .payload_len = 40 },
		{ .version = 1, .kind = QK_INITIAL, .dcid_len = 4, .token_len = 70, .size = 1250 },
		{ .version = 0xff00001d, .kind = QK_RETRY, .dcid_len = 8, .token_len = 30 },
		{ .version = 0x1a2a3a4a, .kind = QK_INITIAL, .dcid_len = 8, .scid_len = 8 },
	};
	uint8_t d[DGRAM_MAX + 64];
	char what[64];

	for (size_t i = 0; i < sizeof(os) / sizeof(os[0]); i++) {
		int len = quic_build(d, sizeof(d), &os[i], &ct_rng);

		for (int n = 0; n <= len; n += n < 80 ? 1 : 37) {
			snprintf(what, sizeof(what), "packet %zu cut to %d", i, n);
			quic_check(what, d, n, -1, 1);
		}
		for (int k = 0; k < 1000; k++) {
			uint8_t m[DGRAM_MAX + 64];

			memcpy(m, d, len);
			for (int j = 1 + gen_below(&ct_rng, 3); j--;)
				m[gen_below(&ct_rng, 64)] = gen_next(&ct_rng);
			snprintf(what, sizeof(what), "packet %zu changed (%d)", i, k);
			quic_check(what, m, len, -1, 1);
		}
	}
}

/*
 * An Initial's token length and Length field in every varint size, the Length around the end
 * of the datagram (the packet it announces fits, or does not by 1 to 65,541 bytes). The
 * in-place reading takes the Length from the token length's 8 bytes when the token is empty
 * and the Length shorter than 8 bytes: an 8-byte Length there must be read whole.
 */
static void test_varint_sizes(void)
{
	static const size_t sizes[] = { 1200, 90 }, ns[] = { 1, 2, 4, 8 };
	static const int64_t deltas[] = { -1000, -1, 0, 1, 5, 0x105, 0x10005 };
	static const uint64_t max[] = { 0, 63, 16383, 0, (1u << 30) - 1, 0, 0, 0, 1ull << 62 };
	uint8_t d[DGRAM_MAX + 64];
	char what[96];

	for (size_t s = 0; s < 2; s++)
		for (size_t t = 0; t < 4; t++)
			for (size_t l = 0; l < 4; l++)
				for (size_t k = 0; k < sizeof(deltas) / sizeof(deltas[0]); k++) {
					size_t at = 1 + 4 + 1 + 8 + 1 + 8 + ns[t];
					int64_t v = (int64_t)(sizes[s] - at - ns[l]) + deltas[k];

					if (v < 0 || (uint64_t)v > max[ns[l]])
						continue;
					memset(d, 0x33, sizes[s]);
					memcpy(d, "\xc3\x00\x00\x00\x01\x08", 6); /* v1 Initial */
					d[14] = 8;
					quic_put_varint(d + 23, 0, ns[t]);
					quic_put_varint(d + at, (uint64_t)v, ns[l]);
					snprintf(
						what, sizeof(what),
						"%zu bytes, token length in %zu, Length %lld in %zu",
						sizes[s], ns[t], (long long)v, ns[l]);
					quic_check(what, d, sizes[s], -1, 0);
				}
}

/*
 * A header whose Length field lies beyond QUIC_INPLACE_MAX (2,047 bytes into the datagram):
 * the in-place reading gives up there, and the copy path (tlsfw_quic_copy_xdp/tc: the
 * header copied, the Length read with the load helper) decides, on both hooks and in every
 * framing. Tokens of 2,000 to 2,100 bytes put the Length field on both sides of that offset;
 * the packet it announces fits the datagram exactly, leaves a byte, or misses it by one.
 */
static void test_copy_path(void)
{
	static const int deltas[] = { -1, 0, 1 };
	static const int want[] = { TLSFW_QUIC_INITIAL, TLSFW_QUIC_INITIAL, TLSFW_QUIC_NONE };
	enum { size = 2400 };
	unsigned long before = n_datagrams;
	uint8_t d[size];
	char what[96];

	for (size_t tok = 2000; tok <= 2100; tok += 20)
		for (size_t k = 0; k < 3; k++) {
			size_t at = 1 + 4 + 1 + 8 + 1 + 8 + 2 + tok;
			uint64_t v = size - at - 2 + deltas[k];

			memset(d, 0x44, size);
			memcpy(d, "\xc3\x00\x00\x00\x01\x08", 6); /* v1 Initial */
			d[14] = 8;
			quic_put_varint(d + 23, tok, 2);
			quic_put_varint(d + at, v, 2);
			snprintf(what, sizeof(what), "token of %zu, Length at %zu, %+d", tok, at,
				 deltas[k]);
			quic_check(what, d, size, want[k], 0);
		}
	CHECK(n_datagrams - before == 6 * 3 * CR_HOOKS * 4, "%lu datagrams through the hooks",
	      n_datagrams - before);
}

/* An Initial's first IP fragment holds its header: judged by the UDP length, like the whole
 * datagram; a later fragment has no header to judge. */
static void test_fragments(void)
{
	struct quic_opts o = { .version = 1, .dcid_len = 8, .scid_len = 8, .size = 1300 };
	uint8_t d[DGRAM_MAX + 64];
	int len = quic_build(d, sizeof(d), &o, &ct_rng);

	for (int hook = 0; hook < CR_HOOKS; hook++)
		for (size_t part = 40; part <= 1000; part += 160) {
			struct frame_opts f = { .family = hook ? 6 : 4,
						.proto = 17,
						.sport = 40100,
						.dport = 443,
						.data = d,
						.len = part,
						.frag = PKT_FRAG_FIRST };
			struct tlsfw_facts g;
			struct pkt p;

			if (frame_build(&p, &f))
				continue;
			/* the UDP length of the whole datagram, as a first fragment carries it */
			p.buf[p.l4_off + 4] = (8 + len) >> 8;
			p.buf[p.l4_off + 5] = 8 + len;
			CHECK(!crun_frame(&ct_env.r, hook, &p, &g) && g.quic == ref_quic(d, len) &&
				      g.quic == TLSFW_QUIC_INITIAL,
			      "first fragment of %zu bytes (hook %d): %d", part, hook, g.quic);
			f.frag = PKT_FRAG_LATER;
			CHECK(!frame_build(&p, &f) && !crun_frame(&ct_env.r, hook, &p, &g) &&
				      g.quic == TLSFW_QUIC_NONE,
			      "a later fragment: %d", g.quic);
		}
}

/* A real client's first datagram to a local port: n bytes into d. */
static ssize_t first_datagram(char *const argv_fmt[], uint8_t *d, size_t cap)
{
	char *argv[16] = { 0 }, port[8], *arg = NULL;
	struct capture c;
	ssize_t n;

	if (capture_listen(&c, SOCK_DGRAM, 4))
		return -1;
	snprintf(port, sizeof(port), "%u", c.port);
	for (int i = 0; argv_fmt[i] && i < 15; i++) { /* one argument holds the port */
		char *at = strstr(argv_fmt[i], "%p");

		argv[i] = argv_fmt[i];
		if (at && !arg &&
		    asprintf(&arg, "%.*s%s%s", (int)(at - argv_fmt[i]), argv_fmt[i], port, at + 2) >
			    0)
			argv[i] = arg;
	}
	n = capture_run(&c, argv, d, cap, 10000);
	free(arg);
	return n;
}

static void dns_ids(const char *what, uint8_t *d, size_t len)
{
	int ok = 1;

	for (uint32_t id = 0; id < 65536; id++) {
		d[0] = id >> 8;
		d[1] = id;
		ok &= quic_check(what, d, len, TLSFW_QUIC_NONE, 1);
		if (!ok)
			break;
	}
	printf("%s: 65,536 IDs checked\n", what);
}

static void real_lookalikes(uint8_t *d, size_t cap);
static void built_lookalikes(uint8_t *d);

static void test_lookalikes(void)
{
	char *dig[] = {
		"dig", "+tries=1", "+time=2", "-p", "%p", "@127.0.0.1", "example.com", NULL
	};
	char *dig_iter[] = { "dig", "+nord", "+noad",	   "+tries=1",	 "+time=2",
			     "-p",  "%p",    "@127.0.0.1", "dns.google", NULL };
	uint8_t d[DGRAM_MAX + 64];
	ssize_t n;

	n = first_datagram(dig, d, sizeof(d));
	CHECK(n > 12, "dig sent nothing (%zd)", n);
	if (n > 12)
		dns_ids("dig's query", d, n);
	n = first_datagram(dig_iter, d, sizeof(d));
	CHECK(n > 12 && d[2] == 0 && d[3] == 0, "dig +nord +noad: %zd bytes, flags %#x", n,
	      n > 3 ? d[2] << 8 | d[3] : 0);
	if (n > 12)
		dns_ids("an iterative query (flags 0)", d, n);
	n = dns_query(d, 0xc3c3, "a-name-long-enough-to-look.example.com", 1);
	d[2] = 0x81, d[3] = 0x80; /* a response: QR, RD, RA */
	dns_ids("a response", d, n);
	real_lookalikes(d, sizeof(d));
	built_lookalikes(d);
}

/* DTLS 1.2 from openssl s_client, OpenVPN's first packet from a real client (its CA, cert
 * and key made by openssl in a private temporary directory). */
static void real_lookalikes(uint8_t *d, size_t cap)
{
	char *dtls[] = { "openssl", "s_client", "-dtls1_2", "-connect", "127.0.0.1:%p", NULL };
	char dir[] = "/tmp/tlsfw-quic-XXXXXX", pem[64], key[64], *cmd = NULL;
	ssize_t n;

	n = first_datagram(dtls, d, cap);
	CHECK(n > 13 && d[0] == 22, "openssl s_client -dtls1_2 sent %zd bytes", n);
	if (n > 0)
		quic_check("DTLS 1.2 ClientHello", d, n, TLSFW_QUIC_NONE, 0);
	if (!mkdtemp(dir)) {
		CHECK(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	snprintf(pem, sizeof(pem), "%s/c.pem", dir);
	snprintf(key, sizeof(key), "%s/k.pem", dir);
	if (asprintf(
		    &cmd,
		    "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=t -keyout %s -out %s 2>/dev/null",
		    key, pem) < 0 ||
	    system(cmd))
		CHECK(0, "openssl req failed");
	free(cmd);
	{
		char *ovpn[] = { "openvpn",  "--client",  "--dev", "null",     "--proto", "udp",
				 "--remote", "127.0.0.1", "%p",	   "--ca",     pem,	  "--cert",
				 pem,	     "--key",	  key,	   "--nobind", NULL };

		n = first_datagram(ovpn, d, cap);
	}
	unlink(pem);
	unlink(key);
	rmdir(dir);
	CHECK(n > 0 && d[0] >> 3 == 7, "openvpn sent %zd bytes", n);
	if (n > 0)
		quic_check("OpenVPN hard reset", d, n, TLSFW_QUIC_NONE, 0);
}

/* Hand-built: DTLS 1.3, STUN, TURN, WireGuard, RTP and SRTP, OpenVPN, NTP, 2,000 of them. */
static void built_lookalikes(uint8_t *d)
{
	for (int i = 0; i < 2000; i++) {
		size_t len;

		switch (i % 8) {
		case 0:
			len = dtls13_ciphertext(d, 20 + gen_below(&ct_rng, 1300), &ct_rng);
			break;
		case 1:
			len = stun_binding(d, &ct_rng);
			break;
		case 2:
			len = turn_allocate(d, &ct_rng);
			break;
		case 3:
			len = wireguard_initiation(d, &ct_rng);
			break;
		case 4:
			len = rtp_packet(d, gen_below(&ct_rng, 128), gen_below(&ct_rng, 1300),
					 i & 1, &ct_rng);
			break;
		case 5:
			len = openvpn_reset(d, &ct_rng);
			break;
		case 6: /* WireGuard response (2), cookie (3), data (4) */
			len = 32 + gen_below(&ct_rng, 1200);
			for (size_t k = 0; k < len; k++)
				d[k] = gen_next(&ct_rng);
			d[0] = 2 + gen_below(&ct_rng, 3), d[1] = d[2] = d[3] = 0;
			break;
		default: /* NTP: LI, VN 3 or 4, mode 3 (client); 0xe3 has both top bits */
			len = 48;
			for (size_t k = 0; k < len; k++)
				d[k] = gen_below(&ct_rng, 2) ? 0 : gen_next(&ct_rng);
			d[0] = (const uint8_t[]){ 0xe3, 0xdb, 0x23, 0xe4 }[gen_below(&ct_rng, 4)];
		}
		quic_check("look-alike", d, len, TLSFW_QUIC_NONE, 1);
	}
}

int main(void)
{
	const char *seed = getenv("TLSFW_SEED");
	int err;

	ct_rng = seed ? strtoull(seed, NULL, 0) : 0x901c;
	err = ct_env_load(&ct_env, 0);
	if (err) {
		fprintf(stderr, "cannot load content_prog: %s\n", strerror(-err));
		return 1;
	}
	test_rfc_vectors();
	test_real_initials();
	test_built();
	test_cut_and_changed();
	test_varint_sizes();
	test_copy_path();
	test_fragments();
	test_lookalikes();
	printf("%lu datagrams\n", n_datagrams);
	ct_env_free(&ct_env);
	failures += ct_failures;
	return check_report("test_quic");
}
