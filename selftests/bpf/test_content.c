// SPDX-License-Identifier: GPL-2.0
/*
 * Content inspection of TCP flows (bpf/flow.h, tls.h, names.h) through BPF_PROG_TEST_RUN on
 * the XDP and the tc program of selftests/bpf/content_prog.bpf.c, segment by segment, against
 * the reference (selftests/lib/ref_content.c): the TLS start, the ClientHello's server name
 * class and ECH, MALFORMED with its reason, UNORDERED, MIDSTREAM. ClientHellos are
 * hand-built, generated (TLSFW_SEED; TLSFW_CONTENT_CASES) and captured from openssl s_client,
 * curl and chromium on loopback; segments are cut at every point of the first 64 bytes and at
 * random, retransmitted, coalesced, reordered, fragmented; every length field is broken.
 * Then exact expectations: name matching and its generations, hash collisions, mid-stream
 * flows, eviction counts, and the verifier's work. Needs root.
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "capture.h"
#include "check.h"
#include "lib_content.h"

/* ---- exact expectations ---------------------------------------------------------------------- */

struct step {
	uint32_t off;	  /* stream offset; ~0u: the SYN */
	const uint8_t *d; /* NULL: the stream's bytes */
	size_t len;
	int tls, hello;	    /* the facts this packet must get */
	int why;	    /* with MALFORMED */
	unsigned int fresh; /* TLSFW_FRESH_* this packet must set */
};

/* A flow of exactly these packets, each with its expected facts. */
static void steps(const char *what, const uint8_t *stream, const struct step *st, int n, int hook)
{
	struct fopts fo = { .hook = hook, .family = 4, .want = 1 };
	uint32_t isn = gen_next(&ct_rng);
	uint16_t sport = 61000 + gen_below(&ct_rng, 4000);
	struct tlsfw_facts g;

	*ct_env.r.want = TLSFW_WANT_HELLO;
	for (int i = 0; i < n; i++) {
		const uint8_t *d = st[i].d ? st[i].d : stream + (st[i].off == ~0u ? 0 : st[i].off);
		int syn = st[i].off == ~0u;
		int err = ct_send_seg(&fo, sport, syn ? isn : isn + 1 + st[i].off,
				      syn ? 0x02 : 0x18, d, st[i].len, 0, &g);

		CHECK(!err && g.tls == st[i].tls && g.hello == st[i].hello &&
			      (st[i].hello != TLSFW_HELLO_MALFORMED || g.why == st[i].why) &&
			      g.fresh == st[i].fresh,
		      "%s (%s), packet %d: got tls %d hello %d why %d fresh %u, want %d %d %d %u",
		      what, hook ? "tc" : "xdp", i, g.tls, g.hello, g.why, g.fresh, st[i].tls,
		      st[i].hello, st[i].why, st[i].fresh);
	}
}

#define SYN(...)                        \
	{                               \
		.off = ~0u, __VA_ARGS__ \
	}
#define U TLSFW_TLS_UNDECIDED
#define HU TLSFW_HELLO_UNDECIDED
#define FT TLSFW_FRESH_TLS
#define FH TLSFW_FRESH_HELLO

/* The record header's fields: each value outside the TLS start makes it NO. */
static void tls_start_fields(const struct hello_out *h)
{
	for (int k = 0; k < 7; k++) {
		static const uint8_t off[] = { 0, 1, 2, 2, 3, 3, 5 };
		static const uint8_t val[] = { 23, 2, 0, 5, 0, 0x40, 2 };
		uint8_t b[4096];
		struct step st[] = { SYN(.tls = U, .hello = HU),
				     { 0, NULL, h->len, TLSFW_TLS_NO, TLSFW_HELLO_NOT_TLS, 0,
				       FT | FH } };

		if (h->len > sizeof(b))
			break;
		memcpy(b, h->buf, h->len);
		b[off[k]] = val[k];
		if (k == 4)
			b[4] = 0; /* record length 0 */
		steps("record header field", b, st, 2, k & 1);
	}
}

static void test_tls_start(void)
{
	static uint8_t h_buf[HELLO_MAX];
	struct hello_out h = { .buf = h_buf };
	static const uint8_t get[] = "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n";
	static const uint8_t ssh[] = "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n";
	static const uint8_t ovpn[] = { 0, 14, 0x38, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0 };
	static const uint8_t sslv2[] = { 0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15, 0, 0, 0, 0x10 };
	uint8_t bad[8];
	size_t L;

	CHECK(!hello_build(&h, &(struct hello_opts){ .sni = "www.example.com" }, &ct_rng),
	      "hello_build");
	L = h.len;
	for (int hook = 0; hook < CR_HOOKS; hook++) {
		for (size_t cut = 1; cut < TLSFW_TLS_START; cut++) {
			struct step st[] = { SYN(.tls = U, .hello = HU),
					     { 0, NULL, cut, U, HU },
					     { 0, NULL, cut, U, HU }, /* the same again */
					     { cut, NULL, L - cut, TLSFW_TLS_YES, TLSFW_HELLO_NAME,
					       0, FT | FH } };

			steps("TLS start cut", h.buf, st, 4, hook);
		}
		{ /* six one-byte segments; a coalesced retransmission of them and the rest */
			struct step st[] = { SYN(.tls = U, .hello = HU),
					     { 0, NULL, 1, U, HU },
					     { 1, NULL, 1, U, HU },
					     { 2, NULL, 1, U, HU },
					     { 3, NULL, 1, U, HU },
					     { 4, NULL, 1, U, HU },
					     { 5, NULL, 1, TLSFW_TLS_YES, HU, 0, FT },
					     { 0, NULL, L, TLSFW_TLS_YES, TLSFW_HELLO_NAME, 0, FH },
					     { 0, NULL, 6, TLSFW_TLS_YES, TLSFW_HELLO_NAME } };

			steps("one byte at a time", h.buf, st, 9, hook);
		}
		{ /* Fast Open: all in the SYN */
			struct step st[] = { SYN(.len = L, .tls = TLSFW_TLS_YES,
						 .hello = TLSFW_HELLO_NAME, .fresh = FT | FH) };

			steps("Fast Open", h.buf, st, 1, hook);
		}
		{ /* reordered before the decision, then in order */
			struct step st[] = {
				SYN(.tls = U, .hello = HU),
				{ 10, NULL, L - 10, TLSFW_TLS_UNORDERED, TLSFW_HELLO_UNORDERED },
				{ 0, NULL, 10, TLSFW_TLS_YES, HU, 0, FT },
				{ 10, NULL, L - 10, TLSFW_TLS_YES, TLSFW_HELLO_NAME, 0, FH }
			};

			steps("out of order", h.buf, st, 4, hook);
		}
		memcpy(bad, h.buf, 8);
		bad[2] ^= 1;
		{ /* a retransmission that changes the first bytes */
			struct step st[] = { SYN(.tls = U, .hello = HU),
					     { 0, NULL, L, TLSFW_TLS_YES, TLSFW_HELLO_NAME, 0,
					       FT | FH },
					     { 0, bad, 8, TLSFW_TLS_NO, TLSFW_HELLO_MALFORMED,
					       TLSFW_WHY_CONFLICT, FT | FH },
					     { L, NULL, 0, TLSFW_TLS_NO, TLSFW_HELLO_MALFORMED,
					       TLSFW_WHY_CONFLICT } };

			steps("conflicting retransmission", h.buf, st, 4, hook);
		}
		{ /* not TLS: HTTP, SSH, OpenVPN over TCP, an SSLv2-compatible hello */
			struct step http[] = { SYN(.tls = U, .hello = HU),
					       { 0, NULL, 2, U, HU },
					       { 2, NULL, sizeof(get) - 3, TLSFW_TLS_NO,
						 TLSFW_HELLO_NOT_TLS, 0, FT | FH } };
			struct step one[] = { SYN(.tls = U, .hello = HU),
					      { 0, NULL, 16, TLSFW_TLS_NO, TLSFW_HELLO_NOT_TLS, 0,
						FT | FH } };

			steps("HTTP", get, http, 3, hook);
			steps("SSH", ssh, one, 2, hook);
			steps("OpenVPN over TCP", ovpn, one, 2, hook);
			one[1].len = sizeof(sslv2);
			steps("SSLv2 hello", sslv2, one, 2, hook);
		}
	}
	tls_start_fields(&h);
}

/* ---- ClientHellos against the reference ------------------------------------------------------ */

struct hcase {
	const char *what;
	struct hello_opts o;
	int hello, why; /* the end the reference must agree with too */
};

/* Runs h through every plan; its end must be `hello` (why). */
static void hello_case(const char *what, const struct hello_out *h, int hello, int why,
		       int splits64)
{
	struct ref_hello r;

	ref_stream(h->buf, h->len, &r);
	CHECK(r.hello == hello && (hello != TLSFW_HELLO_MALFORMED || r.why == why),
	      "%s: the reference ends with hello %d why %d, want %d %d", what, r.hello, r.why,
	      hello, why);
	ct_flow_plans(what, h->buf, h->len, splits64);
}

/* Exactly at the limits of extensions and records, and one above. */
static void hello_limits(struct hello_out *h)
{
	struct hello_opts o = { .sni = "www.example.com" };
	int base;

	if (hello_build(h, &o, &ct_rng))
		return;
	base = h->n_ext;
	for (int more = 0; more < 2; more++) {
		o.n_extra = TLSFW_HELLO_MAX_EXTS - base + more;
		if (!hello_build(h, &o, &ct_rng) && h->n_ext == TLSFW_HELLO_MAX_EXTS + more)
			hello_case(more ? "129 extensions" : "128 extensions", h,
				   more ? TLSFW_HELLO_MALFORMED : TLSFW_HELLO_NAME, TLSFW_WHY_LIMIT,
				   0);
		else
			CHECK(0, "cannot build %d extensions", TLSFW_HELLO_MAX_EXTS + more);
	}
	o = (struct hello_opts){ .sni = "dns.quad9.net", .record_max = 400 };
	for (int more = 0; more < 2; more++) {
		o.target = (TLSFW_HELLO_MAX_RECORDS + more) * 400 - 200;
		if (!hello_build(h, &o, &ct_rng) && h->n_records == TLSFW_HELLO_MAX_RECORDS + more)
			hello_case(more ? "33 records of 400" : "32 records of 400", h,
				   more ? TLSFW_HELLO_MALFORMED : TLSFW_HELLO_NAME, TLSFW_WHY_LIMIT,
				   0);
		else
			CHECK(0, "cannot build %d records (%d)", TLSFW_HELLO_MAX_RECORDS + more,
			      h->n_records);
	}
}

static char n253[254], n255[256], n256[257]; /* filled by test_hand_hellos */

static const struct hcase hand[] = {
	{ "SNI", { .sni = "www.example.com" }, TLSFW_HELLO_NAME },
	{ "no SNI", { 0 }, TLSFW_HELLO_NO_NAME },
	{ "SNI and ECH", { .sni = "cover.example.com", .ech = 1 }, TLSFW_HELLO_NAME },
	{ "ECH without SNI", { .ech = 1 }, TLSFW_HELLO_NO_NAME },
	{ "Chromium-like",
	  { .sni = "dns.google", .key_share = 1216, .grease = 1, .shuffle = 1, .ech = 1, .psk = 1 },
	  TLSFW_HELLO_NAME },
	{ "1,500 bytes of padding before SNI",
	  { .sni = "a.cloudflare-dns.com", .padding = 1500, .padding_first = 1 },
	  TLSFW_HELLO_NAME },
	{ "16 KiB", { .sni = "x.b.example.com", .target = 16384 }, TLSFW_HELLO_NAME },
	{ "16 KiB in 17 records",
	  { .sni = "dns.quad9.net", .target = 16384, .record_max = 1000 },
	  TLSFW_HELLO_NAME },
	{ "33 records",
	  { .sni = "dns.quad9.net", .target = 16100, .record_max = 500 },
	  TLSFW_HELLO_MALFORMED,
	  TLSFW_WHY_LIMIT },
	{ "3-byte records",
	  { .sni = "www.example.com", .record_max = 3 },
	  TLSFW_HELLO_MALFORMED,
	  TLSFW_WHY_LIMIT },
	{ "100 more extensions",
	  { .sni = "www.example.com", .n_extra = 100, .shuffle = 1 },
	  TLSFW_HELLO_NAME },
	{ "140 more extensions",
	  { .sni = "www.example.com", .n_extra = 140 },
	  TLSFW_HELLO_MALFORMED,
	  TLSFW_WHY_LIMIT },
	{ "TLS 1.2", { .sni = "admin.example.com", .tls12 = 1 }, TLSFW_HELLO_NAME },
	{ "record version 0x0303",
	  { .sni = "www.example.com", .record_version = 0x0303 },
	  TLSFW_HELLO_NAME },
	{ "upper case", { .sni = "WWW.Example.COM", .shuffle = 1 }, TLSFW_HELLO_NAME },
	{ "trailing dot", { .sni = "www.example.com." }, TLSFW_HELLO_MALFORMED, TLSFW_WHY_NAME },
	{ "empty label", { .sni = "www..example.com" }, TLSFW_HELLO_MALFORMED, TLSFW_WHY_NAME },
	{ "leading dot", { .sni = ".example.com" }, TLSFW_HELLO_MALFORMED, TLSFW_WHY_NAME },
	{ "253 bytes", { .sni = n253 }, TLSFW_HELLO_NAME },
	{ "255 bytes", { .sni = n255 }, TLSFW_HELLO_NAME },
	{ "256 bytes", { .sni = n256 }, TLSFW_HELLO_MALFORMED, TLSFW_WHY_SNI },
	{ "64 KiB",
	  { .sni = "www.example.com", .target = 66000 },
	  TLSFW_HELLO_MALFORMED,
	  TLSFW_WHY_HANDSHAKE },
	{ "no session id", { .sni = "www.example.com", .sid_len = -1 }, TLSFW_HELLO_NAME },
	{ "a 33-byte session id",
	  { .sni = "www.example.com", .sid_len = 33 },
	  TLSFW_HELLO_MALFORMED,
	  TLSFW_WHY_LENGTH },
	{ "the smallest ClientHello",
	  { .sid_len = -1, .suites = 1, .no_ext = 1 },
	  TLSFW_HELLO_NO_NAME },
	{ "no extensions", { .no_ext = 1 }, TLSFW_HELLO_NO_NAME },
};

static void test_hand_hellos(void)
{
	static uint8_t h_buf[HELLO_MAX];
	struct hello_out h = { .buf = h_buf };

	for (int i = 0; i < 256; i++) /* labels of 63 bytes, the last one shorter */
		n256[i] = i % 64 == 63 ? '.' : 'a' + i % 26;
	memcpy(n253, n256, 253);
	memcpy(n255, n256, 255);
	for (size_t i = 0; i < sizeof(hand) / sizeof(hand[0]); i++) {
		if (hello_build(&h, &hand[i].o, &ct_rng)) {
			CHECK(0, "%s: hello_build", hand[i].what);
			continue;
		}
		hello_case(hand[i].what, &h, hand[i].hello, hand[i].why, i < 8);
	}
	hello_limits(&h);
}

/* ---- real clients ---------------------------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *f)
{
	remove(path); /* what cannot be removed stays: a temporary directory */
	return 0;
}

static void real_client(const char *what, int family, const char *const fmt[], const char *name)
{
	static uint8_t h_buf[HELLO_MAX];
	struct hello_out h = { .buf = h_buf };
	char port[8], url[128], dir[] = "/tmp/tlsfw-chromium-XXXXXX", *argv[24] = { 0 }, *owned[24];
	struct ref_hello r;
	struct capture c;
	ssize_t n;
	int k = 0;

	if (capture_listen(&c, SOCK_STREAM, family)) {
		CHECK(0, "%s: no listening socket", what);
		return;
	}
	snprintf(port, sizeof(port), "%u", c.port);
	snprintf(url, sizeof(url), "%s:%u", family == 6 ? "[::1]" : "127.0.0.1", c.port);
	if (!mkdtemp(dir))
		dir[0] = 0;
	for (; fmt[k] && k < 23; k++) { /* %p: port, %a: address:port, %d: a fresh directory */
		const char *f = fmt[k];

		if (asprintf(&owned[k], "%s", f) < 0)
			return;
		if (strstr(f, "%p") || strstr(f, "%a") || strstr(f, "%d")) {
			char *at = strstr(f, "%");

			free(owned[k]);
			if (asprintf(&owned[k], "%.*s%s%s", (int)(at - f), f,
				     at[1] == 'p' ? port :
				     at[1] == 'a' ? url :
						    dir,
				     at + 2) < 0)
				return;
		}
		argv[k] = owned[k];
	}
	n = capture_run(&c, argv, h.buf, HELLO_MAX, 20000);
	for (int i = 0; i < k; i++)
		free(owned[i]);
	if (dir[0])
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	CHECK(n > 0, "%s: the client sent nothing (%zd): is it installed?", what, n);
	if (n <= 0)
		return;
	h.len = n;
	ref_stream(h.buf, h.len, &r);
	CHECK(r.tls == TLSFW_TLS_YES &&
		      (name ? r.hello == TLSFW_HELLO_NAME && !strcmp(r.name, name) :
			      r.hello == TLSFW_HELLO_NO_NAME),
	      "%s: a ClientHello of %zu bytes, hello %d name '%s', want '%s'", what, h.len, r.hello,
	      r.name, name ? name : "(none)");
	printf("%s: ClientHello of %zu bytes\n", what, h.len);
	if (!strcmp(what, "chromium"))
		CHECK(h.len > 1460, "chromium: a ClientHello of %zu bytes fits one segment", h.len);
	ct_flow_plans(what, h.buf, h.len, 1);
}

static void test_real_clients(void)
{
	const char *s_client[] = { "openssl",	  "s_client",	      "-connect", "%a",
				   "-servername", "WWW.Example.Test", NULL };
	const char *no_sni[] = { "openssl", "s_client", "-connect", "%a", "-noservername", NULL };
	const char *tls12[] = { "openssl", "s_client",	  "-tls1_2",	"-connect",
				"%a",	   "-servername", "dns.google", NULL };
	const char *v6[] = { "openssl",	    "s_client",	       "-connect", "%a",
			     "-servername", "x.b.example.com", NULL };
	const char *curl[] = { "curl",
			       "-sk",
			       "--max-time",
			       "15",
			       "--resolve",
			       "admin.example.com:%p:127.0.0.1",
			       "https://admin.example.com:%p/",
			       NULL };
	const char *chromium[] = { "chromium",
				   "--headless",
				   "--no-sandbox",
				   "--disable-gpu",
				   "--no-first-run",
				   "--disable-background-networking",
				   "--disable-component-update",
				   "--disable-sync",
				   "--user-data-dir=%d",
				   "--host-resolver-rules=MAP * 127.0.0.1",
				   "https://www.example.com:%p/",
				   NULL };

	real_client("openssl s_client", 4, s_client, "www.example.test");
	real_client("openssl s_client -noservername", 4, no_sni, NULL);
	real_client("openssl s_client -tls1_2", 4, tls12, "dns.google");
	real_client("openssl s_client over IPv6", 6, v6, "x.b.example.com");
	real_client("curl", 4, curl, "admin.example.com");
	real_client("chromium", 4, chromium, "www.example.com");
}

/* ---- generated ------------------------------------------------------------------------------- */

static void random_name(char *out, size_t cap)
{
	static const char *const known[] = { "dns.google",
					     "cloudflare-dns.com",
					     "a.cloudflare-dns.com",
					     "x.y.cloudflare-dns.com",
					     "admin.example.com",
					     "x.b.example.com",
					     "y.b.example.com",
					     "example.com",
					     "Mixed.Case.Example",
					     "deep.a.b.c.d.example.org",
					     "a.b.c.d.example.org",
					     "evilcloudflare-dns.com",
					     "www.example.com.",
					     "a..b",
					     "com" };
	size_t n = 0;

	if (gen_below(&ct_rng, 3)) {
		snprintf(out, cap, "%s", known[gen_below(&ct_rng, sizeof(known) / sizeof(*known))]);
	} else {
		for (int l = 1 + gen_below(&ct_rng, 5); l-- && n + 66 < cap;) {
			for (int i = 1 + gen_below(&ct_rng, 20); i--;)
				out[n++] = "abcdefghijklmnopqrstuvwxyzABC-0123456789"[gen_below(
					&ct_rng, 40)];
			out[n++] = l ? '.' : 0;
		}
	}
	for (char *p = out; *p; p++) /* change case now and then */
		if (!gen_below(&ct_rng, 8) && *p >= 'a' && *p <= 'z')
			*p -= 32;
}

static void test_generated(void)
{
	static uint8_t h_buf[HELLO_MAX];
	struct hello_out h = { .buf = h_buf };
	const char *env = getenv("TLSFW_CONTENT_CASES");
	unsigned long n = env ? strtoul(env, NULL, 10) : 2000, before = ct_failures;
	struct seg s[MAX_SEGS];
	char name[300], what[64];

	for (unsigned long i = 0; i < n; i++) {
		struct hello_opts o = {
			.sni = gen_below(&ct_rng, 8) ? name : NULL,
			.ech = !gen_below(&ct_rng, 4),
			.key_share = gen_below(&ct_rng, 2) ? 1216 : gen_below(&ct_rng, 300),
			.padding = gen_below(&ct_rng, 3) ? 0 : gen_below(&ct_rng, 2000),
			.padding_first = !gen_below(&ct_rng, 4),
			.shuffle = gen_below(&ct_rng, 2),
			.grease = gen_below(&ct_rng, 2),
			.psk = !gen_below(&ct_rng, 4),
			.target = gen_below(&ct_rng, 10) ? 0 : gen_below(&ct_rng, 17000),
			.record_max = gen_below(&ct_rng, 4) ? 0 : 200 + gen_below(&ct_rng, 2000),
			.tls12 = !gen_below(&ct_rng, 8),
			.n_extra = gen_below(&ct_rng, 4) ? 0 : gen_below(&ct_rng, 40),
		};
		struct fopts fo = { .hook = i & 1,
				    .family = gen_below(&ct_rng, 2) ? 6 : 4,
				    .vlans = gen_below(&ct_rng, 3),
				    .want = !!gen_below(&ct_rng, 8),
				    .tfo = !gen_below(&ct_rng, 8) };
		int k;

		random_name(name, sizeof(name));
		if (hello_build(&h, &o, &ct_rng))
			continue;
		k = ct_plan_random(s, h.len, gen_below(&ct_rng, 2));
		snprintf(what, sizeof(what), "generated #%lu", i);
		ct_flow_run(what, h.buf, s, k, &fo);
	}
	printf("generated: %lu ClientHellos, %lu disagreements\n", n, ct_failures - before);
}

/* ---- every length field broken --------------------------------------------------------------- */

static void break_fields(const char *what, const struct hello_out *base)
{
	static uint8_t h_buf[HELLO_MAX];
	struct hello_out h = { .buf = h_buf };
	struct seg s[MAX_SEGS];

	h.len = base->len;
	for (int f = 0; f < base->n_fields; f++) {
		const struct hello_field *fl = &base->fields[f];
		uint32_t v = 0, max = (1u << (8 * fl->size)) - 1;
		const uint32_t vals[] = { 0, 1, 2, 3, 4, 0x7f, max };

		for (int i = 0; i < fl->size; i++)
			v = v << 8 | base->buf[fl->off + i];
		for (int k = 0; k < 9; k++) {
			uint32_t nv = k < 7 ? vals[k] : k == 7 ? v - 1 : v + 1;
			char name[96];

			memcpy(h.buf, base->buf, base->len);
			for (int i = fl->size - 1; i >= 0; i--, nv >>= 8)
				h.buf[fl->off + i] = nv;
			snprintf(name, sizeof(name), "%s, field %d (at %zu) = value %d", what, f,
				 fl->off, k);
			ct_flow_run(name, h.buf, s, ct_plan_cut(s, h.len, 0, SEG_MAX),
				    &(struct fopts){ .hook = k & 1, .family = 4, .want = 1 });
			ct_flow_run(name, h.buf, s, ct_plan_random(s, h.len, 0),
				    &(struct fopts){ .hook = !(k & 1), .family = 6, .want = 1 });
		}
	}
}

static void test_malformed(void)
{
	static uint8_t h_buf[HELLO_MAX];
	struct hello_out h = { .buf = h_buf };
	const struct hello_opts os[] = {
		{ .sni = "www.example.com", .ech = 1, .psk = 1 },
		{ .sni = "dns.google", .key_share = 1216, .grease = 1, .shuffle = 1 },
		{ .sni = "x.b.example.com", .record_max = 100 },
		{ .tls12 = 1, .padding = 20 },
		{ .sid_len = -1, .suites = 1, .no_ext = 1 },
	};
	struct seg s[MAX_SEGS];

	for (size_t i = 0; i < sizeof(os) / sizeof(os[0]); i++) {
		char what[32];

		snprintf(what, sizeof(what), "broken hello %zu", i);
		if (!hello_build(&h, &os[i], &ct_rng))
			break_fields(what, &h);
	}
	for (int i = 0; i < 500; i++) { /* and random bytes of the first 120 changed */
		if (hello_build(&h, &os[i % 5], &ct_rng))
			continue;
		for (int k = 1 + gen_below(&ct_rng, 3); k--;)
			h.buf[gen_below(&ct_rng, 120)] = gen_next(&ct_rng);
		ct_flow_run("random bytes changed", h.buf, s, ct_plan_random(s, h.len, 0),
			    &(struct fopts){ .hook = i & 1, .family = 4, .want = 1 });
	}
}

int main(void)
{
	const char *seed = getenv("TLSFW_SEED");
	int err;

	ct_rng = seed ? strtoull(seed, NULL, 0) : 0x7e57c0de;
	printf("seed %#llx (TLSFW_SEED)\n", (unsigned long long)ct_rng);
	err = ct_env_load(&ct_env, 0);
	if (err) {
		fprintf(stderr, "cannot load content_prog: %s\n", strerror(-err));
		if (ct_env.log[0])
			fprintf(stderr, "%s\n%s\n", ct_env.log[0], ct_env.log[1]);
		return 1;
	}
	for (int h = 0; h < CR_HOOKS; h++) {
		const char *p = strstr(ct_env.log[h], "processed ");

		printf("verifier, %s program: %s", h ? "tc" : "XDP", p ? p : "(no statistics)\n");
	}
	test_tls_start();
	test_hand_hellos();
	test_real_clients();
	test_generated();
	test_malformed();
	printf("%lu flows, %lu segments\n", ct_flows, ct_segments);
	ct_env_free(&ct_env);
	failures += ct_failures;
	return check_report("test_content");
}
