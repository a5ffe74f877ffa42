/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tlsfw probe: STARTTLS and implicit-TLS compliance checks with OpenSSL.
 *
 * probe_parse.c   response parsers (pure functions over a byte buffer; fuzzed)
 * probe_io.c      one non-blocking connection: poll, bounded buffer, TLS over memory BIOs
 * probe_proto.c   the plaintext dialogues: greeting, capabilities, STARTTLS per protocol
 * probe_engine.c  the checks for one target, and the workers that run targets concurrently
 * probe_target.c  target specs; names of protocols, checks and outcomes
 * probe_cert.c    chain, name and validity period of the presented certificates
 * probe_dane.c    DANE: the presented chain against TLSA records, with OpenSSL's DANE
 * probe_report.c  human and JSON reports
 * cmd_probe.c     the command line
 */
#ifndef TLSFW_PROBE_H
#define TLSFW_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "diag.h"

/* ---- response parsers ------------------------------------------------------------------- */

#define PP_LINE_MAX 65536 /* a reply line longer than this is hostile */
#define PP_LINES_MAX 512  /* lines in one multiline reply */
#define PP_TEXT_MAX 4096  /* reply text kept (capabilities, evidence); the rest is dropped */

enum pp_kind { PP_OK = 1, PP_NO, PP_BAD, PP_BYE, PP_ERR, PP_CONT };

struct pp_reply {
	int code; /* SMTP/FTP/NNTP code; enum pp_kind for IMAP/POP3/sieve/XMPP;
				   LDAP resultCode; postgres: 'S' or 'N' */
	unsigned int lines;
	char text[PP_TEXT_MAX]; /* lines' text (after the code), '\n'-separated, NUL-ended */
	size_t text_len;
	int ldap_msgid, ldap_op; /* LDAP: messageID and protocolOp tag */
};

/*
 * Every parser looks at buf[0..len) and returns the number of bytes that form one complete
 * reply (filling r), 0 when more bytes are needed, or a negative errno: -EMSGSIZE for a line
 * over PP_LINE_MAX, -E2BIG for a reply over PP_LINES_MAX lines, -EBADMSG for bytes the
 * protocol cannot contain (binary data, a malformed code).
 */
/* SMTP and LMTP replies ("250-..." ... "250 ..."); strict: every line carries the code. */
int pp_smtp_reply(const char *buf, size_t len, struct pp_reply *r);
/* FTP (RFC 959): lines between "211-" and "211 " may be free text. */
int pp_ftp_reply(const char *buf, size_t len, struct pp_reply *r);
/* IMAP: untagged lines up to the tagged completion of tag; code is PP_OK/PP_NO/PP_BAD; an
 * untagged BYE ends the reply too (code PP_BYE). tag NULL: one greeting line ("* OK ..."). */
int pp_imap_reply(const char *buf, size_t len, const char *tag, struct pp_reply *r);
/* POP3: "+OK"/"-ERR" line; multiline: after +OK, lines up to ".". */
int pp_pop3_reply(const char *buf, size_t len, bool multiline, struct pp_reply *r);
/* NNTP: status line; multiline (101, 215, ...) when asked, up to ".". */
int pp_nntp_reply(const char *buf, size_t len, bool multiline, struct pp_reply *r);
/* ManageSieve: lines up to one starting with OK, NO or BYE. */
int pp_sieve_reply(const char *buf, size_t len, struct pp_reply *r);
/* LDAP: one BER LDAPMessage; an ExtendedResponse or other result gives its resultCode. */
int pp_ldap_message(const char *buf, size_t len, struct pp_reply *r);
/* XMPP: the stream header plus <stream:features>...</stream:features> (text = features), or
 * one <proceed/>/<failure/> (code PP_OK / PP_NO), or a stream error (PP_BYE). */
int pp_xmpp_reply(const char *buf, size_t len, struct pp_reply *r);
/* PostgreSQL SSLRequest answer: one byte, 'S' or 'N'. */
int pp_postgres_reply(const char *buf, size_t len, struct pp_reply *r);

/* Case-insensitive: is word a whole word of some line of text (at its start when
 * line_start)? Used for capabilities ("STARTTLS", "AUTH", "LOGINDISABLED"). */
bool pp_has_word(const char *text, const char *word, bool line_start);
/* What plaintext a server sent where a TLS record was expected: "HTTP", "SMTP", "IMAP",
 * "POP3", "FTP", "SSH", "text" or NULL when it looks like TLS or binary. */
const char *pp_plaintext_kind(const unsigned char *buf, size_t len);

/* ---- probe model ------------------------------------------------------------------------ */

enum probe_proto {
	PROTO_IMPLICIT = 0, /* TLS from the first byte */
	PROTO_SMTP,
	PROTO_IMAP,
	PROTO_POP3,
	PROTO_FTP,
	PROTO_LDAP,
	PROTO_XMPP,
	PROTO_POSTGRES,
	PROTO_SIEVE,
	PROTO_NNTP,
	PROTO__N
};
extern const char *const probe_proto_names[PROTO__N]; /* "none", "smtp", ... */
/* By name ("none" for implicit TLS); -1 if unknown. */
int probe_proto_by_name(const char *name);

/* PS_WARN: passes, but needs attention soon (a certificate about to expire) */
enum probe_status { PS_NA = 0, PS_PASS, PS_FAIL, PS_WARN };

enum probe_check_id {
	PC_GREETING,	 /* plaintext greeting and capabilities */
	PC_STARTTLS,	 /* advertised, accepted, not stripped */
	PC_HANDSHAKE,	 /* TLS completes; implicit ports speaking plaintext are named */
	PC_TLS_REQUIRED, /* a plaintext transaction is refused */
	PC_PLAIN_AUTH,	 /* no plaintext authentication offered before TLS */
	PC_INJECTION,	 /* commands pipelined after STARTTLS are not answered inside TLS */
	PC_MIN_TLS,	 /* nothing below --min-tls accepted */
	PC_WEAK_CIPHERS, /* no anonymous, NULL, export, RC4 or 3DES suite accepted */
	PC_CHAIN,	 /* chain verifies */
	PC_NAME,	 /* certificate matches the name */
	PC_EXPIRY,	 /* not expired; days left */
	PC__N
};
extern const char *const probe_check_names[PC__N];

/* The four STARTTLS failures are distinct outcomes, never merged. */
enum starttls_outcome {
	ST_NA = 0, /* implicit TLS, or the dialogue never got that far */
	ST_OK,
	ST_NOT_ADVERTISED,   /* not offered, and refused when sent anyway */
	ST_REFUSED,	     /* offered, but the command was refused */
	ST_HANDSHAKE_FAILED, /* accepted, but TLS did not complete */
	ST_STRIPPED,	     /* not offered, yet sent anyway it worked: removed on the way */
};
extern const char *const starttls_outcome_names[ST_STRIPPED + 1];

struct probe_check {
	enum probe_status st;
	char evidence[320];
};

#define PROBE_NAME_MAX 256
#define PROBE_DANE_REFS 2 /* reference identifiers of DANE-TA besides the target's name */

struct dns_tlsa; /* probe_dns.h */

/* DANE (RFC 7672) for one target: its TLSA records' verdict on the presented chain. */
enum probe_dane {
	DANE_NA = 0,	 /* no TLSA records given */
	DANE_VALID,	 /* a record matched: a DANE client delivers */
	DANE_INVALID,	 /* none matched, or no TLS: a DANE client refuses to deliver */
	DANE_NOT_USABLE, /* none of the records is usable: TLS without authentication */
};
extern const char *const probe_dane_names[DANE_NOT_USABLE + 1];

struct probe_target {
	char spec[PROBE_NAME_MAX + 16]; /* as given */
	char host[PROBE_NAME_MAX];	/* host name or address, without brackets */
	uint16_t port;
	enum probe_proto proto; /* PROTO_IMPLICIT or a STARTTLS dialogue */
	bool host_is_addr;
	char name[PROBE_NAME_MAX];   /* name to verify and send as SNI ("" : none) */
	int min_tls;		     /* TLS1_VERSION .. TLS1_3_VERSION */
	bool verify;		     /* chain and name failures count */
	bool require_tls;	     /* a plaintext transaction accepted is a failure */
	bool san_only;		     /* name: dNSName SANs, whole-label wildcards only */
	char label[PROBE_NAME_MAX];  /* policy probe name, or "" */
	const struct dns_tlsa *tlsa; /* DANE: usable TLSA records of name (the base domain), */
	size_t n_tlsa;		     /* checked on a connection of their own; 0: no DANE */
	const char *dane_base;	     /* the TLSA base domain, when not name (a CNAME expansion) */
	/* DANE-TA: reference identifiers besides the base domain (NULL: none), such as the
	 * next-hop domain of a secure MX look-up and the MX name (RFC 7672 3.2.2) */
	const char *dane_refs[PROBE_DANE_REFS];
};

struct probe_opts {
	int timeout_ms; /* every step; a target gets PROBE_STEPS_PER_TARGET of them */
	int concurrency;
	const char *ca_file; /* NULL: the system store */
	int warn_days;	     /* a chain that expires within this many days is a warning */
};

#define PROBE_DEFAULT_TIMEOUT_MS 5000
#define PROBE_DEFAULT_CONCURRENCY 16
#define PROBE_DEFAULT_WARN_DAYS 21
#define PROBE_STEPS_PER_TARGET 12
#define PROBE_MAX_ADDRS 4 /* addresses of a name tried in turn */

struct probe_result {
	bool reachable;	  /* false: could not connect/resolve, or a system error */
	char error[256];  /* why, when not reachable */
	char address[64]; /* the address connected to, "[v6]:port" or "v4:port" */
	enum starttls_outcome starttls;
	struct probe_check checks[PC__N];
	char tls_version[16], cipher[64], group[32], alpn[32];
	bool have_cert;
	long days_left;	      /* of the leaf */
	long chain_days_left; /* of the certificate of the chain that expires first */
	char subject[160], issuer[160];
	unsigned int elapsed_ms;
	enum probe_dane dane;
	char dane_evidence[320];
};

/*
 * Where a probe stage reports what stops it (a target it cannot read, a resolver it cannot
 * set up): records in d, at loc (zero: no place in a policy, printed "tlsfw: error: ..."),
 * each message begun "probe 'NAME': " when probe is set. level is DIAG_ERROR, or
 * DIAG_WARNING where one failing probe must not stop the others (a policy's domain probes).
 */
struct probe_diag {
	struct diag *d;
	struct loc loc;
	const char *probe;
	enum diag_level level;
};

/* Add one record to pd (at `at` when not NULL, else at pd->loc); returns err. */
int probe_fail(const struct probe_diag *pd, const struct loc *at, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* A target as written: on the command line, or in a policy's probe block. */
struct target_spec {
	const char *spec;		/* "host:port", "[v6]:port" or "host:service" */
	const char *starttls;		/* a protocol name; NULL: the port's catalog entry says */
	const struct loc *starttls_loc; /* where starttls is written (NULL: pd->loc) */
};

/* Parse s into t (name defaults to the host when it is not an address). On error returns
 * -EINVAL with one record in pd. */
int probe_target_parse(struct probe_target *t, const struct target_spec *s,
		       const struct probe_diag *pd);

/* Run every target, at most o->concurrency at a time. r has n entries. Returns 0 or -errno
 * (a system error before any probe ran). */
int probe_run(const struct probe_opts *o, const struct probe_target *t, size_t n,
	      struct probe_result *r);
/* One target (the workers call this; tests too). */
void probe_one(const struct probe_opts *o, const struct probe_target *t, struct probe_result *r);

bool probe_compliant(const struct probe_result *r);
/* "COMPLIANT", "COMPLIANT (1 warning)", "NOT COMPLIANT (2 checks failed)", "UNREACHABLE: ..." */
void probe_verdict_text(const struct probe_result *r, char *out, size_t len);
/* One line per check, each after indent. */
void probe_report_checks(FILE *out, const struct probe_result *r, const char *indent);
struct json_object;
/* Add a string (NULL: "") or an object (taken; NULL: out of memory) to o (NULL: out of
 * memory); 0 or -ENOMEM. */
int probe_json_str(struct json_object *o, const char *k, const char *v);
int probe_json_obj(struct json_object *o, const char *k, struct json_object *v);
/* One target as probe --json reports it (NULL: out of memory). */
struct json_object *probe_target_json(const struct probe_target *t, const struct probe_result *r);
/* "targets" and "summary" of n targets into root; 0 or -ENOMEM. */
int probe_report_json_add(struct json_object *root, const struct probe_target *t,
			  const struct probe_result *r, size_t n);
/* Print root (unless ret or root says out of memory) and free it; 0 or -ENOMEM. */
int probe_json_print(FILE *out, struct json_object *root, int ret);
void probe_report_text(FILE *out, const struct probe_target *t, const struct probe_result *r,
		       size_t n);
int probe_report_json(FILE *out, const struct probe_target *t, const struct probe_result *r,
		      size_t n);

#endif
