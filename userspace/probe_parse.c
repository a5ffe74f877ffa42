// SPDX-License-Identifier: GPL-2.0
/*
 * Response parsers for the prober. Servers are untrusted: every parser works on a bounded
 * buffer that need not be NUL-terminated, never reads past len, and turns endless lines,
 * endless multiline replies and binary data into errors instead of waiting for more.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "probe.h"

static void text_reset(struct pp_reply *r)
{
	r->code = 0;
	r->lines = 0;
	r->text[0] = '\0';
	r->text_len = 0;
	r->ldap_msgid = -1;
	r->ldap_op = -1;
}

/* Keep what fits: the text is evidence and capabilities, not a transcript. */
static void text_add(struct pp_reply *r, const char *s, size_t n)
{
	size_t room = PP_TEXT_MAX - 1 - r->text_len;

	if (r->text_len && room) {
		r->text[r->text_len++] = '\n';
		room--;
	}
	if (n > room)
		n = room;
	memcpy(r->text + r->text_len, s, n);
	r->text_len += n;
	r->text[r->text_len] = '\0';
}

/*
 * The line starting at off: *n is its length without CR LF, *next the offset after the LF.
 * Returns 1, 0 if the line is not complete yet, or -EMSGSIZE / -EBADMSG.
 */
static int line_at(const char *buf, size_t len, size_t off, size_t *n, size_t *next)
{
	const char *lf = memchr(buf + off, '\n', len - off);
	size_t l;

	if (!lf)
		return len - off > PP_LINE_MAX ? -EMSGSIZE : 0;
	l = lf - (buf + off);
	*next = l + off + 1;
	if (l && buf[off + l - 1] == '\r')
		l--;
	if (l > PP_LINE_MAX)
		return -EMSGSIZE;
	for (size_t i = 0; i < l; i++) {
		unsigned char c = buf[off + i];

		/* Text protocols: NUL and other controls mean binary (or an attack on logs). */
		if (c < 0x20 && c != '\t')
			return -EBADMSG;
	}
	*n = l;
	return 1;
}

static bool is_digit3(const char *s, size_t n)
{
	return n >= 3 && s[0] >= '1' && s[0] <= '5' && s[1] >= '0' && s[1] <= '9' && s[2] >= '0' &&
	       s[2] <= '9';
}

static int code3(const char *s)
{
	return (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
}

static int coded_reply(const char *buf, size_t len, struct pp_reply *r, bool strict)
{
	size_t off = 0, n, next;
	int ret;

	text_reset(r);
	for (;;) {
		ret = line_at(buf, len, off, &n, &next);
		if (ret <= 0)
			return ret;
		if (++r->lines > PP_LINES_MAX)
			return -E2BIG;
		const char *l = buf + off;
		bool coded = is_digit3(l, n) && (n == 3 || l[3] == ' ' || l[3] == '-');

		if (r->lines == 1) {
			if (!coded)
				return -EBADMSG;
			r->code = code3(l);
		} else if (coded && code3(l) != r->code && strict) {
			return -EBADMSG;
		} else if (!coded && strict) {
			return -EBADMSG;
		}
		if (coded && code3(l) == r->code) {
			text_add(r, l + (n > 4 ? 4 : n), n > 4 ? n - 4 : 0);
			if (n == 3 || l[3] == ' ')
				return next;
		} else {
			text_add(r, l, n);
		}
		off = next;
	}
}

int pp_smtp_reply(const char *buf, size_t len, struct pp_reply *r)
{
	return coded_reply(buf, len, r, true);
}

int pp_ftp_reply(const char *buf, size_t len, struct pp_reply *r)
{
	return coded_reply(buf, len, r, false);
}

/* Does the line start with word followed by a space or its end (case-insensitive)? */
static bool starts_word(const char *l, size_t n, const char *word)
{
	size_t w = strlen(word);

	return n >= w && !strncasecmp(l, word, w) && (n == w || l[w] == ' ' || l[w] == '(');
}

static int imap_status(const char *s, size_t n)
{
	if (starts_word(s, n, "OK") || starts_word(s, n, "PREAUTH"))
		return PP_OK;
	if (starts_word(s, n, "NO"))
		return PP_NO;
	if (starts_word(s, n, "BYE"))
		return PP_BYE;
	return PP_BAD;
}

int pp_imap_reply(const char *buf, size_t len, const char *tag, struct pp_reply *r)
{
	size_t off = 0, n, next, tl = tag ? strlen(tag) : 0;
	int ret;

	text_reset(r);
	for (;;) {
		ret = line_at(buf, len, off, &n, &next);
		if (ret <= 0)
			return ret;
		if (++r->lines > PP_LINES_MAX)
			return -E2BIG;
		const char *l = buf + off;

		if (n >= 2 && l[0] == '*' && l[1] == ' ') {
			text_add(r, l + 2, n - 2);
			int st = imap_status(l + 2, n - 2);

			if (!tag) {
				if (st == PP_NO)
					return -EBADMSG;
				r->code = st;
				return next;
			}
			if (st == PP_BYE) {
				r->code = PP_BYE;
				return next;
			}
		} else if (!tag) {
			return -EBADMSG;
		} else if (n > tl && !memcmp(l, tag, tl) && l[tl] == ' ') {
			text_add(r, l + tl + 1, n - tl - 1);
			r->code = imap_status(l + tl + 1, n - tl - 1);
			return next;
		} else if (n >= 1 && l[0] == '+') {
			r->code = PP_CONT;
			return next;
		} else {
			/* another tag: an answer to a pipelined command; kept as evidence */
			text_add(r, l, n);
		}
		off = next;
	}
}

/* Lines up to a lone "." (dot-stuffing undone), appended to r. */
static int dot_lines(const char *buf, size_t len, size_t off, struct pp_reply *r)
{
	size_t n, next;
	int ret;

	for (;;) {
		ret = line_at(buf, len, off, &n, &next);
		if (ret <= 0)
			return ret;
		if (++r->lines > PP_LINES_MAX)
			return -E2BIG;
		const char *l = buf + off;

		if (n == 1 && l[0] == '.')
			return next;
		if (n && l[0] == '.')
			text_add(r, l + 1, n - 1);
		else
			text_add(r, l, n);
		off = next;
	}
}

int pp_pop3_reply(const char *buf, size_t len, bool multiline, struct pp_reply *r)
{
	size_t n, next;
	int ret;

	text_reset(r);
	ret = line_at(buf, len, 0, &n, &next);
	if (ret <= 0)
		return ret;
	r->lines = 1;
	if (n >= 3 && !strncmp(buf, "+OK", 3) && (n == 3 || buf[3] == ' ')) {
		r->code = PP_OK;
		text_add(r, buf + (n > 4 ? 4 : n), n > 4 ? n - 4 : 0);
	} else if (n >= 4 && !strncmp(buf, "-ERR", 4) && (n == 4 || buf[4] == ' ')) {
		r->code = PP_ERR;
		text_add(r, buf + (n > 5 ? 5 : n), n > 5 ? n - 5 : 0);
		return next;
	} else {
		return -EBADMSG;
	}
	if (!multiline)
		return next;
	return dot_lines(buf, len, next, r);
}

int pp_nntp_reply(const char *buf, size_t len, bool multiline, struct pp_reply *r)
{
	size_t n, next;
	int ret;

	text_reset(r);
	ret = line_at(buf, len, 0, &n, &next);
	if (ret <= 0)
		return ret;
	r->lines = 1;
	if (!is_digit3(buf, n) || (n > 3 && buf[3] != ' '))
		return -EBADMSG;
	r->code = code3(buf);
	text_add(r, buf + (n > 4 ? 4 : n), n > 4 ? n - 4 : 0);
	if (!multiline || r->code >= 300)
		return next;
	return dot_lines(buf, len, next, r);
}

int pp_sieve_reply(const char *buf, size_t len, struct pp_reply *r)
{
	size_t off = 0, n, next;
	int ret;

	text_reset(r);
	for (;;) {
		ret = line_at(buf, len, off, &n, &next);
		if (ret <= 0)
			return ret;
		if (++r->lines > PP_LINES_MAX)
			return -E2BIG;
		const char *l = buf + off;

		if (starts_word(l, n, "OK") || starts_word(l, n, "NO") ||
		    starts_word(l, n, "BYE")) {
			r->code = imap_status(l, n);
			if (!r->text_len)
				text_add(r, l, n);
			return next;
		}
		text_add(r, l, n);
		off = next;
	}
}

/* BER tag and length at *off, bounded by end; the content's length goes to *clen. */
/* A BER INTEGER/ENUMERATED of 1 to 4 octets, accumulated unsigned (a hostile 0xffffffff must
 * not overflow an int) and kept non-negative. */
static int ber_int(const unsigned char *p, size_t len)
{
	uint32_t v = 0;

	for (size_t i = 0; i < len; i++)
		v = (v << 8) | p[i];
	return (int)(v & 0x7fffffff);
}

static int ber_tl(const unsigned char *p, size_t end, size_t *off, int *tag, size_t *clen)
{
	size_t o = *off, l;

	if (o + 2 > end)
		return 0;
	*tag = p[o++];
	l = p[o++];
	if (l & 0x80) {
		unsigned int nb = l & 0x7f;

		/* indefinite lengths are not LDAP (RFC 4511 5.1); 3 bytes cover 16 MiB */
		if (nb == 0 || nb > 3)
			return -EBADMSG;
		if (o + nb > end)
			return 0;
		l = 0;
		while (nb--)
			l = (l << 8) | p[o++];
	}
	*off = o;
	*clen = l;
	return 1;
}

int pp_ldap_message(const char *buf, size_t len, struct pp_reply *r)
{
	const unsigned char *p = (const unsigned char *)buf;
	size_t off = 0, clen, total, end;
	int tag, ret;

	text_reset(r);
	ret = ber_tl(p, len, &off, &tag, &clen);
	if (ret <= 0)
		return ret;
	if (tag != 0x30)
		return -EBADMSG;
	if (clen > PP_LINE_MAX)
		return -EMSGSIZE;
	total = off + clen;
	if (len < total)
		return 0;
	end = total;
	/* messageID */
	if (ber_tl(p, end, &off, &tag, &clen) != 1 || tag != 0x02 || clen < 1 || clen > 4 ||
	    off + clen > end)
		return -EBADMSG;
	r->ldap_msgid = ber_int(p + off, clen);
	off += clen;
	/* protocolOp: an APPLICATION tag; results are constructed ([APPLICATION n] SEQUENCE) */
	if (ber_tl(p, end, &off, &tag, &clen) != 1 || (tag & 0xc0) != 0x40 || off + clen > end)
		return -EBADMSG;
	r->ldap_op = tag & 0x1f;
	end = off + clen;
	r->code = -1;
	if (!(tag & 0x20))
		return total;
	/* LDAPResult: resultCode ENUMERATED, matchedDN, diagnosticMessage */
	if (ber_tl(p, end, &off, &tag, &clen) != 1 || off + clen > end)
		return -EBADMSG;
	if (tag != 0x0a) /* not a result (a search entry, say): the caller only needs the op */
		return total;
	if (clen < 1 || clen > 4)
		return -EBADMSG;
	r->code = ber_int(p + off, clen);
	off += clen;
	for (int field = 0; field < 2; field++) {
		if (ber_tl(p, end, &off, &tag, &clen) != 1 || tag != 0x04 || off + clen > end)
			return -EBADMSG;
		if (field == 1) {
			for (size_t i = 0; i < clen; i++)
				if (p[off + i] < 0x20)
					return -EBADMSG;
			text_add(r, buf + off, clen);
		}
		off += clen;
	}
	r->lines = 1;
	return total;
}

/* Offset just after the first occurrence of s in buf[0..len), or 0. */
static size_t after(const char *buf, size_t len, const char *s)
{
	const char *m = memmem(buf, len, s, strlen(s));

	return m ? (size_t)(m - buf) + strlen(s) : 0;
}

/* Offset of the '>' that closes the element starting at the first occurrence of open. */
static size_t elem_end(const char *buf, size_t len, const char *open, size_t *start)
{
	const char *m = memmem(buf, len, open, strlen(open));
	const char *gt;

	if (!m)
		return 0;
	*start = m - buf;
	gt = memchr(m, '>', len - *start);
	if (!gt)
		return 0;
	if (gt > m && gt[-1] == '/')
		return gt - buf + 1;
	/* <failure ...>...</failure> */
	size_t close = after(gt, len - (gt - buf), "</");

	if (!close)
		return 0;
	gt = memchr(gt + close, '>', len - (gt - buf) - close);
	return gt ? (size_t)(gt - buf) + 1 : 0;
}

int pp_xmpp_reply(const char *buf, size_t len, struct pp_reply *r)
{
	size_t best = 0, s, e, start;
	int code = 0;

	text_reset(r);
	if (memchr(buf, '\0', len))
		return -EBADMSG;
	e = after(buf, len, "</stream:features>");
	if (e) {
		best = e;
		code = PP_OK;
	}
	e = after(buf, len, "<stream:features/>");
	if (e && (!best || e < best)) {
		best = e;
		code = PP_OK;
	}
	e = elem_end(buf, len, "<proceed", &start);
	if (e && (!best || e < best)) {
		best = e;
		code = PP_OK;
	}
	e = elem_end(buf, len, "<failure", &start);
	if (e && (!best || e < best)) {
		best = e;
		code = PP_NO;
	}
	s = after(buf, len, "</stream:stream>");
	e = after(buf, len, "</stream:error>");
	if (s && (!e || s < e))
		e = s;
	if (e && (!best || e < best)) {
		best = e;
		code = PP_BYE;
	}
	if (!best)
		return len > PP_LINE_MAX ? -EMSGSIZE : 0;
	r->code = code;
	r->lines = 1;
	/* the features (or the whole answer) as capability text */
	s = after(buf, best, "<stream:features");
	if (s)
		text_add(r, buf + s, best - s);
	else
		text_add(r, buf, best);
	return best;
}

int pp_postgres_reply(const char *buf, size_t len, struct pp_reply *r)
{
	text_reset(r);
	if (!len)
		return 0;
	if (buf[0] != 'S' && buf[0] != 'N' && buf[0] != 'E')
		return -EBADMSG;
	r->code = buf[0];
	r->lines = 1;
	return 1;
}

static bool is_sep(char c)
{
	return c == ' ' || c == '\t' || c == '"' || c == '[' || c == ']' || c == '(' || c == ')' ||
	       c == '\n' || c == '<' || c == '>' || c == '/';
}

bool pp_has_word(const char *text, const char *word, bool line_start)
{
	size_t w = strlen(word);
	bool prefix = w && word[w - 1] == '='; /* "AUTH=" matches AUTH=PLAIN */
	bool at_line_start = true;

	for (const char *p = text; *p;) {
		while (*p && is_sep(*p)) {
			if (*p == '\n')
				at_line_start = true;
			p++;
		}
		if (!*p)
			break;
		const char *q = p;

		while (*q && !is_sep(*q))
			q++;
		size_t n = q - p;

		if ((!line_start || at_line_start) &&
		    ((n == w && !strncasecmp(p, word, w)) ||
		     (prefix && n > w && !strncasecmp(p, word, w))))
			return true;
		at_line_start = false;
		p = q;
	}
	return false;
}

const char *pp_plaintext_kind(const unsigned char *buf, size_t len)
{
	size_t printable = 0;

	if (!len || ((buf[0] == 0x16 || buf[0] == 0x15) && len > 1 && buf[1] == 0x03))
		return NULL; /* a TLS handshake or alert record */
	if (len >= 5 && !memcmp(buf, "HTTP/", 5))
		return "HTTP";
	if (len >= 4 && !memcmp(buf, "SSH-", 4))
		return "SSH";
	if (len >= 4 && !memcmp(buf, "* OK", 4))
		return "IMAP";
	if (len >= 3 && !memcmp(buf, "+OK", 3))
		return "POP3";
	if (len >= 4 && is_digit3((const char *)buf, len) && (buf[3] == ' ' || buf[3] == '-')) {
		if (memmem(buf, len, "FTP", 3))
			return "FTP";
		if (buf[0] == '2' && buf[1] == '0' && (buf[2] == '0' || buf[2] == '1'))
			return "NNTP";
		return "SMTP";
	}
	for (size_t i = 0; i < len; i++)
		if ((buf[i] >= 0x20 && buf[i] < 0x7f) || buf[i] == '\r' || buf[i] == '\n' ||
		    buf[i] == '\t')
			printable++;
	return printable * 10 >= len * 9 ? "text" : NULL;
}
