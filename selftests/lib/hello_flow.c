// SPDX-License-Identifier: GPL-2.0
/* ClientHello flows for the differential test; see hello_flow.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hello_flow.h"

static void add(struct hello_flow *f, uint32_t off, uint32_t len, uint8_t flags, const char *kind)
{
	if (f->n < HF_SEGS)
		f->seg[f->n++] = (struct hf_seg){ off, len, flags, kind };
}

/* The ClientHello: a name from the pool or none, ECH, key shares, padding, order, size. */
static int build(struct hello_flow *f, struct rp_rng *r, uint64_t *rng)
{
	char name[64];
	struct hello_opts o = { 0 };
	bool big = !rp_below(r, 10);

	randpol_host_name(r, name, sizeof(name));
	o.sni = rp_below(r, 6) ? name : NULL;
	o.ech = !rp_below(r, 3);
	o.key_share = rp_below(r, 2) ? 1216 : 0; /* X25519MLKEM768, as browsers send it */
	o.padding = rp_below(r, 4) ? 0 : 1 + rp_below(r, 1500);
	o.padding_first = o.padding && rp_below(r, 2);
	o.shuffle = rp_below(r, 2);
	o.sni_last = !rp_below(r, 4);
	o.grease = rp_below(r, 2);
	o.psk = !rp_below(r, 5);
	o.tls12 = !rp_below(r, 8);
	o.target = big ? 16384 : 0;
	o.record_max = big ? (rp_below(r, 2) ? 4096 : 1000) : (rp_below(r, 8) ? 0 : 200);
	f->h = (struct hello_out){ .buf = f->buf };
	if (hello_build(&f->h, &o, rng))
		return -E2BIG;
	snprintf(f->what, sizeof(f->what), "ClientHello of %zu bytes in %d records, %s%s%s",
		 f->h.len, f->h.n_records, o.sni ? "server_name " : "no server_name",
		 o.sni ? o.sni : "", o.ech ? ", ECH" : "");
	return 0;
}

/* Now and then a length field gets a wrong value (malformed: fail closed). */
static void maybe_break(struct hello_flow *f, struct rp_rng *r)
{
	const struct hello_field *fl;
	uint32_t v = 0, max, nv;
	size_t at = strlen(f->what);

	if (rp_below(r, 6) || !f->h.n_fields)
		return;
	fl = &f->h.fields[rp_below(r, f->h.n_fields)];
	max = (1u << (8 * fl->size)) - 1;
	for (int i = 0; i < fl->size; i++)
		v = v << 8 | f->buf[fl->off + i];
	switch (rp_below(r, 5)) {
	case 0:
		nv = 0;
		break;
	case 1:
		nv = max;
		break;
	case 2:
		nv = v - 1;
		break;
	case 3:
		nv = v + 1;
		break;
	default:
		nv = rp_below(r, max + 1);
	}
	nv &= max;
	snprintf(f->what + at, sizeof(f->what) - at, ", length at %zu: %u, not %u", fl->off, nv, v);
	for (int i = fl->size - 1; i >= 0; i--, nv >>= 8)
		f->buf[fl->off + i] = nv;
	f->broken = true;
}

/* Cuts of the ClientHello's bytes: at split, else at random points. */
static void cut(struct hello_flow *f, struct rp_rng *r, unsigned int split)
{
	size_t end = f->h.len, at = 0;

	while (at < end && f->n < HF_SEGS - 8) {
		size_t n = HF_SEG_MAX;

		if (at == 0 && split)
			n = split;
		else if (!split && rp_below(r, 2))
			n = 1 + rp_below(r, at ? HF_SEG_MAX : 600);
		if (n > end - at)
			n = end - at;
		add(f, at, n, 0x18, "ClientHello segment");
		at += n;
	}
	if (at < end) /* the rest in one more (HF_SEGS is never reached in practice) */
		add(f, at, end - at, 0x18, "ClientHello rest");
}

/* Segment i + 1 before segment i (beyond a gap), then i, then i + 1 again or not. */
static void reorder(struct hello_flow *f, struct rp_rng *r, int first)
{
	struct hf_seg a, b;
	int i;

	if (f->n - first < 2 || f->n > HF_SEGS - 2)
		return;
	i = first + rp_below(r, f->n - first - 1);
	a = f->seg[i];
	b = f->seg[i + 1];
	f->seg[i] = b;
	f->seg[i].kind = "segment beyond a gap";
	f->seg[i + 1] = a;
	f->seg[i + 1].kind = "segment filling the gap";
	f->unordered = true;
	if (rp_below(r, 4)) {
		memmove(&f->seg[i + 3], &f->seg[i + 2], (f->n - i - 2) * sizeof(f->seg[0]));
		f->seg[i + 2] = b;
		f->seg[i + 2].kind = "retransmission of the segment beyond the gap";
		f->n++;
	}
}

int hello_flow_new(struct hello_flow *f, struct rp_rng *r, unsigned int split)
{
	uint64_t rng = rp_next(r);
	int first;
	size_t at;

	f->n = 0;
	f->broken = f->unordered = false;
	if (build(f, r, &rng))
		return -E2BIG;
	f->len = f->h.len + HF_AFTER;
	for (size_t i = f->h.len; i < f->len; i++)
		f->buf[i] = rp_next(r);
	maybe_break(f, r);
	f->syn = split || rp_below(r, 10);
	if (f->syn)
		add(f, 0, 0, 0x02, "SYN");
	first = f->n;
	cut(f, r, split);
	if (!split && !rp_below(r, 5))
		reorder(f, r, first);
	/* Linux collapses a retransmission: the first two segments again, as one */
	if (!split && f->n - first >= 2 && !rp_below(r, 8) &&
	    f->seg[first].len + f->seg[first + 1].len <= HF_SEG_MAX &&
	    f->seg[first + 1].off == f->seg[first].len)
		add(f, 0, f->seg[first].len + f->seg[first + 1].len, 0x18,
		    "retransmission of the first two segments");
	add(f, f->h.len, 0, 0x10, "ACK");
	add(f, f->h.len, HF_AFTER, 0x18, "data after the ClientHello");
	at = f->len;
	if (rp_below(r, 2))
		add(f, at, 0, 0x11, "FIN");
	else
		add(f, at, 0, 0x04, "RST");
	return 0;
}
