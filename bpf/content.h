/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The content facts of a parsed packet, as the decision will call them: one global function
 * per hook. Global, like the reply builders (tlsfw.bpf.c): the verifier checks the content
 * code once on its own, with nothing known about the packet, instead of once for every path
 * through the parser and the decision that reaches it (inlined into the hook, the parser's
 * paths times the content code exceeded the verifier's limit; inlined into a global function
 * that went on to the second classification, tlsfw_xdp's processed instructions went from
 * 28,000 to 103,000). Include this
 * header in one program object only.
 *
 * p: tlsfw_parse() returned PARSE_OK for it. gen: the generation the decision uses. want:
 * TLSFW_WANT_HELLO to parse ClientHellos of new flows. Fills *out (zeroed first): tls and
 * hello for TCP; all zero for anything else (a UDP datagram's QUIC fact is quic_fact's).
 * Returns 0, or -1 for missing arguments.
 */
#ifndef TLSFW_CONTENT_H
#define TLSFW_CONTENT_H

#include "tlsfw_content_abi.h"
#include "parse.h"
#include "quic.h"
#include "flow.h"

/* The QUIC header from a copy (quic.h: content_quic_copy): a function of its own, called
 * when the fields are not all in the frame's linear part. */
__noinline int tlsfw_quic_copy_xdp(struct xdp_md *ctx, const struct parsed *p)
{
	return p ? content_quic_copy(ctx, 1, p) : TLSFW_QUIC_NONE;
}

__noinline int tlsfw_quic_copy_tc(struct __sk_buff *skb, const struct parsed *p)
{
	return p ? content_quic_copy(skb, 0, p) : TLSFW_QUIC_NONE;
}

/* enum tlsfw_quic of the UDP datagram of p: read in place (quic.h: quic_inplace), inlined into
 * the decision, and from the copy when a field is not in the frame's linear part. Inlined, not
 * a function of its own: where the kernel returns through a return thunk (x86's SRSO or
 * retbleed mitigation; measured on an AMD EPYC with SRSO "Safe RET") the call and return
 * cost more than the check, +19 ns over the port-only drop against +6 inlined
 * (performance.md, "The QUIC check inlined"). */
static __always_inline int quic_fact(void *ctx, int xdp, const struct parsed *p)
{
	int r = quic_inplace(ctx, xdp, p);

	if (r != QUIC_SLOW)
		return r;
	return xdp ? tlsfw_quic_copy_xdp(ctx, p) : tlsfw_quic_copy_tc(ctx, p);
}

/* UDP takes quic_fact() in the decision itself (decide.h, inspect), so the content functions
 * read TCP alone: a UDP branch here would be one more inlined copy of the QUIC check that the
 * verifier walks in every hook and no packet reaches. */
static __always_inline int content_facts(void *ctx, int xdp, const struct parsed *p, __u32 gen,
					 __u32 want, struct tlsfw_facts *out)
{
	if (!p || !out)
		return -1;
	content_tcp(ctx, xdp, p, gen, want, out);
	return 0;
}

__noinline int tlsfw_content_xdp(struct xdp_md *ctx, const struct parsed *p, __u32 gen, __u32 want,
				 struct tlsfw_facts *out)
{
	return content_facts(ctx, 1, p, gen, want, out);
}

__noinline int tlsfw_content_tc(struct __sk_buff *skb, const struct parsed *p, __u32 gen,
				__u32 want, struct tlsfw_facts *out)
{
	return content_facts(skb, 0, p, gen, want, out);
}

#endif /* TLSFW_CONTENT_H */
