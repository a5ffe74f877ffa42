/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one header the data plane (bpf/) and the controller (userspace/) agree on: map keys
 * and values, verdicts, counter slots and limits. Fixed-width types, explicit padding.
 *
 * Classification is Recursive Flow Classification in three phases (see
 * Documentation/architecture.md):
 *
 *   phase 0  field -> equivalence class     proto, sport, dport (arrays), src, dst (LPM tries),
 *                                           (ifindex, direction) (hash)
 *   phase 1  (proto, sport, dport) -> A     tlsfw_comb1
 *            (src, dst)            -> B     tlsfw_comb2
 *   phase 2  (ctx, A, B)           -> rule  tlsfw_comb3: first-match rule, already resolved
 *
 * A missing entry in any combination table means "no rule matches": the default verdict.
 * Every table has two generations (0 or 1): arrays by index, hashes by a key field, the
 * tables sized by the policy as one map per generation. A new policy is written into the
 * inactive generation, then tlsfw_state.gen flips with one aligned 32-bit store, so a packet
 * sees exactly one policy.
 *
 * Fast path (tlsfw_cfg.flags, set by bpf_fill): each combination table is either a hash
 * (the general form above) or, when the product of its class counts fits, a direct-indexed
 * slice of tlsfw_direct; the interface context of an ifindex below TLSFW_IFX_DIRECT is read
 * from tlsfw_direct too; and when no rule has addresses, B is a constant of the generation
 * (no trie, no comb2 lookup) and comb1 and comb3 can be fused into one slice. The hash forms
 * stay the fallback, filled only when used (tlsfw_ctx: always, for every interface).
 *
 * Counters are unchanged by the fast path: still the rule (or reason) counter plus the
 * verdict total per packet, as described at enum tlsfw_stat.
 *
 * Map reuse: tlsfw_direct is a map like the others. Code that matches the maps of an
 * enforced policy by name must know it: bpf_maps_fd_by_name() (bpf_fill.h) covers every map.
 */
#ifndef TLSFW_ABI_H
#define TLSFW_ABI_H

#ifndef __bpf__
#include <linux/types.h> /* BPF programs get the __u* types from vmlinux.h */
#endif

/* 2: tlsfw_direct, tlsfw_cfg fast-path fields; 3: reply handoff (context word flag,
 * tlsfw_xdp_meta, tlsfw_tc_reply), tlsfw_ctx_val holds the context word; 4: content classes
 * (TLSFW_PL_*, tlsfw_cfg.fact_pl, rule word INSPECT/REQUIRE), tlsfw_flows, tlsfw_rule_flows;
 * 5: connection state (TLSFW_CT_*) in the proto index, rule word STATE; 6: rule word
 * TLSFW_DW_LOG, tlsfw_log_ring, tlsfw_log_rules; 7: name classes (TLSFW_PL_VALUES 64,
 * TLSFW_PL_NAME0, rule word NAME, TLSFW_CFG_NAMES, tlsfw_rule_flows.matched), TLSFW_CT_VALUES 6;
 * 8: tlsfw_flow.decided, epochs in steps of TLSFW_EPOCH_STEP, TLSFW_MAX_RULES 8,320;
 * 9: tlsfw_meta.rule_end; 10: tlsfw_meta.netns_cookie; 11: tlsfw_rule_order;
 * 12: tlsfw_xdp_shim (the handoff without XDP metadata) */
#define TLSFW_ABI_VERSION 12

/* Limits. */
#define TLSFW_POLICY_RULES 4096 /* rules one policy may list */
#define TLSFW_IMPLICIT_RULES 64 /* rules the lowering adds: essentials, failing probes' drops */
/* rule slots: two generations whose every rule has a new name (a replacement keeps the old
 * generation's slots until the flip) */
#define TLSFW_MAX_RULES (2 * (TLSFW_POLICY_RULES + TLSFW_IMPLICIT_RULES))
#define TLSFW_MAX_IFACES 16		     /* interfaces one policy may list */
#define TLSFW_MAX_CTX (TLSFW_MAX_IFACES * 2) /* (interface, direction) counter blocks */
#define TLSFW_MAX_PREFIXES 262144	     /* LPM entries per tree: half per generation */
#define TLSFW_MAX_COMB 1048576	      /* entries per combination table: half per generation */
#define TLSFW_MAX_VLAN_DEPTH 2	      /* 802.1Q / 802.1ad tags walked */
#define TLSFW_MAX_EXTHDRS 8	      /* IPv6 extension headers walked */
#define TLSFW_FRAG_ENTRIES 65536      /* fragment-tracking LRU */
#define TLSFW_DIRECT_WORDS (1u << 20) /* tlsfw_direct words per generation (4 MiB) */
#define TLSFW_IFX_DIRECT 4096	      /* ifindexes below this: context in tlsfw_direct */

#define TLSFW_PORT_NONE 65536 /* port index for packets without ports (not TCP/UDP) */
#define TLSFW_PORT_SLOTS 65537

/*
 * Content classes: what the payload says, as a phase-0 value folded into the protocol's
 * index, so that the rest of classification is unchanged. A packet is classified first as
 * UNKNOWN, which content rules admit like any other value: when the rule found is a content
 * rule (its word has TLSFW_DW_INSPECT), no earlier rule can match, and the packet's content
 * facts (tlsfw_content_abi.h) give its class through tlsfw_cfg.fact_pl; it is classified
 * again with that class, which content rules admit only when it is theirs.
 */
enum tlsfw_pl {
	TLSFW_PL_UNKNOWN = 0, /* not inspected (yet): every rule admits it */
	TLSFW_PL_PLAIN,	      /* inspected, no content rule's class */
	TLSFW_PL_QUIC,	      /* payload: quic: a QUIC long-header packet */
	TLSFW_PL_NOT_TLS,     /* require: tls fails: the flow's first bytes are not a ClientHello */
	TLSFW_PL_UNORDERED,   /* require: tls, a segment beyond a gap before the decision: drop */
	/* issue 13, with name rules: a flow whose first bytes changed in a retransmission (tls
	 * NO, hello MALFORMED: CONFLICT) is both not TLS (require: tls) and a malformed
	 * ClientHello (name rules: fail closed), so both kinds of rule admit it */
	TLSFW_PL_CONFLICT = 5,
	/* issue 13: a segment beyond a gap after the TLS start was decided, before the
	 * ClientHello ended: name rules admit it under sni_unordered: drop, require: tls rules
	 * never (their decision is made) */
	TLSFW_PL_HELLO_UNORDERED = 6,
	/* issue 13: a decided ClientHello. HELLO_BAD: malformed (every name rule admits it:
	 * fail closed); NAME0 + slot * 2 + ech, slot 0: no server_name, 1: a name in no list,
	 * 1 + c: a name of name class c (tlsfw_names) */
	TLSFW_PL_HELLO_BAD = 7,
	TLSFW_PL_NAME0 = 8,
	TLSFW_PL_VALUES = 64,
};

/* Name slots of a generation: no name, in no list, then the name classes 1..this - 2. */
#define TLSFW_PL_NAME_SLOTS ((TLSFW_PL_VALUES - TLSFW_PL_NAME0) / 2)

/*
 * Connection state from the kernel's conntrack (`state:`), a phase-0 value of its own folded
 * into the protocol's index like the content class, and looked up the same way: a packet is
 * classified first as UNKNOWN, which state rules admit; when the rule found has
 * TLSFW_DW_STATE, bpf/ct.h asks conntrack (bpf_*_ct_lookup) and the packet is classified
 * again with its state, which a state rule admits only when it lists it. Only packets that
 * meet a state rule first pay for the lookup. Not a term of fact_pl: content facts are read
 * from tlsfw_flows only under TLSFW_DW_INSPECT, and states times content classes would not
 * fit the content classes.
 */
enum tlsfw_ct {
	TLSFW_CT_UNKNOWN = 0, /* not looked up (yet): every rule admits it */
	TLSFW_CT_NEW,	      /* order: pol_state_names, bit (value - 1) of POL_ST_* */
	TLSFW_CT_ESTABLISHED,
	TLSFW_CT_RELATED,
	TLSFW_CT_INVALID,
	TLSFW_CT_NONE, /* no state rule admits it: tlsfw explain without --state */
	/* Not 8: with 64 content classes every state value costs 32,768 proto slots per
	 * generation (Documentation/performance.md, the cold apply) */
	TLSFW_CT_VALUES = 6,
};

/* proto index: (state * TLSFW_PL_VALUES + content class) * 512 + family (0 = IPv4,
 * 1 = IPv6) * 256 + IP protocol */
#define TLSFW_PROTO_SLOTS (512 * TLSFW_PL_VALUES * TLSFW_CT_VALUES)

/* tlsfw_cfg.fact_pl index of a packet's facts: ((quic * 8 + tls) * 8 + hello) * 2 + ech */
#define TLSFW_FACT_SLOTS 512

/*
 * ICMP and ICMPv6 have no ports: the parser puts the message type where the destination port
 * goes, so the dport table classifies `icmp_type:` without a lookup of its own. ICMP: the
 * type. ICMPv6: the type plus the class of the hop limit (255: sent on this link, RFC 4861;
 * 1: cannot be forwarded; any other), which the implicit essentials rule needs.
 */
#define TLSFW_ICMP6_HL255 0x000
#define TLSFW_ICMP6_HL1 0x100
#define TLSFW_ICMP6_HLOTHER 0x200

/* Verdicts, also rule actions. */
enum tlsfw_action {
	TLSFW_ACT_ALLOW = 0,
	TLSFW_ACT_DROP = 1,
	TLSFW_ACT_REJECT = 2,
};

enum tlsfw_dir {
	TLSFW_DIR_INGRESS = 0,
	TLSFW_DIR_EGRESS = 1,
};

enum tlsfw_frag_mode {
	TLSFW_FRAG_FOLLOW = 0,
	TLSFW_FRAG_DROP = 1,
	TLSFW_FRAG_ALLOW = 2,
};

/* Fields that some rule of the generation constrains: the others are not looked up. */
#define TLSFW_F_SPORT (1u << 0)
#define TLSFW_F_DPORT (1u << 1)
#define TLSFW_F_SRC (1u << 2)
#define TLSFW_F_DST (1u << 3)

/*
 * Counters: struct tlsfw_counter in blocks of TLSFW_SLOTS_PER_CTX, one block per (interface,
 * direction) slot. The first TLSFW_STAT_MAX entries of a block are the statistics below, then
 * one entry per rule slot:
 *   counter = ctx_slot * TLSFW_SLOTS_PER_CTX + TLSFW_STAT_RULE0 + rule_slot
 * Each CPU counts into its own copy, without atomics: tlsfw_counters is one array (memory
 * mapped by userspace, which sums the copies) indexed cpu * TLSFW_COUNTERS + counter, its
 * max_entries TLSFW_COUNTERS times the number of possible CPUs. (A per-CPU array of as many
 * elements allocates each element apart: 100 ms and more of every cold apply.)
 */
enum tlsfw_stat {
	TLSFW_STAT_DEFAULT = 0, /* no rule matched: the default verdict decided */
	TLSFW_STAT_PASS,	/* totals by final verdict */
	TLSFW_STAT_DROP,
	TLSFW_STAT_REJECT,
	TLSFW_STAT_MONITOR,		/* a monitor-mode rule matched (packet passed) */
	TLSFW_STAT_MALFORMED_TRUNCATED, /* frame ends before a header it announces */
	TLSFW_STAT_MALFORMED_IHL,	/* IPv4 IHL below 5 */
	TLSFW_STAT_MALFORMED_LENGTH,	/* IP length fields beyond the frame or inconsistent */
	TLSFW_STAT_MALFORMED_EXTHDR,	/* IPv6 extension chain longer than TLSFW_MAX_EXTHDRS */
	TLSFW_STAT_MALFORMED_VLAN,	/* more VLAN tags than TLSFW_MAX_VLAN_DEPTH */
	TLSFW_STAT_FRAG_TINY,		/* first fragment too short for the transport header */
	TLSFW_STAT_FRAG_NO_FIRST,	/* non-first fragment whose first was never seen */
	TLSFW_STAT_FRAG_FOLLOWED,	/* non-first fragment given its first fragment's verdict */
	TLSFW_STAT_FRAG_DROPPED,	/* fragments: drop */
	TLSFW_STAT_FRAG_ALLOWED,	/* fragments: allow, non-first fragment passed */
	TLSFW_STAT_REJECT_SENT,		/* reject answers transmitted */
	TLSFW_STAT_REJECT_FAILED,	/* reject could not be answered (packet dropped) */
	TLSFW_STAT_MALFORMED_VERSION,	/* IP version field does not match the EtherType */
	TLSFW_STAT_MAX,
};

#define TLSFW_STAT_RULE0 32
#define TLSFW_SLOTS_PER_CTX (TLSFW_STAT_RULE0 + TLSFW_MAX_RULES)
#define TLSFW_COUNTERS (TLSFW_MAX_CTX * TLSFW_SLOTS_PER_CTX)

struct tlsfw_counter {
	__u64 packets;
	__u64 bytes;
};

/* tlsfw_state (ARRAY, 1 entry): which generation packets use. */
struct tlsfw_state {
	__u32 gen;
	__u32 pad;
};

/* tlsfw_cfg.flags: the forms bpf_fill chose for this generation. */
#define TLSFW_CFG_B_CONST (1u << 0)	 /* no rule has addresses: B is b_const */
#define TLSFW_CFG_NO_MATCH (1u << 1)	 /* with B_CONST: no rule can match (no comb2 entry) */
#define TLSFW_CFG_COMB1_DIRECT (1u << 2) /* comb1 is a slice of tlsfw_direct */
#define TLSFW_CFG_COMB3_DIRECT (1u << 3) /* comb3 is a slice of tlsfw_direct */
/* With B_CONST and COMB1_DIRECT: comb1 and comb3 fused into one slice, the rule word of
 * (ctx class, comb1 index i) in word comb1_base + ctx class * comb1_len + i (no comb3) */
#define TLSFW_CFG_FUSED (1u << 4)
/* Some rule matches the server name or ECH: content rules ask for the ClientHello */
#define TLSFW_CFG_NAMES (1u << 5)
/* A rule has payload: quic: a UDP datagram whose first byte cannot start a long header is
 * classified as not QUIC from the start (decide.h, decide_rule) */
#define TLSFW_CFG_QUIC (1u << 6)

/* tlsfw_cfg (ARRAY, 2 entries, index = generation). */
struct tlsfw_cfg {
	__u32 fields;	     /* TLSFW_F_* */
	__u8 default_action; /* enum tlsfw_action */
	__u8 malformed_action;
	__u8 frag_mode; /* enum tlsfw_frag_mode */
	__u8 pad;
	__u32 flags;   /* TLSFW_CFG_* */
	__u32 b_const; /* TLSFW_CFG_B_CONST: the B class of every packet */
	/* TLSFW_CFG_COMB1_DIRECT: A + 1 (0: none) in word comb1_base + i with
	 * i = (proto class * n_sport + sport class) * n_dport + dport class, i < comb1_len */
	__u32 comb1_base, comb1_len, n_sport, n_dport;
	/* TLSFW_CFG_COMB3_DIRECT: a rule word (0: none) in word comb3_base + i with
	 * i = (ctx class * n_a + A) * n_b + B, i < comb3_len */
	__u32 comb3_base, comb3_len, n_a, n_b;
	__u32 words_end; /* the generation's tlsfw_direct words end here: clearing stops here */
	__u32 pad2;
	/* content class (enum tlsfw_pl) of a packet's facts, at TLSFW_FACT_SLOTS index; all
	 * TLSFW_PL_PLAIN but for the classes the generation's rules use */
	__u8 fact_pl[TLSFW_FACT_SLOTS];
};

/*
 * tlsfw_direct (ARRAY, 2 entries, index = generation; value: __u32[TLSFW_DIRECT_WORDS]): the
 * direct-indexed tables of a generation, in words of its value. A packet looks the value up
 * once and then indexes it, with no further map lookup. Words:
 *   dir * TLSFW_IFX_DIRECT + ifindex   context of (ifindex, direction) for ifindex below
 *                                      TLSFW_IFX_DIRECT: TLSFW_DW_VALID | flags |
 *                                      ctx_slot << TLSFW_DW_SLOT_SHIFT | cls
 *   [comb1_base, + comb1_len)          comb1, when tlsfw_cfg says so
 *   [comb3_base, + comb3_len)          comb3, when tlsfw_cfg says so
 * 0 means "no entry" in every table. The value is written whole (one update) by bpf_fill.
 * Memory: 2 x 4 MiB, preallocated.
 */
struct tlsfw_words {
	__u32 w[TLSFW_DIRECT_WORDS];
};

#define TLSFW_DW_VALID (1u << 31)
#define TLSFW_DW_MONITOR (1u << 30) /* rule words: monitor mode */
#define TLSFW_DW_INSPECT (1u << 29) /* rule words: a content rule: compute facts, classify again */
#define TLSFW_DW_REQUIRE (1u << 28) /* rule words: require: tls (flows passed and cut counted) */
#define TLSFW_DW_STATE (1u << 27)   /* rule words: a state rule: look up conntrack, again */
#define TLSFW_DW_NAME \
	(1u << 22) /* rule words: sni:/ech: (flows matched counted, both ends reset) */
#define TLSFW_DW_ACTION_SHIFT 24 /* rule words: enum tlsfw_action, 2 bits */
#define TLSFW_DW_SLOT_SHIFT 16	 /* context words: counter block, 8 bits */
#define TLSFW_DW_SLOT_MASK 0xffu
#define TLSFW_DW_LOW 0xffffu /* rule words: rule slot; context words: class */
/* Context words: XDP hands rejected packets to tlsfw_tc_reply (see tlsfw_xdp_meta) instead
 * of answering with XDP_TX, which does not reach the peer of a veth. */
#define TLSFW_DW_HANDOFF (1u << 24)
/* Rule words: `log:` (tlsfw_log_ring, below). */
#define TLSFW_DW_LOG (1u << 23)

/* tlsfw_ctx (HASH): (generation, ifindex, direction) -> the context word, as above. */
struct tlsfw_ctx_key {
	__u32 ifindex;
	__u8 gen;
	__u8 dir;
	__u16 pad;
};

struct tlsfw_ctx_val {
	__u32 word; /* TLSFW_DW_VALID | flags | ctx_slot << TLSFW_DW_SLOT_SHIFT | class */
	__u32 pad;
};

/*
 * The XDP -> tc handoff of a reply. A reply built in XDP leaves with XDP_TX, which on some
 * devices never reaches the sender (a veth whose peer runs no NAPI drops it). Where the
 * context word has TLSFW_DW_HANDOFF, tlsfw_xdp instead counts the verdict, prepends this
 * record as XDP metadata (bpf_xdp_adjust_meta) and passes the frame; tlsfw_tc_reply, on tc
 * ingress of the same device, finds the record right before the frame (skb->data_meta), zeroes
 * its magic (so that no later reader takes it for a fresh request), parses the frame with the
 * one parser, builds what `reply` asks for and sends it (bpf_redirect) out of the device the
 * packet came in by. It counts TLSFW_STAT_REJECT_SENT or _FAILED in counter block ctx_slot,
 * bytes as skb->len. A frame without the record (or with another magic) is not tlsfw's
 * business there: tlsfw_tc_reply passes it untouched. Only tlsfw_xdp writes metadata on a
 * device tlsfw hooks, so the record cannot be forged from the wire.
 *
 * reply says what to build, so that the record can carry more than today's answer:
 *   TLSFW_REPLY_SENDER      the answer of `action: reject`: RST or ICMP to the sender
 *   TLSFW_REPLY_RESET_BOTH  (TCP, for `require: tls` and name rules with reject) also a RST
 *                           towards the destination: tc clones the frame, turns the clone
 *                           into a RST in the original direction and re-injects it with
 *                           bpf_clone_redirect(ifindex, BPF_F_INGRESS), so that it is routed
 *                           (or bridged) like the segment it replaces; then answers the
 *                           sender as above. XDP cannot emit two packets; tc can.
 * A new kind is a new value; a changed layout is a new magic (and an ABI version).
 */
#define TLSFW_META_MAGIC 0x544c5301u /* "TLS" 1 */

enum tlsfw_reply {
	TLSFW_REPLY_NONE = 0,
	TLSFW_REPLY_SENDER = 1,
	TLSFW_REPLY_RESET_BOTH = 2,
};

struct tlsfw_xdp_meta { /* 4-byte multiple, at most 32 bytes (XDP metadata limit) */
	__u32 magic;	/* TLSFW_META_MAGIC */
	__u8 reply;	/* enum tlsfw_reply */
	__u8 pad;
	__u16 ctx_slot;	 /* counter block of the interface and direction that decided */
	__u32 rule_slot; /* the rule that rejected (for logging; ~0u: none) */
};

/*
 * The same handoff where the kernel's XDP may not use metadata (some kernels refuse
 * bpf_xdp_adjust_meta to XDP programs: architecture.md, "Kernels without XDP metadata"). The
 * record then travels in the frame: tlsfw_xdp pushes this 14-byte header in front of it
 * (bpf_xdp_adjust_head) and passes. To the stack it is an Ethernet header: its destination
 * (TLSFW_SHIM_DST0, _DST1, _DST5) is a locally administered unicast address no host has, so
 * that IP drops the frame as PACKET_OTHERHOST should no tc program take it; proto is the IP
 * version of the frame (ETH_P_IP or ETH_P_IPV6), so that GRO finds no IP header to merge
 * there (the frame's own Ethernet header follows) and tc may remove bytes with
 * bpf_skb_adjust_room, which wants an IP skb. tlsfw_tc_reply recognises the header, writes
 * the frame's own Ethernet header over it, removes the second copy and goes on as with
 * metadata. It looks for both forms, so that it never depends on which form the XDP program
 * in use was loaded with.
 *
 * Unlike metadata, this header can come from the wire. A sender that forges it gets its own
 * frame answered (RST or ICMP, out of the device the frame came in by, to the addresses it
 * wrote in it: nothing it could not send itself) and counted in the block it names (bounded
 * by TLSFW_MAX_CTX); the frame is never delivered.
 */
#define TLSFW_SHIM_DST0 0x06 /* 06:54:4c:53:46:57, "TLSFW" behind a local unicast first byte */
#define TLSFW_SHIM_DST1 0x544c5346u
#define TLSFW_SHIM_DST5 0x57

struct tlsfw_xdp_shim {
	__u8 dst[6]; /* TLSFW_SHIM_DST0, TLSFW_SHIM_DST1 big-endian, TLSFW_SHIM_DST5 */
	__u8 reply;  /* enum tlsfw_reply */
	__u8 pad;
	__u16 ctx_slot; /* as in tlsfw_xdp_meta */
	__u16 pad2;
	__be16 proto; /* ETH_P_IP or ETH_P_IPV6 */
} __attribute__((packed));

/*
 * tlsfw_proto (ARRAY, 2 * TLSFW_PROTO_SLOTS): index gen * 512 + family * 256 + protocol.
 * tlsfw_sport, tlsfw_dport (ARRAY, 2 * TLSFW_PORT_SLOTS): index gen * 65537 + port, with
 * TLSFW_PORT_NONE for packets that carry no ports. Values are __u32 classes. These, and
 * tlsfw_direct, are BPF_F_MMAPABLE: userspace fills them through a memory mapping, where each
 * element takes 8 bytes (array elements are rounded up to 8).
 */

/*
 * Tables whose size depends on the policy are one map per generation, held in an
 * ARRAY_OF_MAPS of two (index = generation; no entry: that generation does not use it), made
 * by bpf_fill with the entries the plan has: a new policy never pays for the previous one's
 * size, and a generation is cleared by dropping its maps.
 *
 * tlsfw_src, tlsfw_dst (LPM_TRIE per generation): address -> class. IPv4 addresses are stored
 * v4-mapped (::ffff:a.b.c.d), so one trie serves both families.
 */
struct tlsfw_lpm_key {
	__u32 prefixlen;
	__u8 addr[16];
};

/* tlsfw_comb1 (HASH per generation): (proto class, sport class, dport class) -> A
 * tlsfw_comb2 (HASH per generation): (src class, dst class, 0)              -> B */
struct tlsfw_comb_key {
	__u32 a;
	__u32 b;
	__u32 c;
};

/* tlsfw_comb3 (HASH per generation): (ctx class, A, B) -> the first rule that matches. */
struct tlsfw_rule_val {
	__u32 rule_slot; /* counter slot of the rule (stable across replacements by name) */
	__u8 action;	 /* enum tlsfw_action */
	__u8 monitor;	 /* 1: count, let pass */
	__u8 content;	 /* TLSFW_RV_*: as TLSFW_DW_INSPECT, TLSFW_DW_REQUIRE in rule words */
	__u8 pad;
};

#define TLSFW_RV_INSPECT (1u << 0)
#define TLSFW_RV_REQUIRE (1u << 1)
#define TLSFW_RV_STATE (1u << 2)
#define TLSFW_RV_LOG (1u << 3) /* TLSFW_DW_LOG */
#define TLSFW_RV_NAME (1u << 4)

/* tlsfw_rule_flows (ARRAY, TLSFW_MAX_RULES, index = rule slot): flows that a require: tls
 * rule inspected, by their first bytes; counted once per flow, when the TLS start is
 * decided (atomic adds: once per flow, not per packet). */
struct tlsfw_rule_flows {
	__u64 passed;
	__u64 cut;
	__u64 matched; /* sni:/ech: rules: flows whose ClientHello the rule matched */
	__u64 pad;
};

/* tlsfw_rule_order (ARRAY, 2 * TLSFW_MAX_RULES, index = generation * TLSFW_MAX_RULES + rule
 * slot; value __u32): the position of a require: tls or name rule in its generation's order,
 * from 1. Written only for a generation that has both kinds: a TLS flow that a name rule
 * matched was passed by the require rule it would otherwise have met only if that rule comes
 * first (flows passed, decide.h count_tls). Entries of slots not in the generation are stale
 * and never read. */

/* tlsfw_frags (LRU_HASH): first fragment's verdict for later fragments (fragments: follow). */
struct tlsfw_frag_key {
	__u8 src[16];
	__u8 dst[16];
	__u32 id; /* IPv4: 16-bit identification; IPv6: fragment header identification */
	__u8 proto;
	__u8 gen;
	__u16 pad;
};

struct tlsfw_frag_val {
	struct tlsfw_rule_val rule; /* rule_slot = ~0u when the default decided */
	__u32 ctx_slot;
	__u32 pad;
};

/*
 * Userspace-only metadata, kept in maps so that a separate `tlsfw stats` or `status` can name
 * every counter from kernel state alone (no file system state: see architecture.md).
 */
#define TLSFW_NAME_MAX 64
#define TLSFW_PATH_MAX 256

/* tlsfw_rules (ARRAY, TLSFW_MAX_RULES): rule slot -> name, for counters. */
struct tlsfw_rule_info {
	char name[TLSFW_NAME_MAX];
	__u32 order; /* position in the policy, for display */
	__u32 line;  /* source line */
	__u8 action;
	__u8 monitor;
	__u8 in_use;  /* bit g set: the rule exists in generation g */
	__u8 content; /* TLSFW_RV_*: a content rule (REQUIRE: it has flow counters) */
	__u8 log;     /* 1: log: (its bucket in tlsfw_log_rules is in use) */
	__u8 pad2[3];
};

/* tlsfw_ifaces (ARRAY, TLSFW_MAX_CTX): counter block -> interface and direction. */
struct tlsfw_ctx_info {
	char ifname[16];
	__u32 ifindex;
	__u8 dir;
	__u8 in_use; /* bit g set: used by generation g */
	__u8 hook;   /* enum tlsfw_hook */
	__u8 pad;
};

enum tlsfw_hook {
	TLSFW_HOOK_NONE = 0,
	TLSFW_HOOK_XDP_NATIVE,
	TLSFW_HOOK_XDP_GENERIC,
	TLSFW_HOOK_TC,
};

/* The programs, by role: the index of tlsfw_meta.prog_tag. */
enum tlsfw_role {
	TLSFW_ROLE_XDP = 0,	   /* tlsfw_xdp */
	TLSFW_ROLE_TC_INGRESS = 1, /* tlsfw_tc_ingress */
	TLSFW_ROLE_TC_EGRESS = 2,  /* tlsfw_tc_egress */
	TLSFW_ROLE_TC_REPLY = 3,   /* tlsfw_tc_reply */
	TLSFW_ROLES = 4,
};

/* tlsfw_meta (ARRAY, 1 entry): what is enforced. */
struct tlsfw_meta {
	__u32 abi_version;
	__u32 n_rules;
	__u64 applied_at; /* CLOCK_REALTIME seconds */
	char policy_file[TLSFW_PATH_MAX];
	char policy_hash[72]; /* "sha256:" + 64 hex */
	__u8 default_action;
	__u8 backend;
	__u8 pad[2];
	/* Every tlsfw_rules record from this slot on is all zero, so a reader of the records
	 * in use reads [0, rule_end) alone (8,320 records are 666 KB, 170 page faults). */
	__u32 rule_end;
	/* Identity of the programs in use, so that a later apply of the same build can keep
	 * them instead of loading (and verifying) them again: the SHA-256 of the BPF object
	 * they were loaded from, and the kernel's tag (BPF_TAG_SIZE bytes) of each program of
	 * that object in use (all zero: none loaded). */
	__u8 build[32];
	__u8 prog_tag[TLSFW_ROLES][8];
	/* The network namespace the policy was applied in (SO_NETNS_COOKIE; 0: unknown). A
	 * device moved to another namespace keeps its XDP program, and with it these maps:
	 * tlsfw there tells them from its own policy by this (state.h, "foreign"). */
	__u64 netns_cookie;
};

/*
 * Logging (`log:` on a rule): a packet decided by a rule whose word has TLSFW_DW_LOG is
 * reported as one struct tlsfw_log_event in tlsfw_log_ring (BPF_MAP_TYPE_RINGBUF of
 * TLSFW_LOG_RING_BYTES), rate-limited per rule by a token bucket in tlsfw_log_rules (ARRAY,
 * TLSFW_MAX_RULES, index = rule slot), shared by every CPU under its spin lock (clang 14
 * builds for BPF v1 here: no compare-and-exchange). The bucket is GCRA: tat is the
 * theoretical arrival time of the next event; an event is admitted when tat - now <=
 * interval_ns * (burst - 1), and moves tat on by interval_ns. Over T seconds a rule emits at
 * most burst + T * rate events. Userspace writes interval_ns and burst when it applies.
 */
#define TLSFW_LOG_RING_BYTES (256u * 1024) /* a power of 2, a multiple of the page size */
#define TLSFW_LOG_RATE_DEFAULT 10	   /* events per second of `log: true` */
#define TLSFW_LOG_RATE_MAX 100000

enum tlsfw_log_hook {
	TLSFW_LOG_XDP = 0,
	TLSFW_LOG_TC = 1,
};

struct tlsfw_log_event {
	__u64 time_ns; /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u32 ifindex;
	__u32 rule_slot;
	__u8 src[16]; /* IPv4 v4-mapped */
	__u8 dst[16];
	__u16 sport, dport; /* 0 without ports */
	__u8 dir;	    /* enum tlsfw_dir */
	__u8 hook;	    /* enum tlsfw_log_hook */
	__u8 family;	    /* 0 IPv4, 1 IPv6 */
	__u8 proto;
	__u8 icmp_type; /* ICMP and ICMPv6: the message type */
	__u8 verdict;	/* enum tlsfw_action that was applied (monitor: ALLOW) */
	__u8 monitor;	/* the rule is in monitor mode */
	__u8 gen;
};

struct tlsfw_log_rule {
#ifdef __bpf__
	struct bpf_spin_lock lock;
#else
	__u32 lock;
#endif
	__u32 burst;	   /* events admitted at once; 0: the rule does not log */
	__u64 interval_ns; /* 1e9 / rate */
	__u64 tat;	   /* theoretical arrival time (CLOCK_MONOTONIC ns) */
	__u64 events;	   /* events written to the ring */
	__u64 suppressed;  /* events the rate limit dropped */
	__u64 ring_full;   /* events lost: the ring buffer was full */
};

#endif /* TLSFW_ABI_H */
