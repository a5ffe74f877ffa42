// SPDX-License-Identifier: GPL-2.0
/* The flow table in plain C; see ref_flowtab.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref_flowtab.h"

#define SYN 0x02
#define RST 0x04
#define ACK 0x10

static struct ref_flowtab_entry *find(struct ref_flowtab *t, const struct ref_pkt *pkt)
{
	for (size_t i = 0; i < t->n; i++) {
		struct ref_flowtab_entry *e = &t->v[i];

		if (e->sport == pkt->sport && e->dport == pkt->dport &&
		    !memcmp(e->src, pkt->src, 16) && !memcmp(e->dst, pkt->dst, 16))
			return e;
	}
	return NULL;
}

static struct ref_flowtab_entry *add(struct ref_flowtab *t, const struct ref_pkt *pkt)
{
	struct ref_flowtab_entry *e;

	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct ref_flowtab_entry *v = realloc(t->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		t->v = v;
		t->cap = cap;
	}
	e = &t->v[t->n++];
	memset(e, 0, sizeof(*e));
	memcpy(e->src, pkt->src, 16);
	memcpy(e->dst, pkt->dst, 16);
	e->sport = pkt->sport;
	e->dport = pkt->dport;
	return e;
}

/* The ClientHello's facts for name rules; the segment that completes it is fresh. */
static void hello_facts(struct ref_flowtab_entry *e, struct ref_pkt *pkt, const struct ref_facts *f)
{
	bool done = f->hello == TLSFW_HELLO_NAME || f->hello == TLSFW_HELLO_NO_NAME ||
		    f->hello == TLSFW_HELLO_MALFORMED;

	pkt->hello = f->hello;
	pkt->ech = f->ech;
	snprintf(pkt->name, sizeof(pkt->name), "%s", f->hello == TLSFW_HELLO_NAME ? f->name : "");
	pkt->hello_fresh = done && !e->hello_done;
	e->hello_done |= done;
}

int ref_flowtab_segment(struct ref_flowtab *t, struct ref_pkt *pkt, const struct ref_segment *s)
{
	struct ref_flowtab_entry *e = find(t, pkt);
	struct ref_facts f;
	uint64_t off;
	size_t len = s->flags & RST ? 0 : s->len;

	pkt->rst = s->flags & RST;
	pkt->tls_fresh = false;
	if ((s->flags & (SYN | ACK | RST)) == SYN) {
		if (!e) {
			e = add(t, pkt);
			if (!e)
				return -ENOMEM;
			e->isn = s->seq;
			e->tls = TLSFW_TLS_UNDECIDED;
			ref_flow_init(&e->flow, t->want);
		} else if (e->isn != s->seq) { /* a new connection on the same 5-tuple */
			ref_flow_free(&e->flow);
			ref_flow_init(&e->flow, t->want);
			e->isn = s->seq;
			e->hello_done = false;
			e->tls = TLSFW_TLS_UNDECIDED;
		}
		off = 0; /* data in a SYN (Fast Open) comes first */
	} else if (e) {
		off = (uint32_t)(s->seq - e->isn - 1);
	} else {
		pkt->tls = TLSFW_TLS_MIDSTREAM;
		pkt->hello = t->want ? TLSFW_HELLO_MIDSTREAM : 0;
		return 0;
	}
	if (s->fragment && len == 0 && !(s->flags & RST))
		len = 1; /* a first fragment's payload cannot be placed: like a gap (a RST has none) */
	if (ref_flow_segment(&e->flow, off, s->data, len, !s->fragment, &f))
		return -ENOMEM;
	pkt->tls = f.tls;
	pkt->tls_fresh = f.tls != e->tls && (f.tls == TLSFW_TLS_YES || f.tls == TLSFW_TLS_NO);
	e->tls = f.tls;
	if (t->want)
		hello_facts(e, pkt, &f);
	return 0;
}

void ref_flowtab_clear(struct ref_flowtab *t)
{
	for (size_t i = 0; i < t->n; i++)
		ref_flow_free(&t->v[i].flow);
	t->n = 0;
}
