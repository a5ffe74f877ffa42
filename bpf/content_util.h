/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the content headers (quic.h, tls.h, names.h) share: reading a few payload bytes at a
 * computed offset, and the per-CPU scratch of their loops.
 */
#ifndef TLSFW_CONTENT_UTIL_H
#define TLSFW_CONTENT_UTIL_H

#include "parse.h"
#include "tlsfw_content_abi.h"

/*
 * The loops (bpf_loop) keep their counters in a per-CPU map value, not on the stack: the
 * verifier checks a callback as a loop body, and would follow counters it knows through
 * every iteration instead of finding a state it has seen (values read from a map are unknown
 * to it). Programs do not nest on one CPU here: XDP and tc run with bottom halves off.
 */
struct content_work {
	/* ClientHello parse of one segment (tls.h) */
	__u32 cur; /* packet offset of the next unparsed byte */
	__u32 end; /* packet offset of the segment's end */
	/* pass over one name (names.h) */
	__u64 h;      /* hash of the bytes passed so far: the suffix from the current byte on */
	__u32 len;    /* of the name */
	__u32 labels; /* labels complete so far */
	__u32 lablen; /* bytes of the current label */
	__u32 mask;   /* wild_mask of the generation */
	__u32 best;   /* class of the longest wildcard suffix that matched */
	__u32 gen;
	__u32 bad;
	__u32 pad;
	/* Kept here, not on the stack, which the decision's frame and the content functions'
	 * share (512 bytes in all): the flow key (flow.h), a name key (names.h), the first
	 * bytes of a UDP datagram (quic.h). */
	struct tlsfw_flow_key key;
	struct tlsfw_name_key name_key;
	__u8 quic[TLSFW_UDP_HLEN + TLSFW_QUIC_READ + 8];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct content_work);
} tlsfw_content_work SEC(".maps");

static __always_inline struct content_work *content_work(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&tlsfw_content_work, &zero);
}

/*
 * Copy n (1..7) bytes at packet offset off to buf (at least 8 bytes). The length goes through
 * a mask the compiler cannot drop: clang compares a 32-bit copy of a length and passes the
 * 64-bit register to the helper, whose bounds the verifier then does not know.
 */
static __always_inline int payload_read(void *ctx, int xdp, __u32 off, __u8 *buf, __u32 n)
{
	__u64 len = n;

	if (n < 1 || n > 7)
		return -1;
	asm volatile("%0 &= 7" : "+r"(len));
	if (!len)
		return -1;
	return load_bytes(ctx, xdp, off, buf, len);
}

/*
 * The `size` bytes (a constant) at packet offset off, read in place when they lie in the
 * linear part (XDP: the first buffer; tc: skb->data), else NULL and the caller reads them
 * with the load helper: a helper call per field was most of a ClientHello field's cost.
 */
static __always_inline const __u8 *payload_peek(void *ctx, int xdp, __u32 off, __u32 size)
{
	void *data, *end;
	const __u8 *p;
	__u64 at = off;

	if (xdp) {
		data = (void *)(long)((struct xdp_md *)ctx)->data;
		end = (void *)(long)((struct xdp_md *)ctx)->data_end;
	} else {
		data = (void *)(long)((struct __sk_buff *)ctx)->data;
		end = (void *)(long)((struct __sk_buff *)ctx)->data_end;
	}
	if (off > TLSFW_MAX_OFF)
		return NULL;
	/* kept on the register added, or the verifier cannot bound the pointer */
	asm volatile("%0 &= %1" : "+r"(at) : "i"(TLSFW_MAX_OFF));
	p = data + at;
	if ((void *)(p + size) > end)
		return NULL;
	return p;
}

/* The end of the frame's linear part, for checks of pointers from payload_peek(). */
static __always_inline const void *payload_end(void *ctx, int xdp)
{
	if (xdp)
		return (const void *)(long)((struct xdp_md *)ctx)->data_end;
	return (const void *)(long)((struct __sk_buff *)ctx)->data_end;
}

#endif /* TLSFW_CONTENT_UTIL_H */
