/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Content inspection: what the data plane (bpf/quic.h, tls.h, names.h, flow.h) and the
 * controller agree on. Fixed-width types, explicit padding, like tlsfw_abi.h, and in addition
 * to it (no ABI version of its own: the wiring bumps TLSFW_ABI_VERSION when these maps join
 * the program). Documentation/architecture.md, "Content inspection", says how it is used.
 *
 * The content functions compute facts about the traffic, never verdicts:
 *   quic   a UDP datagram is a QUIC long-header packet (and which kind)
 *   tls    the client's first bytes of a TCP flow start a TLS handshake
 *   hello  the ClientHello's server name (as a name class of the generation), ECH, or why not
 * Facts of a TCP flow live in the LRU flow table tlsfw_flows; name classes and the decision
 * of a decided flow are cached there with the epoch of the generation that computed them.
 */
#ifndef TLSFW_CONTENT_ABI_H
#define TLSFW_CONTENT_ABI_H

#ifndef __bpf__
#include <linux/types.h>
#endif

/* Limits. */
#define TLSFW_FLOWS_DEFAULT 65536 /* flow table entries unless the policy sets `flows:` */
#define TLSFW_FLOWS_MIN 64
#define TLSFW_FLOWS_MAX (1u << 24)
#define TLSFW_NAMES_MAX 131072	    /* name table entries per generation (map: twice) */
#define TLSFW_SNI_MAX 255	    /* longest server name accepted (DNS: 253) */
#define TLSFW_NAME_BUF 264	    /* name buffer: 256 + 8, so 8-byte compares never overrun */
#define TLSFW_WILD_MAX_LABELS 16    /* labels after "*." in a wildcard entry */
#define TLSFW_HELLO_MAX_LEN 65536   /* ClientHello body length accepted */
#define TLSFW_HELLO_MAX_EXTS 128    /* extensions in one ClientHello */
#define TLSFW_HELLO_MAX_RECORDS 32  /* TLS records one ClientHello may span */
#define TLSFW_HELLO_STEPS 512	    /* parser steps per segment (bpf_loop iterations) */
#define TLSFW_TLS_START 6	    /* record header + handshake type: the TLS-start bytes */
#define TLSFW_RECORD_MAX 16384	    /* TLSPlaintext.length limit (RFC 8446 5.1) */
#define TLSFW_QUIC_READ 64	    /* bytes of a UDP datagram read for the QUIC check */
#define TLSFW_QUIC_MIN_INITIAL 1200 /* RFC 9000 14.1: datagrams carrying a client Initial */
#define TLSFW_QUIC_MAX_CID 20	    /* RFC 8999 5.1 (version-independent limit) */
#define TLSFW_QUIC_MIN_PAYLOAD 20   /* RFC 9001 5.4.2: packet number + sample of 16 */
#define TLSFW_QUIC_RETRY_TAG 16	    /* RFC 9001 5.8: Retry integrity tag */

/* QUIC versions recognised. */
#define TLSFW_QUIC_V1 0x00000001u
#define TLSFW_QUIC_V2 0x6b3343cfu     /* RFC 9369 */
#define TLSFW_QUIC_DRAFT 0xff000000u  /* 0xff0000xx: IETF draft xx */
#define TLSFW_QUIC_DRAFT_MAX 34	      /* the last draft; 0xff000000 and above 34 were never sent */
#define TLSFW_QUIC_DRAFT_V1_LAYOUT 22 /* drafts from 22 on have the RFC 9000 long header */

/*
 * Facts. 0 is "not computed" everywhere, so a zeroed struct tlsfw_facts means "no content
 * facts": what the decision sees before it asks.
 */
enum tlsfw_quic {
	TLSFW_QUIC_NONE = 0, /* not UDP, or not a QUIC long-header packet */
	TLSFW_QUIC_LONG,     /* a long-header packet of a recognised version */
	TLSFW_QUIC_INITIAL,  /* ... and an Initial (v1, v2, drafts) in a >= 1,200-byte datagram */
};

enum tlsfw_tls {
	TLSFW_TLS_NONE = 0,  /* not TCP (not computed) */
	TLSFW_TLS_UNDECIDED, /* fewer than TLSFW_TLS_START bytes of the client seen so far */
	TLSFW_TLS_YES,	     /* record type 22, version 0x0301..0x0304, length 1..2^14, type 1 */
	TLSFW_TLS_NO,	     /* the first bytes are something else */
	TLSFW_TLS_MIDSTREAM, /* no flow state: the flow was first seen without its SYN, or evicted */
	TLSFW_TLS_UNORDERED, /* this segment lies beyond a gap before the decision */
};

enum tlsfw_hello {
	TLSFW_HELLO_NONE = 0,  /* not TCP (not computed) */
	TLSFW_HELLO_UNDECIDED, /* the ClientHello is not complete yet */
	TLSFW_HELLO_NAME,      /* complete, with server_name: name_cls is its class */
	TLSFW_HELLO_NO_NAME,   /* complete, without server_name */
	TLSFW_HELLO_MALFORMED, /* a length or field is wrong, or a limit was hit: `why` */
	TLSFW_HELLO_UNORDERED, /* this segment lies beyond a gap before the decision */
	TLSFW_HELLO_MIDSTREAM, /* the ClientHello was not seen from its first byte */
	TLSFW_HELLO_NOT_TLS,   /* the flow does not start with a ClientHello (tls is NO) */
};

/* Why a fact is MALFORMED or NO (tlsfw_facts.why); also a statistic each. */
enum tlsfw_why {
	TLSFW_WHY_NONE = 0,
	TLSFW_WHY_RECORD,    /* a record header: type, version or length */
	TLSFW_WHY_HANDSHAKE, /* handshake length too small or above TLSFW_HELLO_MAX_LEN */
	TLSFW_WHY_LENGTH,    /* a length field overruns its enclosing structure or misses its end */
	TLSFW_WHY_SNI,	     /* server_name: twice, a list not of one host_name, a bad length */
	TLSFW_WHY_NAME,	     /* the host_name: empty label, NUL, trailing dot */
	TLSFW_WHY_LIMIT,     /* TLSFW_HELLO_MAX_EXTS, _RECORDS or _STEPS exceeded */
	TLSFW_WHY_CONFLICT,  /* a retransmission changed the first bytes already seen */
	TLSFW_WHY_MAX,
};

/* Bits of tlsfw_facts.fresh: a fact this very packet decided (for per-flow counters). */
#define TLSFW_FRESH_TLS (1u << 0)
#define TLSFW_FRESH_HELLO (1u << 1)

/* What the content functions return to the decision (stack only, never a map value). */
struct tlsfw_facts {
	__u8 quic;  /* enum tlsfw_quic */
	__u8 tls;   /* enum tlsfw_tls */
	__u8 hello; /* enum tlsfw_hello */
	__u8 ech;   /* hello NAME / NO_NAME: 1 when encrypted_client_hello (0xfe0d) is present */
	__u32 name_cls; /* hello NAME: class from tlsfw_names (0: the name is in no entry) */
	__u8 why;	/* enum tlsfw_why */
	__u8 fresh;	/* TLSFW_FRESH_* */
	__u16 pad;
};

/* The `want` argument of content_tcp(): parse the ClientHello of flows whose TLS start is
 * decided (YES) by this packet. Without it only the TLS start is computed and the hello fact
 * of a TLS flow is MIDSTREAM; a parse once started always runs to its end. */
#define TLSFW_WANT_HELLO (1u << 0)
/* The caller looked the packet's flow up and found none: a packet other than the client's
 * SYN is then MIDSTREAM without a second lookup (decide.h, decided_flow). */
#define TLSFW_WANT_NO_FLOW (1u << 1)

/*
 * tlsfw_flows (LRU_HASH, `flows:` entries, default TLSFW_FLOWS_DEFAULT): per TCP flow, keyed
 * by the packet's 5-tuple as the client sends it (addresses as the parser stores them, IPv4
 * v4-mapped). Created by the client's SYN, never deleted by tlsfw: the LRU evicts.
 */
struct tlsfw_flow_key {
	__u8 src[16];
	__u8 dst[16];
	__u16 sport; /* host order */
	__u16 dport;
	__u8 proto;
	__u8 pad[3];
};

/* The ClientHello parser's position; offsets count handshake bytes (record payloads only). */
struct tlsfw_hello_parse {
	__u32 pos;	/* handshake bytes consumed */
	__u32 target;	/* skip to this position before the next field */
	__u32 hs_end;	/* end of the ClientHello (4 + its length) */
	__u32 ext_end;	/* end of the extensions block */
	__u32 blk_end;	/* end of the server_name extension while it is read */
	__u16 rec_left; /* record payload bytes left; 0: a record header comes next */
	__u8 step;	/* enum hello_step (tls.h) */
	__u8 have;	/* bytes of the current field collected */
	__u8 buf[8];	/* the current field */
	__u8 rbuf[8];	/* the record header being collected (5 bytes) */
	__u8 rhave;
	__u8 n_ext;
	__u8 n_rec;
	__u8 name_len;
	__u8 flags; /* TLSFW_HP_* */
	__u8 pad[3];
};

#define TLSFW_HP_SNI (1u << 0)
#define TLSFW_HP_ECH (1u << 1)

struct tlsfw_flow {
	__u32 isn;  /* the client's initial sequence number */
	__u32 next; /* stream offset (from isn + 1) of the first byte not yet seen in order */
	/* class | epoch << 32: name class of `name` under the generation with that epoch, one
	 * aligned word so that a reader never pairs one epoch with another's class */
	__u64 name_cache;
	/* rule word | tag << 32: the rule a settled segment of this flow gets (decide.h,
	 * "decided flows"), tag = the generation's epoch + the interface context's class; 0: none.
	 * One aligned word, so that a reader never pairs one tag with another's rule. */
	__u64 decided;
	__u8 tls;   /* enum tlsfw_tls: UNDECIDED, YES or NO */
	__u8 hello; /* enum tlsfw_flow_hello */
	__u8 why;   /* enum tlsfw_why */
	__u8 ech;
	__u8 first[TLSFW_TLS_START]; /* the client's first bytes */
	/* 1 while a SYN with another ISN (syn_isn) waits for the flow's next payload to say
	 * whether the server took it for a new connection (flow.h, flow_syn); 0 otherwise.
	 * Padding before ABI 11's end, zero in every entry an older build wrote. */
	__u16 syn_wait;
	struct tlsfw_hello_parse hp;
	__u8 name[TLSFW_NAME_BUF]; /* the host_name, lower case, zero after it */
	__u32 syn_isn;
};

/* tlsfw_flow.hello: the parse's state (reported as enum tlsfw_hello). */
enum tlsfw_flow_hello {
	TLSFW_FH_IDLE = 0, /* not started: starts when the TLS start says YES, if asked then */
	TLSFW_FH_PARSING,
	TLSFW_FH_NAME,
	TLSFW_FH_NO_NAME,
	TLSFW_FH_MALFORMED,
	TLSFW_FH_NOT_TLS,
};

/* tlsfw_flow.next once no fact of the flow is open: the stream is not followed further. */
#define TLSFW_NEXT_DONE 0xffffffffu

/*
 * tlsfw_names (HASH, 2 * TLSFW_NAMES_MAX, no prealloc): the server names of a generation's
 * rules. An exact entry holds a name, a wildcard entry "*.S" holds S with kind WILD. The key
 * is a hash (tlsfw_name_hash below, over the bytes from the last to the first, seeded by the
 * generation's tlsfw_content_cfg.seed); the value holds the name itself, which the data plane
 * compares, so a name whose hash collides with an entry's never takes its class.
 *
 * Contract for the table contents (the lowering fills it):
 * - names in lower case, without trailing dot, 1..TLSFW_SNI_MAX bytes, no empty label, no
 *   NUL; a wildcard's S has 1..TLSFW_WILD_MAX_LABELS labels;
 * - an exact entry N carries the class of every list that names N or a wildcard "*.T" with N
 *   ending in ".T" (covering wildcards folded in, like covering prefixes in the tries);
 * - a wildcard entry S carries the class of every list with "*.T" where T is S or S ends
 *   in ".T";
 * - tlsfw_content_cfg.wild_mask has bit d set when some wildcard entry's S has d labels;
 * - class 0 means "in no list": do not store entries of class 0.
 * The data plane looks up the exact name, then the suffixes after its first, second, ...
 * label whose label counts are in wild_mask, longest first; the first hit decides.
 */
struct tlsfw_name_key {
	__u64 hash;
	__u8 gen;
	__u8 kind; /* enum tlsfw_name_kind */
	__u8 len;  /* of the name (exact) or of S (wildcard) */
	__u8 pad[5];
};

enum tlsfw_name_kind {
	TLSFW_NAME_EXACT = 0,
	TLSFW_NAME_WILD = 1,
};

struct tlsfw_name_val {
	__u32 cls; /* name class, nonzero */
	__u32 len;
	__u8 name[TLSFW_NAME_BUF]; /* zero-padded */
};

/* tlsfw_content_cfg (ARRAY, 2 entries, index = generation). */
struct tlsfw_content_cfg {
	__u64 seed; /* name hash seed of this generation's tlsfw_names entries */
	/* nonzero and new for every fill, a multiple of TLSFW_EPOCH_STEP: tags the name classes
	 * and decisions cached in flows (a decision's tag adds the context class) */
	__u32 epoch;
	__u32 wild_mask; /* bit d: some wildcard entry has d labels (1..TLSFW_WILD_MAX_LABELS) */
};

/* Epochs step by this much, so that epoch + context class is a tag of its own. */
#define TLSFW_EPOCH_STEP 64u

/* tlsfw_content_stats (PERCPU_ARRAY of __u64, TLSFW_CSTAT_MAX entries). */
enum tlsfw_cstat {
	TLSFW_CSTAT_FLOW_NEW = 0, /* flows created (a SYN for a 5-tuple without state) */
	TLSFW_CSTAT_FLOW_RESET,	  /* a flow restarted: a SYN's new ISN, or conntrack's view */
	TLSFW_CSTAT_FLOW_FAILED,  /* the flow could not be stored (treated as mid-stream) */
	TLSFW_CSTAT_MIDSTREAM,	  /* TCP packets without flow state */
	TLSFW_CSTAT_UNORDERED,	  /* segments beyond a gap before a decision */
	TLSFW_CSTAT_HELLO_DONE,	  /* ClientHellos parsed to their end */
	TLSFW_CSTAT_NAME_LOOKUP,  /* name class computations (parse end or a new epoch) */
	TLSFW_CSTAT_WHY0,	  /* + enum tlsfw_why: each malformed reason */
	TLSFW_CSTAT_MAX = TLSFW_CSTAT_WHY0 + TLSFW_WHY_MAX,
};

/*
 * Evictions: tlsfw never deletes a flow, so the LRU's evictions are exactly
 * sum(TLSFW_CSTAT_FLOW_NEW) minus the entries present (read them with a batch lookup).
 */

/* The name hash: FNV-1a, 64 bits, seeded, one byte at a time from the name's last byte to
 * its first, so the hash of every suffix is met on the way (the hash of S is the state after
 * S's bytes). Not a defence by itself: names are compared after the lookup. */
#define TLSFW_FNV_PRIME 0x100000001b3ull

static inline __u64 tlsfw_name_hash_step(__u64 h, __u8 c)
{
	return (h ^ c) * TLSFW_FNV_PRIME;
}

/* Both halves compile these: a layout change breaks the build, not the maps. */
_Static_assert(sizeof(struct tlsfw_flow_key) == 40, "tlsfw_flow_key layout");
_Static_assert(sizeof(struct tlsfw_hello_parse) == 48, "tlsfw_hello_parse layout");
_Static_assert(sizeof(struct tlsfw_flow) == 352, "tlsfw_flow layout");
_Static_assert(sizeof(struct tlsfw_name_key) == 16, "tlsfw_name_key layout");
_Static_assert(sizeof(struct tlsfw_name_val) == 272, "tlsfw_name_val layout");
_Static_assert(sizeof(struct tlsfw_content_cfg) == 16, "tlsfw_content_cfg layout");
_Static_assert(sizeof(struct tlsfw_facts) == 12, "tlsfw_facts layout");

#endif /* TLSFW_CONTENT_ABI_H */
