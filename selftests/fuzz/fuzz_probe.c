// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the prober's response parsers: SMTP/FTP multiline replies, IMAP
 * responses, POP3, NNTP, ManageSieve, LDAP BER messages, XMPP framing and the PostgreSQL
 * answer. The first byte picks the parser; the rest is what a server sent. Replies are
 * consumed one after another, as the prober does, and every result is checked for sanity.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"

static int parse(uint8_t which, const char *b, size_t l, struct pp_reply *r)
{
	switch (which % 11) {
	case 0:
		return pp_smtp_reply(b, l, r);
	case 1:
		return pp_ftp_reply(b, l, r);
	case 2:
		return pp_imap_reply(b, l, NULL, r);
	case 3:
		return pp_imap_reply(b, l, "tlsfw1", r);
	case 4:
		return pp_pop3_reply(b, l, false, r);
	case 5:
		return pp_pop3_reply(b, l, true, r);
	case 6:
		return pp_nntp_reply(b, l, true, r);
	case 7:
		return pp_sieve_reply(b, l, r);
	case 8:
		return pp_ldap_message(b, l, r);
	case 9:
		return pp_xmpp_reply(b, l, r);
	default:
		return pp_postgres_reply(b, l, r);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pp_reply r;
	const char *b;
	size_t l;
	char *copy;

	if (size < 1)
		return 0;
	/* an exact-size heap copy: ASan catches any read past the end */
	l = size - 1;
	copy = malloc(l ? l : 1);
	if (!copy)
		return 0;
	memcpy(copy, data + 1, l);
	b = copy;
	for (int n = 0; n < 64; n++) {
		int ret = parse(data[0], b, l, &r);

		if (ret <= 0)
			break;
		if ((size_t)ret > l || r.text_len >= PP_TEXT_MAX || strlen(r.text) != r.text_len)
			abort();
		pp_has_word(r.text, "STARTTLS", true);
		pp_has_word(r.text, "AUTH=", false);
		b += ret;
		l -= ret;
	}
	pp_plaintext_kind(data + 1, size - 1);
	free(copy);
	return 0;
}
