// SPDX-License-Identifier: GPL-2.0
/* Connection state for the differential test; see diff_state.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "diff_state.h"
#include "plan_sim.h"

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20

/* The new namespace's loopback up, as in the namespace the test came from: the programs'
 * answers to rejected packets (redirected, XDP_TX) go through the device of the test run. */
static int loopback_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (fd < 0)
		return -errno;
	if (ioctl(fd, SIOCGIFFLAGS, &ifr)) {
		err = -errno;
	} else {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr))
			err = -errno;
	}
	close(fd);
	return err;
}

int ds_open(struct diff_state *d)
{
	memset(d, 0, sizeof(*d));
	if (unshare(CLONE_NEWNET))
		return -errno;
	return loopback_up() ?: ctnl_open(&d->nl);
}

void ds_close(struct diff_state *d)
{
	ctnl_close(&d->nl);
}

static void reverse(struct ctnl_tuple *out, const struct ctnl_tuple *t)
{
	*out = *t;
	memcpy(out->src, t->dst, 16);
	memcpy(out->dst, t->src, 16);
	out->sport = t->dport;
	out->dport = t->sport;
}

static bool same(const struct ctnl_tuple *a, const struct ctnl_tuple *b)
{
	return a->family == b->family && a->proto == b->proto && a->sport == b->sport &&
	       a->dport == b->dport && !memcmp(a->src, b->src, 16) && !memcmp(a->dst, b->dst, 16);
}

/* The entry of t, in the original direction (*reply false) or the reply direction, or NULL. */
static const struct ds_entry *find(const struct diff_state *d, const struct ctnl_tuple *t,
				   bool *reply)
{
	struct ctnl_tuple rev;

	reverse(&rev, t);
	for (size_t i = 0; i < d->n; i++) {
		*reply = same(&d->v[i].t, &rev);
		if (*reply || same(&d->v[i].t, t))
			return &d->v[i];
	}
	return NULL;
}

static void tuple_of(struct ctnl_tuple *t, const struct ref_pkt *ref)
{
	t->family = ref->family;
	t->proto = ref->proto;
	memcpy(t->src, ref->src, 16);
	memcpy(t->dst, ref->dst, 16);
	t->sport = ref->sport;
	t->dport = ref->dport;
}

/* A random entry of family (and proto, unless 0), or NULL. */
static const struct ds_entry *pick(const struct diff_state *d, struct rp_rng *r, uint8_t family,
				   uint8_t proto)
{
	size_t at = d->n ? rp_below(r, d->n) : 0;

	for (size_t k = 0; k < d->n; k++) {
		const struct ds_entry *e = &d->v[(at + k) % d->n];

		if (e->t.family == family && (!proto || e->t.proto == proto))
			return e;
	}
	return NULL;
}

/* One entry for a TCP or UDP packet randpol aims at pol on ifc; none when its tuple (or the
 * reverse) has one already. */
static int make_entry(struct diff_state *d, const struct policy *pol, const struct pol_iface *ifc,
		      struct rp_rng *r)
{
	struct ds_entry e = { .kind = rp_below(r, DS_KINDS) };
	const struct ds_entry *master = NULL;
	struct ref_pkt ref;
	bool reply;
	int err;

	do
		randpol_packet(pol, r, &ref);
	while (strcmp(ref.ifname, ifc->name));
	ref.proto = rp_below(r, 2) ? IPPROTO_TCP : IPPROTO_UDP;
	ref.sport = ref.sport ?: 1; /* the builder reads port 0 as "default" */
	ref.dport = ref.dport ?: 1;
	tuple_of(&e.t, &ref);
	if (find(d, &e.t, &reply) || (e.t.sport == e.t.dport && !memcmp(e.t.src, e.t.dst, 16)))
		return 0;
	if (e.kind == DS_EXPECTED) {
		master = pick(d, r, e.t.family, 0);
		if (!master)
			e.kind = DS_UNREPLIED;
	}
	err = ctnl_create(&d->nl, &e.t, e.kind == DS_REPLIED, master ? &master->t : NULL);
	if (err) {
		fprintf(stderr, "ctnetlink: cannot make a conntrack entry: %s\n", strerror(-err));
		return err;
	}
	d->made[e.kind]++;
	d->v[d->n++] = e;
	return 0;
}

int ds_batch(struct diff_state *d, const struct policy *pol, const struct pol_iface *ifc,
	     struct rp_rng *r)
{
	int err = ctnl_flush(&d->nl);

	if (err) {
		fprintf(stderr, "ctnetlink: cannot flush the conntrack table: %s\n",
			strerror(-err));
		return err;
	}
	d->n = 0;
	d->batches++;
	for (int i = 0; i < DS_ENTRIES && !err; i++)
		err = make_entry(d, pol, ifc, r);
	return err;
}

/* An ICMP or ICMPv6 error message (RFC 792, RFC 4443 2.1: types below 128), which netfilter
 * reads by the packet it carries. */
static bool icmp_error(const struct ref_pkt *ref)
{
	uint8_t t = ref->icmp_type;

	if (!ref->has_type)
		return false;
	if (ref->proto == IPPROTO_ICMP)
		return t == 3 || t == 4 || t == 5 || t == 11 || t == 12;
	return ref->proto == IPPROTO_ICMPV6 && t < 128;
}

/* Put ref on entry e, in the original direction or the reply direction. */
static void retarget(struct diff_state *d, struct rp_rng *r, const struct ds_entry *e,
		     struct ref_pkt *ref, struct pkt_opts *o)
{
	struct ctnl_tuple t = e->t;
	int af = ref->family == 4 ? AF_INET : AF_INET6;
	unsigned int at = ref->family == 4 ? 12 : 0;

	if (rp_below(r, 2))
		reverse(&t, &e->t);
	memcpy(ref->src, t.src, 16);
	memcpy(ref->dst, t.dst, 16);
	ref->sport = o->sport = t.sport;
	ref->dport = o->dport = t.dport;
	o->src = inet_ntop(af, t.src + at, d->src, sizeof(d->src));
	o->dst = inet_ntop(af, t.dst + at, d->dst, sizeof(d->dst));
}

/* Make ref an ICMP error carrying an entry's packet (either direction) or a packet of no
 * connection (an entry's, its source port changed until no entry has it). */
static void make_error(struct diff_state *d, struct rp_rng *r, struct ref_pkt *ref,
		       struct pkt_opts *o)
{
	static const uint8_t v4[] = { 3, 4, 5, 11, 12 };
	const struct ds_entry *e = pick(d, r, ref->family, 0);
	bool reply;

	if (!e)
		return;
	if (!icmp_error(ref)) {
		ref->icmp_type = ref->proto == IPPROTO_ICMP ? v4[rp_below(r, sizeof(v4))] :
				 rp_below(r, 2)		    ? 1 + rp_below(r, 4) :
							      rp_below(r, 128);
		o->icmp_type = ref->icmp_type + 1;
	}
	d->inner = e->t;
	if (rp_below(r, 2))
		reverse(&d->inner, &e->t);
	if (!rp_below(r, 4)) /* about no connection */
		do
			d->inner.sport = rp_next(r) | 1;
		while (find(d, &d->inner, &reply));
	d->embed = true;
	if (o->payload < 48) /* room for the header and ports of the packet carried */
		o->payload = 48;
}

void ds_packet(struct diff_state *d, struct rp_rng *r, struct ref_pkt *ref, struct pkt_opts *o,
	       bool whole)
{
	const struct ds_entry *e;

	d->embed = false;
	if (!d->n) { /* not a state policy: its generator untouched */
		ref->ct = ds_expect(d, ref, o->tcp_flags);
		return;
	}
	if (ref->has_ports && rp_below(r, 3)) {
		e = pick(d, r, ref->family, ref->proto);
		if (e)
			retarget(d, r, e, ref, o);
	} else if (whole && ref->has_type && rp_below(r, 2) &&
		   (ref->proto == IPPROTO_ICMP || ref->proto == IPPROTO_ICMPV6)) {
		make_error(d, r, ref, o);
	}
	ref->ct = ds_expect(d, ref, o->tcp_flags);
}

/*
 * TCP without an entry (nf_conntrack_proto_tcp.c): flag combinations outside tcp_valid_flags
 * are invalid; of the valid ones a SYN starts a connection and an ACK is picked up in the
 * middle (nf_conntrack_tcp_loose); SYN-ACK, RST and FIN are invalid without one. PSH, ECE
 * and CWR do not count.
 */
static uint8_t tcp_without_entry(uint8_t flags)
{
	switch (flags & (TCP_FIN | TCP_SYN | TCP_RST | TCP_ACK | TCP_URG)) {
	case TCP_SYN:
	case TCP_SYN | TCP_URG:
	case TCP_ACK:
	case TCP_ACK | TCP_URG:
		return TLSFW_CT_NEW;
	default:
		return TLSFW_CT_INVALID;
	}
}

uint8_t ds_expect(const struct diff_state *d, const struct ref_pkt *ref, uint8_t flags)
{
	const struct ds_entry *e;
	struct ctnl_tuple t;
	bool reply;

	if (icmp_error(ref))
		return d->embed && find(d, &d->inner, &reply) ? TLSFW_CT_RELATED : TLSFW_CT_INVALID;
	if (!ref->has_ports || (ref->proto != IPPROTO_TCP && ref->proto != IPPROTO_UDP))
		return TLSFW_CT_NEW;
	tuple_of(&t, ref);
	e = find(d, &t, &reply);
	if (!e)
		return ref->proto == IPPROTO_TCP ? tcp_without_entry(flags) : TLSFW_CT_NEW;
	/* resolve_normal_ct(): the reply direction, or a reply seen; else expected; else new */
	if (reply || e->kind == DS_REPLIED)
		return TLSFW_CT_ESTABLISHED;
	return e->kind == DS_EXPECTED ? TLSFW_CT_RELATED : TLSFW_CT_NEW;
}

int ds_embed(const struct diff_state *d, struct pkt *p)
{
	size_t at = p->l4_off + 8, hl = d->inner.family == 4 ? 20 : 40;
	uint8_t *b = p->buf + at;

	if (!d->embed)
		return 0;
	if (at + hl + 4 > p->len)
		return -EINVAL;
	memset(b, 0, hl);
	if (d->inner.family == 4) {
		b[0] = 0x45;
		b[8] = 64;
		b[9] = d->inner.proto;
		memcpy(b + 12, d->inner.src + 12, 4);
		memcpy(b + 16, d->inner.dst + 12, 4);
	} else {
		b[0] = 0x60;
		b[6] = d->inner.proto;
		b[7] = 64;
		memcpy(b + 8, d->inner.src, 16);
		memcpy(b + 24, d->inner.dst, 16);
	}
	b[hl] = d->inner.sport >> 8;
	b[hl + 1] = d->inner.sport & 0xff;
	b[hl + 2] = d->inner.dport >> 8;
	b[hl + 3] = d->inner.dport & 0xff;
	return 0;
}

int ds_verdict(struct diff_state *d, const struct policy *pol, const struct plan *pl,
	       const struct ref_pkt *ref, const struct ref_verdict *v)
{
	struct ref_verdict pv = { 0 };
	int err;

	if (v->rule >= 0 && pol->rules[v->rule].state) {
		d->states[ref->ct < TLSFW_CT_VALUES ? ref->ct : 0]++;
		d->icmp_related += ref->ct == TLSFW_CT_RELATED && ref->has_type;
	}
	if (!pl)
		return 0;
	d->plan_checks++;
	err = plan_sim_decide(pl, ref, &pv);
	if (!err && pv.rule == v->rule && pv.action == v->action && pv.monitor == v->monitor)
		return 0;
	fprintf(stderr,
		"FAIL: the plan (plan_sim) gives rule %d action %u monitor %u (%s), the reference rule %d action %u monitor %u\n  ",
		pv.rule, pv.action, pv.monitor, err ? strerror(-err) : "found", v->rule, v->action,
		v->monitor);
	ref_pkt_print(ref, stderr);
	return 1;
}

void ds_print(const struct diff_state *d)
{
	printf("state: %lu batches, entries %lu unreplied, %lu replied, %lu expected; verdicts of state rules %lu new, %lu established, %lu related (%lu ICMP errors), %lu invalid; %lu verdicts checked against the plan\n",
	       d->batches, d->made[DS_UNREPLIED], d->made[DS_REPLIED], d->made[DS_EXPECTED],
	       d->states[TLSFW_CT_NEW], d->states[TLSFW_CT_ESTABLISHED],
	       d->states[TLSFW_CT_RELATED], d->icmp_related, d->states[TLSFW_CT_INVALID],
	       d->plan_checks);
}

bool ds_thin(const struct diff_state *d)
{
	for (int k = 0; k < DS_KINDS; k++)
		if (d->made[k] < 100)
			return true;
	for (int ct = TLSFW_CT_NEW; ct <= TLSFW_CT_INVALID; ct++)
		if (d->states[ct] < DS_MIN_VERDICTS)
			return true;
	return d->icmp_related < 10 || d->plan_checks < 100000;
}
