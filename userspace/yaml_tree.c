// SPDX-License-Identifier: GPL-2.0
/*
 * Stage 1, first half: bytes -> YAML tree (yaml_tree.h). libyaml's event stream is composed
 * into nodes kept in one arena, so that a policy of a million values costs a few large
 * allocations rather than two million small ones, and is freed at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "yaml_tree.h"

#define MAX_DEPTH 32		 /* policies nest 4 deep; deeper is a mistake or an attack */
#define ARENA_BLOCK (256u << 10) /* bytes per arena block, unless one request needs more */
#define STD_TAG "tag:yaml.org,2002:"

/* ---- the file ---------------------------------------------------------------------------- */

static const char *file_kind(mode_t m)
{
	return S_ISDIR(m)  ? "a directory" :
	       S_ISFIFO(m) ? "a named pipe" :
	       S_ISCHR(m)  ? "a character device" :
	       S_ISBLK(m)  ? "a block device" :
	       S_ISSOCK(m) ? "a socket" :
			     "not a file";
}

static int read_all(int fd, char **buf, size_t *len, char *why, size_t why_len)
{
	size_t cap = 0;

	*buf = NULL;
	*len = 0;
	for (;;) {
		ssize_t got;

		if (*len == cap) {
			char *nb;

			if (cap > POLICY_MAX_BYTES) {
				snprintf(why, why_len, "larger than the %u MiB limit",
					 POLICY_MAX_BYTES >> 20);
				return -EFBIG;
			}
			cap = cap ? cap * 2 : 65536;
			nb = realloc(*buf, cap + 1);
			if (!nb) {
				snprintf(why, why_len, "%s", strerror(ENOMEM));
				return -ENOMEM;
			}
			*buf = nb;
		}
		got = read(fd, *buf + *len, cap - *len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			snprintf(why, why_len, "%s", strerror(errno));
			return -errno;
		}
		if (!got)
			break;
		*len += got;
	}
	if (*len > POLICY_MAX_BYTES) {
		snprintf(why, why_len, "larger than the %u MiB limit", POLICY_MAX_BYTES >> 20);
		return -EFBIG;
	}
	return 0;
}

int policy_file_bytes(const char *path, char **buf, size_t *len, char *why, size_t why_len)
{
	struct stat st;
	int fd, err;

	*buf = NULL;
	if (!strcmp(path, "-"))
		return read_all(STDIN_FILENO, buf, len, why, why_len);
	if (stat(path, &st)) {
		err = -errno;
		snprintf(why, why_len, "%s", strerror(errno));
		return err;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, why_len,
			 "%s, not a regular file (a policy is a file of at most %u MiB)",
			 file_kind(st.st_mode), POLICY_MAX_BYTES >> 20);
		return -EINVAL;
	}
	if ((unsigned long long)st.st_size > POLICY_MAX_BYTES) {
		snprintf(why, why_len, "larger than the %u MiB limit", POLICY_MAX_BYTES >> 20);
		return -EFBIG;
	}
	/* O_NONBLOCK: had the path been swapped for a FIFO since stat(), open would not wait */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		snprintf(why, why_len, "%s", strerror(errno));
		return err;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		snprintf(why, why_len, "not a regular file");
		return -EINVAL;
	}
	err = read_all(fd, buf, len, why, why_len);
	close(fd);
	if (err) {
		free(*buf);
		*buf = NULL;
	}
	return err;
}

/* ---- the arena -------------------------------------------------------------------------- */

struct yarena {
	struct yblock {
		struct yblock *next;
		size_t used, cap;
		max_align_t data[];
	} * head;
};

static void *arena_alloc(struct yarena *a, size_t size)
{
	struct yblock *b = a->head;

	size = (size + 15) & ~(size_t)15;
	if (!b || b->cap - b->used < size) {
		size_t cap = size > ARENA_BLOCK ? size : ARENA_BLOCK;

		b = malloc(sizeof(*b) + cap);
		if (!b)
			return NULL;
		b->next = a->head;
		b->used = 0;
		b->cap = cap;
		a->head = b;
	}
	b->used += size;
	return (char *)b->data + b->used - size;
}

void ytree_free(struct ytree *t)
{
	if (!t)
		return;
	while (t->arena && t->arena->head) {
		struct yblock *b = t->arena->head;

		t->arena->head = b->next;
		free(b);
	}
	free(t->arena);
	memset(t, 0, sizeof(*t));
}

/* ---- composing ----------------------------------------------------------------------------- */

struct composer {
	struct diag *d;
	const char *file;
	const char *buf; /* the input, for the location of a reader error */
	size_t len;
	yaml_parser_t parser;
	struct yarena *arena;
	/* the children of the open sequences and mappings, innermost last: each gets an
	 * array of exactly its own in the arena when it ends (doubling arrays in the arena,
	 * which frees nothing until the end, were 11 MB of 4,096 rules of 200 ports) */
	struct ynode **stack;
	size_t n_stack, cap_stack;
};

static struct loc mark_loc(const struct composer *c, yaml_mark_t start, yaml_mark_t end)
{
	struct loc l = {
		.file = c->file, .line = start.line + 1, .col = start.column + 1, .len = 1
	};

	if (end.line == start.line && end.column > start.column)
		l.len = end.column - start.column;
	return l;
}

/* Line and column (in characters, as libyaml counts them) of byte offset off. */
static struct loc offset_loc(const struct composer *c, size_t off)
{
	struct loc l = { .file = c->file, .line = 1, .col = 1, .len = 1 };

	for (size_t i = 0; i < off && i < c->len; i++) {
		if (c->buf[i] == '\n') {
			l.line++;
			l.col = 1;
		} else if (((unsigned char)c->buf[i] & 0xc0) != 0x80) {
			l.col++;
		}
	}
	return l;
}

/* The byte at line and column l (characters, as libyaml counts them), or -1. */
static int byte_at(const struct composer *c, struct loc l)
{
	size_t i = 0;

	for (unsigned int line = 1; line < l.line && i < c->len; i++)
		line += c->buf[i] == '\n';
	for (unsigned int col = 1; col < l.col && i < c->len; i++)
		col += i + 1 == c->len || ((unsigned char)c->buf[i + 1] & 0xc0) != 0x80;
	return i < c->len ? (unsigned char)c->buf[i] : -1;
}

/* Not text YAML can read: a binary file, another encoding, a NUL byte. libyaml points at the
 * octet that broke a UTF-8 sequence: name the one that began it. */
static void reader_error(struct composer *c)
{
	const yaml_parser_t *ps = &c->parser;
	const unsigned char *b = (const unsigned char *)c->buf;
	size_t off = ps->problem_offset;
	struct loc l;

	while (off > 0 && off < c->len && (b[off] & 0xc0) == 0x80)
		off--;
	if (off > 0 && off < c->len && b[off] < 0x80 && (b[off - 1] & 0xc0) == 0xc0)
		off--;
	l = offset_loc(c, off);
	if (off < c->len)
		diag_error(c->d, &l, "invalid YAML: %s at byte 0x%02x: a policy is UTF-8 text",
			   ps->problem ? ps->problem : "unreadable input", b[off]);
	else
		diag_error(c->d, &l, "invalid YAML: %s: a policy is UTF-8 text",
			   ps->problem ? ps->problem : "unreadable input");
}

static void syntax_error(struct composer *c)
{
	yaml_parser_t *ps = &c->parser;
	struct loc l = { .file = c->file, .len = 1 };

	if (ps->error == YAML_SCANNER_ERROR || ps->error == YAML_PARSER_ERROR) {
		l.line = ps->problem_mark.line + 1;
		l.col = ps->problem_mark.column + 1;
	}
	if (ps->error == YAML_MEMORY_ERROR) {
		diag_error(c->d, &l, "out of memory while reading YAML");
	} else if (ps->error == YAML_READER_ERROR) {
		reader_error(c);
	} else if (ps->error == YAML_SCANNER_ERROR && byte_at(c, l) == '\t') {
		/* libyaml: "found character that cannot start any token" */
		diag_error(c->d, &l, "invalid YAML: a tab: YAML indents with spaces only");
	} else if (ps->context &&
		   (ps->error == YAML_SCANNER_ERROR || ps->error == YAML_PARSER_ERROR)) {
		diag_error(c->d, &l, "invalid YAML: %s %s (line %zu)",
			   ps->problem ? ps->problem : "error", ps->context,
			   ps->context_mark.line + 1);
	} else {
		diag_error(c->d, &l, "invalid YAML: %s", ps->problem ? ps->problem : "error");
	}
}

static int next_event(struct composer *c, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&c->parser, ev)) {
		syntax_error(c);
		return -EINVAL;
	}
	return 0;
}

static int push_kid(struct composer *c, struct ynode *kid)
{
	if (c->n_stack == c->cap_stack) {
		size_t cap = c->cap_stack ? c->cap_stack * 2 : 256;
		struct ynode **v = realloc(c->stack, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		c->stack = v;
		c->cap_stack = cap;
	}
	c->stack[c->n_stack++] = kid;
	return 0;
}

/* n's children: those pushed since base, into an array of its own. */
static int pop_kids(struct composer *c, struct ynode *n, size_t base)
{
	size_t k = c->n_stack - base;

	c->n_stack = base;
	if (!k)
		return 0;
	n->kids = arena_alloc(c->arena, k * sizeof(*n->kids));
	if (!n->kids)
		return -ENOMEM;
	memcpy(n->kids, c->stack + base, k * sizeof(*n->kids));
	n->n = k;
	return 0;
}

/*
 * A tag changes what a value is (`!!binary` turns base64 text into bytes, `!!float` a port
 * into a number with a fraction), and tlsfw would read the text as if it were not there: only
 * the tags that change nothing are taken, and the non-specific `!`.
 */
static void check_tag(struct composer *c, struct ynode *n, const yaml_char_t *tag)
{
	static const char *const fine[3][2] = {
		[Y_SCALAR] = { STD_TAG "str", STD_TAG "int" },
		[Y_SEQ] = { STD_TAG "seq", NULL },
		[Y_MAP] = { STD_TAG "map", NULL },
	};
	const char *t = (const char *)tag;

	if (!t || !strcmp(t, "!"))
		return;
	for (int i = 0; i < 2; i++)
		if (fine[n->type][i] && !strcmp(t, fine[n->type][i]))
			return;
	if (!strncmp(t, STD_TAG, strlen(STD_TAG)))
		diag_error(
			c->d, &n->loc,
			"YAML tag '!!%s' is not supported in policies: remove it and write the value as text",
			t + strlen(STD_TAG));
	else
		diag_error(
			c->d, &n->loc,
			"YAML tag '%s' is not supported in policies: remove it and write the value as text",
			t);
	n->diagnosed = 1;
}

static int compose(struct composer *c, yaml_event_t *ev, struct ynode **out, int depth);

/* The children of a sequence or mapping n, up to its end event (those composed before an
 * error too). */
static int compose_kids(struct composer *c, struct ynode *n, yaml_event_type_t end, int depth)
{
	size_t base = c->n_stack;
	int err;

	for (;;) {
		yaml_event_t kid_ev;
		struct ynode *kid;

		err = next_event(c, &kid_ev);
		if (err)
			break;
		if (kid_ev.type == end) {
			yaml_event_delete(&kid_ev);
			break;
		}
		err = compose(c, &kid_ev, &kid, depth + 1);
		if (!err)
			err = push_kid(c, kid);
		if (err)
			break;
	}
	if (pop_kids(c, n, base))
		return -ENOMEM;
	return err;
}

/* Build the node that starts with ev (consumed); its children are read from the parser. */
static int compose(struct composer *c, yaml_event_t *ev, struct ynode **out, int depth)
{
	size_t text = ev->type == YAML_SCALAR_EVENT ? ev->data.scalar.length + 1 : 0;
	struct ynode *n = arena_alloc(c->arena, sizeof(*n) + text);
	int err = 0;

	*out = n;
	if (!n) {
		yaml_event_delete(ev);
		return -ENOMEM;
	}
	memset(n, 0, sizeof(*n));
	n->loc = mark_loc(c, ev->start_mark, ev->end_mark);
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		n->type = Y_SCALAR;
		n->len = ev->data.scalar.length;
		n->val = (char *)(n + 1);
		memcpy(n->val, ev->data.scalar.value, n->len);
		n->val[n->len] = '\0';
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		check_tag(c, n, ev->data.scalar.tag);
		break;
	case YAML_ALIAS_EVENT:
		/* they would let a few bytes of YAML expand into gigabytes of rules */
		diag_error(c->d, &n->loc,
			   "YAML aliases are not supported in policies: write the value out");
		n->type = Y_SCALAR;
		n->val = arena_alloc(c->arena, 1);
		n->diagnosed = 1;
		if (n->val)
			n->val[0] = '\0';
		else
			err = -ENOMEM;
		break;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		n->type = ev->type == YAML_SEQUENCE_START_EVENT ? Y_SEQ : Y_MAP;
		n->loc.len = 1;
		check_tag(c, n,
			  n->type == Y_SEQ ? ev->data.sequence_start.tag :
					     ev->data.mapping_start.tag);
		if (depth >= MAX_DEPTH) {
			diag_error(c->d, &n->loc,
				   "the policy nests too deeply (more than %d levels)", MAX_DEPTH);
			err = -EINVAL;
			break;
		}
		yaml_event_delete(ev);
		return compose_kids(
			c, n, n->type == Y_SEQ ? YAML_SEQUENCE_END_EVENT : YAML_MAPPING_END_EVENT,
			depth);
	default:
		diag_error(c->d, &n->loc, "unexpected YAML event");
		err = -EINVAL;
	}
	yaml_event_delete(ev);
	return err;
}

/* The whole stream: exactly one document. */
static int load(struct composer *c, struct ynode **root)
{
	yaml_event_t ev;
	int err, docs = 0;

	*root = NULL;
	for (;;) {
		struct ynode *extra;

		err = next_event(c, &ev);
		if (err)
			return err;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			yaml_event_delete(&ev);
			return 0;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs == 2) {
				struct loc l = mark_loc(c, ev.start_mark, ev.end_mark);

				diag_error(c->d, &l,
					   "a policy is one YAML document; remove the second one");
			}
			yaml_event_delete(&ev);
			break;
		case YAML_SCALAR_EVENT:
		case YAML_ALIAS_EVENT:
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			err = compose(c, &ev, docs > 1 ? &extra : root, 0);
			if (err)
				return err;
			break;
		default:
			yaml_event_delete(&ev);
			break;
		}
	}
}

int ytree_load(struct ytree *t, const char *file, const char *buf, size_t len, struct diag *d)
{
	struct composer c = { .d = d, .file = file, .buf = buf, .len = len };
	int err;

	memset(t, 0, sizeof(*t));
	t->arena = calloc(1, sizeof(*t->arena));
	if (!t->arena)
		return -ENOMEM;
	c.arena = t->arena;
	if (!yaml_parser_initialize(&c.parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&c.parser, (const unsigned char *)buf, len);
	err = load(&c, &t->root);
	yaml_parser_delete(&c.parser);
	free(c.stack);
	return err;
}

int ynode_is_null(const struct ynode *n)
{
	/* by length first: every value of a policy is asked */
	return n->type == Y_SCALAR && n->plain &&
	       (!n->len || (n->len == 1 && n->val[0] == '~') ||
		(n->len == 4 &&
		 (!strcmp(n->val, "null") || !strcmp(n->val, "Null") || !strcmp(n->val, "NULL"))));
}
