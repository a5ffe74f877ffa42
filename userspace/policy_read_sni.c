// SPDX-License-Identifier: GPL-2.0
/* sni: @FILE (issue 13): a rule's server names kept in a file next to the policy. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy_hash.h"
#include "policy_read.h"

/* FILE relative to the policy file's directory (an absolute FILE as it is). */
static char *sni_path(const char *policy, const char *file)
{
	const char *slash = policy ? strrchr(policy, '/') : NULL;
	size_t dir = slash ? (size_t)(slash - policy) + 1 : 0;
	char *out;

	if (file[0] == '/' || !dir)
		return strdup(file);
	out = malloc(dir + strlen(file) + 1);
	if (!out)
		return NULL;
	memcpy(out, policy, dir);
	strcpy(out + dir, file);
	return out;
}

/* The policy hash covers the file: sha256(previous hash, file name, file bytes). */
static void hash_in(struct policy *p, const char *name, const char *buf, size_t len)
{
	const struct hash_part parts[] = { { p->sha256, sizeof(p->sha256) },
					   { name, strlen(name) + 1 },
					   { buf, len } };

	policy_hash_parts(parts, 3, p->sha256);
}

/* One line: the name without blanks and comment, added with its location in the file. */
static int sni_line(struct reader *rd, struct pol_names *nn, char *line, struct loc *l)
{
	char *hash = strchr(line, '#'), *end;
	struct ynode item = { .type = Y_SCALAR };

	if (hash)
		*hash = 0;
	while (*line == ' ' || *line == '\t')
		line++, l->col++;
	end = line + strlen(line);
	while (end > line && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = 0;
	if (!*line)
		return 0;
	item.val = line;
	item.len = end - line;
	item.loc = *l;
	item.loc.len = item.len;
	return rd_sni_add(rd, nn, &item) ? 0 : -ENOMEM;
}

void rd_sni_file(struct reader *rd, const struct ynode *v, struct pol_names *nn)
{
	char *path = sni_path(rd->file, v->val + 1), *buf = NULL, *text, why[160];
	size_t len = 0;
	struct loc l;
	const char *name;

	if (!path || policy_file_bytes(path, &buf, &len, why, sizeof(why))) {
		diag_error(rd->d, &v->loc, "sni: cannot read %s: %s", path ? path : v->val + 1,
			   path ? why : "out of memory");
		free(path);
		return;
	}
	name = diag_intern_file(rd->d, path, buf ? buf : "", len);
	hash_in(rd->p, v->val + 1, buf ? buf : "", len);
	text = malloc(len + 1); /* the file's bytes are not a string: make one */
	if (text) {
		memcpy(text, buf ? buf : "", len);
		text[len] = 0;
	}
	free(buf);
	buf = text;
	l = (struct loc){ .file = name, .line = 1, .col = 1, .len = 1 };
	for (char *s = buf; s && *s && name;) {
		char *nl = strchr(s, '\n');

		if (nl)
			*nl = 0;
		l.col = 1;
		if (sni_line(rd, nn, s, &l))
			break;
		l.line++;
		s = nl ? nl + 1 : s + strlen(s);
	}
	if (!nn->n)
		diag_error(rd->d, &v->loc, "sni: %s has no names", path);
	free(buf);
	free(path);
}
