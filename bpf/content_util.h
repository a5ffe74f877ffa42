/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the content headers (quic.h, tls.h, names.h) share: reading a few payload bytes at a
 * computed offset, and the per-CPU scratch of their loops.
 */
#ifndef TLSFW_CONTENT_UTIL_H
#define TLSFW_CONTENT_UTIL_H

#include "parse.h"

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

#endif /* TLSFW_CONTENT_UTIL_H */
