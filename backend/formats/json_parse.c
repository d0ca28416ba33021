/*
 * json_parse.c — JSON front end: our strict scanner, then cJSON, into the model.
 *
 * cJSON keeps no positions and is laxer than RFC 8259 (raw control characters
 * in strings, leading zeros, "+1", any byte <= 0x20 as whitespace), and it
 * records failures in a process-wide static. So a small strict scanner runs
 * first: it is the syntax judge, enforces the depth and node limits before
 * cJSON recurses, and records the position of every value and key in
 * document order. Only text it accepted reaches cJSON_ParseWithLengthOpts,
 * whose decoded values are then paired, in the same pre-order, with those
 * positions while duplicate keys are checked.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/formats/formats_internal.h"

/* cJSON 1.7.15 parses numbers through a 64-byte stack buffer. */
#define JSON_MAX_NUMBER_LEN 63u
#define JSON_BOM "\xEF\xBB\xBF"
#define JSON_BOM_LEN 3u
#define TOKS_MIN_CAP 64u
#define CHAR_DESC_MAX 24

struct jtok {
	unsigned line, col;
	size_t off, len; /* span of the token's text (numbers use it) */
	char kind;       /* '{', '[', '"', '0' (number), 't', 'f', 'n' */
};

struct jscan {
	const char *buf;
	size_t len;
	struct cfgfs_pos p;
	struct cfgfs_diag *d;
	unsigned max_depth;
	size_t max_nodes, nodes;
	struct jtok *toks;
	size_t ntoks, captoks;
};

static int peek(const struct jscan *s)
{
	return s->p.off < s->len ? (unsigned char)s->buf[s->p.off] : -1;
}

static void step(struct jscan *s)
{
	cfgfs_pos_step(&s->p, s->buf, s->len);
}

static void skip_ws(struct jscan *s)
{
	for (;;) {
		int c = peek(s);

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			return;
		step(s);
	}
}

/* Names the character at the scan position for a message. */
static void describe(char *out, size_t cap, const struct jscan *s)
{
	const unsigned char *b = (const unsigned char *)s->buf + s->p.off;
	int c = peek(s);
	size_t n = 1;

	if (c < 0) {
		(void)snprintf(out, cap, "end of input");
	} else if (c < 0x20 || c == 0x7f) {
		(void)snprintf(out, cap, "control character 0x%02x", (unsigned)c);
	} else if (c < 0x80) {
		(void)snprintf(out, cap, "'%c'", c);
	} else {
		/* Input is valid UTF-8 here: print the whole character. */
		while (s->p.off + n < s->len && (b[n] & 0xC0) == 0x80 && n < 4)
			n++;
		(void)snprintf(out, cap, "'%.*s'", (int)n, (const char *)b);
	}
}

static int fail_at(struct jscan *s, struct cfgfs_pos at, const char *what)
{
	return cfgfs_diag_set(s->d, CFGFS_REASON_SYNTAX, at.line, at.col, "%s", what);
}

static int fail_found(struct jscan *s, const char *expected)
{
	char found[CHAR_DESC_MAX];

	describe(found, sizeof(found), s);
	return cfgfs_diag_set(s->d, CFGFS_REASON_SYNTAX, s->p.line, s->p.col, "%s, found %s",
	                      expected, found);
}

/* Records a token starting at AT; its length is filled in by the caller. */
static int record(struct jscan *s, struct cfgfs_pos at, char kind, size_t *index)
{
	struct jtok *t;

	if (++s->nodes > s->max_nodes)
		return cfgfs_diag_set(s->d, CFGFS_REASON_LIMIT, at.line, at.col,
		                      "document has more than %zu nodes", s->max_nodes);
	if (s->ntoks == s->captoks) {
		size_t cap = s->captoks == 0 ? TOKS_MIN_CAP : s->captoks * 2;
		struct jtok *toks;

		if (cap > SIZE_MAX / sizeof(*toks))
			return -ENOMEM;
		toks = realloc(s->toks, cap * sizeof(*toks));
		if (toks == NULL)
			return -ENOMEM;
		s->toks = toks;
		s->captoks = cap;
	}
	t = &s->toks[s->ntoks];
	t->line = at.line;
	t->col = at.col;
	t->off = at.off;
	t->len = 0;
	t->kind = kind;
	*index = s->ntoks++;
	return 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Reads \uXXXX at the scan position (at the backslash); -1 when malformed. */
static long read_u_escape(struct jscan *s)
{
	long v = 0;
	int i;

	if (s->p.off + 6 > s->len || s->buf[s->p.off] != '\\' || s->buf[s->p.off + 1] != 'u')
		return -1;
	for (i = 0; i < 4; i++) {
		int h = hexval((unsigned char)s->buf[s->p.off + 2 + (size_t)i]);

		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	for (i = 0; i < 6; i++)
		step(s);
	return v;
}

static int scan_escape(struct jscan *s)
{
	struct cfgfs_pos at = s->p;
	long u, lo;
	int c;

	if (s->p.off + 1 >= s->len)
		return fail_at(s, at, "unterminated string");
	c = (unsigned char)s->buf[s->p.off + 1];
	if (strchr("\"\\/bfnrt", c) != NULL && c != '\0') {
		step(s);
		step(s);
		return 0;
	}
	if (c != 'u')
		return cfgfs_diag_set(s->d, CFGFS_REASON_SYNTAX, at.line, at.col,
		                      "invalid escape '\\%c' in string", c < 0x20 ? '?' : c);
	u = read_u_escape(s);
	if (u < 0)
		return fail_at(s, at, "invalid \\u escape in string");
	/* cJSON refuses unpaired surrogates, so the scanner must too. */
	if (u >= 0xDC00 && u <= 0xDFFF)
		return fail_at(s, at, "unpaired surrogate in \\u escape");
	if (u >= 0xD800 && u <= 0xDBFF) {
		lo = read_u_escape(s);
		if (lo < 0xDC00 || lo > 0xDFFF)
			return fail_at(s, at, "unpaired surrogate in \\u escape");
	}
	return 0;
}

static int scan_string(struct jscan *s, char kind)
{
	struct cfgfs_pos start = s->p;
	size_t index;
	int rc;

	rc = record(s, start, kind, &index);
	if (rc != 0)
		return rc;
	step(s); /* opening quote */
	for (;;) {
		int c = peek(s);

		if (c < 0)
			return fail_at(s, start, "unterminated string");
		if (c == '"')
			break;
		if (c < 0x20) {
			return cfgfs_diag_set(s->d, CFGFS_REASON_SYNTAX, s->p.line, s->p.col,
			                      "control character 0x%02x in string", (unsigned)c);
		}
		if (c == '\\') {
			rc = scan_escape(s);
			if (rc != 0)
				return rc;
			continue;
		}
		step(s);
	}
	step(s); /* closing quote */
	s->toks[index].len = s->p.off - start.off;
	return 0;
}

static size_t digits_at(const struct jscan *s, size_t off)
{
	size_t n = 0;

	while (off + n < s->len && s->buf[off + n] >= '0' && s->buf[off + n] <= '9')
		n++;
	return n;
}

/* -? (0 | [1-9][0-9]*) (\.[0-9]+)? ([eE][-+]?[0-9]+)? */
static int scan_number(struct jscan *s)
{
	struct cfgfs_pos start = s->p;
	size_t off = s->p.off, n, index;
	int rc;

	if (s->buf[off] == '-')
		off++;
	n = digits_at(s, off);
	if (n == 0 || (n > 1 && s->buf[off] == '0'))
		return fail_at(s, start, "invalid number");
	off += n;
	if (off < s->len && s->buf[off] == '.') {
		n = digits_at(s, off + 1);
		if (n == 0)
			return fail_at(s, start, "invalid number");
		off += 1 + n;
	}
	if (off < s->len && (s->buf[off] == 'e' || s->buf[off] == 'E')) {
		off++;
		if (off < s->len && (s->buf[off] == '+' || s->buf[off] == '-'))
			off++;
		n = digits_at(s, off);
		if (n == 0)
			return fail_at(s, start, "invalid number");
		off += n;
	}
	if (off - start.off > JSON_MAX_NUMBER_LEN)
		return cfgfs_diag_set(s->d, CFGFS_REASON_LIMIT, start.line, start.col,
		                      "number longer than %u characters", JSON_MAX_NUMBER_LEN);
	rc = record(s, start, '0', &index);
	if (rc != 0)
		return rc;
	s->toks[index].len = off - start.off;
	while (s->p.off < off)
		step(s);
	return 0;
}

static int scan_literal(struct jscan *s, const char *word)
{
	struct cfgfs_pos start = s->p;
	size_t n = strlen(word), index, i;
	int rc;

	if (s->len - s->p.off < n || memcmp(s->buf + s->p.off, word, n) != 0) {
		char msg[CHAR_DESC_MAX + 16];

		(void)snprintf(msg, sizeof(msg), "invalid literal (expected %s)", word);
		return fail_at(s, start, msg);
	}
	rc = record(s, start, word[0], &index);
	if (rc != 0)
		return rc;
	s->toks[index].len = n;
	for (i = 0; i < n; i++)
		step(s);
	return 0;
}

static int scan_value(struct jscan *s, unsigned depth);

static int scan_object(struct jscan *s, unsigned depth)
{
	const char *expect_key = "expected a string key or '}'";
	size_t index;
	int rc;

	rc = record(s, s->p, '{', &index);
	if (rc != 0)
		return rc;
	step(s);
	skip_ws(s);
	if (peek(s) == '}') {
		step(s);
		return 0;
	}
	for (;;) {
		if (peek(s) != '"')
			return fail_found(s, expect_key);
		rc = scan_string(s, '"');
		if (rc != 0)
			return rc;
		skip_ws(s);
		if (peek(s) != ':')
			return fail_found(s, "expected ':' after object key");
		step(s);
		rc = scan_value(s, depth);
		if (rc != 0)
			return rc;
		skip_ws(s);
		if (peek(s) == '}') {
			step(s);
			return 0;
		}
		if (peek(s) != ',')
			return fail_found(s, "expected ',' or '}' after object member");
		step(s);
		skip_ws(s);
		expect_key = "expected a string key";
	}
}

static int scan_array(struct jscan *s, unsigned depth)
{
	size_t index;
	int rc;

	rc = record(s, s->p, '[', &index);
	if (rc != 0)
		return rc;
	step(s);
	skip_ws(s);
	if (peek(s) == ']') {
		step(s);
		return 0;
	}
	for (;;) {
		rc = scan_value(s, depth);
		if (rc != 0)
			return rc;
		skip_ws(s);
		if (peek(s) == ']') {
			step(s);
			return 0;
		}
		if (peek(s) != ',')
			return fail_found(s, "expected ',' or ']' after array element");
		step(s);
	}
}

/* DEPTH is the number of collections around this value. */
static int scan_value(struct jscan *s, unsigned depth)
{
	int c;

	skip_ws(s);
	c = peek(s);
	if (c == '{' || c == '[') {
		if (depth + 1 > s->max_depth)
			return cfgfs_diag_set(s->d, CFGFS_REASON_LIMIT, s->p.line, s->p.col,
			                      "nesting deeper than %u levels", s->max_depth);
		return c == '{' ? scan_object(s, depth + 1) : scan_array(s, depth + 1);
	}
	if (c == '"')
		return scan_string(s, '"');
	if (c == '-' || (c >= '0' && c <= '9'))
		return scan_number(s);
	if (c == 't')
		return scan_literal(s, "true");
	if (c == 'f')
		return scan_literal(s, "false");
	if (c == 'n')
		return scan_literal(s, "null");
	return fail_found(s, "expected a JSON value");
}

static int scan_document(struct jscan *s)
{
	int rc;

	skip_ws(s);
	if (peek(s) < 0)
		return fail_at(s, s->p, "empty JSON document");
	rc = scan_value(s, 0);
	if (rc != 0)
		return rc;
	skip_ws(s);
	if (peek(s) >= 0)
		return fail_found(s, "trailing data after the JSON value");
	return 0;
}

/* ---- pairing cJSON's values with the scanner's positions ---- */

struct jbuild {
	struct cfgfs_doc *doc;
	struct cfgfs_diag *d;
	const char *buf; /* original text, for number spans */
	const struct jtok *toks;
	size_t ntoks, next;
	uint64_t seed;
};

static int disagree(struct jbuild *b, const struct jtok *t)
{
	/* Means a bug here, not bad input: the scanner accepted what cJSON did not. */
	return cfgfs_diag_set(b->d, CFGFS_REASON_SYNTAX, t != NULL ? t->line : 1,
	                      t != NULL ? t->col : 1, "JSON parser disagreement (internal error)");
}

static bool kind_matches(char kind, int type)
{
	switch (type & 0xFF) {
	case cJSON_False:
		return kind == 'f';
	case cJSON_True:
		return kind == 't';
	case cJSON_NULL:
		return kind == 'n';
	case cJSON_Number:
		return kind == '0';
	case cJSON_String:
		return kind == '"';
	case cJSON_Array:
		return kind == '[';
	case cJSON_Object:
		return kind == '{';
	default:
		return false;
	}
}

/* Takes the next token, which must match cJSON's TYPE, as a new node. */
static int take(struct cfgfs_node **out, const struct jtok **tok, struct jbuild *b, int type)
{
	const struct jtok *t;
	struct cfgfs_node *n;

	*out = NULL;
	*tok = NULL;
	if (b->next >= b->ntoks)
		return disagree(b, NULL);
	t = &b->toks[b->next++];
	*tok = t;
	if (!kind_matches(t->kind, type))
		return disagree(b, t);
	n = cfgfs_arena_alloc(b->doc->arena, sizeof(*n));
	if (n == NULL)
		return -ENOMEM;
	n->line = t->line;
	n->col = t->col;
	*out = n;
	return 0;
}

static int set_text(struct jbuild *b, struct cfgfs_node *n, const char *text, size_t len)
{
	n->kind = CFGFS_NODE_SCALAR;
	n->scalar.text = cfgfs_arena_strndup(b->doc->arena, text, len);
	if (n->scalar.text == NULL)
		return -ENOMEM;
	n->scalar.len = len;
	return 0;
}

static int set_number(struct jbuild *b, struct cfgfs_node *n, const cJSON *item,
                      const struct jtok *t)
{
	const char *raw = b->buf + t->off;
	int rc = set_text(b, n, raw, t->len);

	if (rc != 0)
		return rc;
	n->scalar.number = item->valuedouble;
	if (strpbrk(n->scalar.text, ".eE") != NULL) {
		n->scalar.type = CFGFS_SCALAR_FLOAT;
		return 0;
	}
	n->scalar.type = CFGFS_SCALAR_INT;
	errno = 0;
	n->scalar.integer = strtoll(n->scalar.text, NULL, 10);
	n->scalar.int_exact = errno != ERANGE;
	return 0;
}

static int build_value(struct jbuild *b, const cJSON *item, const struct cfgfs_node **out);

static int build_object(struct jbuild *b, struct cfgfs_node *n, const cJSON *item)
{
	struct cfgfs_keyset keys;
	struct cfgfs_pair *pairs = NULL;
	const cJSON *child;
	size_t count = 0, i = 0;
	int rc = 0;

	cfgfs_keyset_init(&keys, b->seed);
	n->kind = CFGFS_NODE_MAPPING;
	cJSON_ArrayForEach(child, item) count++;
	if (count > 0) {
		pairs = cfgfs_arena_alloc(b->doc->arena, count * sizeof(*pairs));
		if (pairs == NULL) {
			rc = -ENOMEM;
			goto cleanup;
		}
	}
	cJSON_ArrayForEach(child, item)
	{
		const struct jtok *t;
		struct cfgfs_node *key;
		void **slot;

		rc = take(&key, &t, b, cJSON_String);
		if (rc != 0)
			goto cleanup;
		if (child->string == NULL) {
			rc = disagree(b, t);
			goto cleanup;
		}
		rc = set_text(b, key, child->string, strlen(child->string));
		if (rc != 0)
			goto cleanup;
		key->scalar.type = CFGFS_SCALAR_STRING;
		rc = cfgfs_keyset_slot(&slot, &keys, cfgfs_doc_key_hash(key), key,
		                       cfgfs_doc_key_equal);
		if (rc != 0)
			goto cleanup;
		if (*slot != NULL) {
			const struct cfgfs_node *first = *slot;
			char quoted[CFGFS_DIAG_MESSAGE_MAX / 2];

			cfgfs_doc_quote(quoted, sizeof(quoted), key->scalar.text, key->scalar.len);
			rc = cfgfs_diag_set(b->d, CFGFS_REASON_DUPLICATE, key->line, key->col,
			                    "duplicate key %s (first at line %u)", quoted,
			                    first->line);
			goto cleanup;
		}
		*slot = key;
		pairs[i].key = key;
		rc = build_value(b, child, &pairs[i].value);
		if (rc != 0)
			goto cleanup;
		i++;
	}
	n->mapping.pairs = pairs;
	n->mapping.count = count;

cleanup:
	cfgfs_keyset_fini(&keys);
	return rc;
}

static int build_array(struct jbuild *b, struct cfgfs_node *n, const cJSON *item)
{
	const struct cfgfs_node **items = NULL;
	const cJSON *child;
	size_t count = 0, i = 0;
	int rc;

	n->kind = CFGFS_NODE_SEQUENCE;
	cJSON_ArrayForEach(child, item) count++;
	if (count == 0)
		return 0;
	items = cfgfs_arena_alloc(b->doc->arena, count * sizeof(*items));
	if (items == NULL)
		return -ENOMEM;
	cJSON_ArrayForEach(child, item)
	{
		rc = build_value(b, child, &items[i++]);
		if (rc != 0)
			return rc;
	}
	n->sequence.items = items;
	n->sequence.count = count;
	return 0;
}

/* Recursion is bounded: the scanner already refused nesting over max_depth. */
static int build_value(struct jbuild *b, const cJSON *item, const struct cfgfs_node **out)
{
	const struct jtok *t;
	struct cfgfs_node *n;
	int rc;

	rc = take(&n, &t, b, item->type);
	if (rc != 0)
		return rc;
	switch (item->type & 0xFF) {
	case cJSON_False:
	case cJSON_True:
		rc = set_text(b, n, t->kind == 't' ? "true" : "false", t->len);
		n->scalar.type = CFGFS_SCALAR_BOOL;
		n->scalar.boolean = t->kind == 't';
		break;
	case cJSON_NULL:
		rc = set_text(b, n, "null", t->len);
		n->scalar.type = CFGFS_SCALAR_NULL;
		break;
	case cJSON_Number:
		rc = set_number(b, n, item, t);
		break;
	case cJSON_String:
		rc = set_text(b, n, item->valuestring, strlen(item->valuestring));
		n->scalar.type = CFGFS_SCALAR_STRING;
		break;
	case cJSON_Array:
		rc = build_array(b, n, item);
		break;
	default:
		rc = build_object(b, n, item);
		break;
	}
	*out = n;
	return rc;
}

int cfgfs_json_parse(struct cfgfs_doc *doc, struct cfgfs_diag *d, const char *buf, size_t len,
                     const struct cfgfs_limits *lim)
{
	struct jscan s = {.buf = buf, .len = len, .p = CFGFS_POS_START, .d = d};
	struct jbuild b = {.doc = doc, .d = d, .buf = buf};
	const struct cfgfs_node **roots = NULL;
	cJSON *root = NULL;
	char *copy = NULL;
	const char *end = NULL;
	size_t start;
	int rc;

	/* A leading BOM is allowed (RFC 8259 §8.1) and takes no column. */
	if (len >= JSON_BOM_LEN && memcmp(buf, JSON_BOM, JSON_BOM_LEN) == 0)
		s.p.off = JSON_BOM_LEN;
	start = s.p.off;
	s.max_depth = lim->max_depth < CJSON_NESTING_LIMIT ? lim->max_depth : CJSON_NESTING_LIMIT;
	s.max_nodes = lim->max_nodes;
	rc = scan_document(&s);
	if (rc != 0)
		goto cleanup;

	/* cJSON wants the terminating NUL inside the length it is given. */
	rc = -ENOMEM;
	copy = malloc(len - start + 1);
	if (copy == NULL)
		goto cleanup;
	memcpy(copy, buf + start, len - start);
	copy[len - start] = '\0';
	root = cJSON_ParseWithLengthOpts(copy, len - start + 1, &end, 1);
	if (root == NULL) {
		/* Out of memory, or a scanner bug: say where cJSON stopped. */
		struct cfgfs_pos at =
		    cfgfs_pos_at(buf, len, start + (size_t)(end != NULL ? end - copy : 0));

		rc = cfgfs_diag_set(d, CFGFS_REASON_SYNTAX, at.line, at.col,
		                    "JSON parser disagreement (internal error)");
		goto cleanup;
	}

	b.toks = s.toks;
	b.ntoks = s.ntoks;
	b.seed = cfgfs_hash_bytes(CFGFS_HASH_INIT, &(uintptr_t){(uintptr_t)&b}, sizeof(uintptr_t));
	roots = cfgfs_arena_alloc(doc->arena, sizeof(*roots));
	if (roots == NULL)
		goto cleanup;
	rc = build_value(&b, root, &roots[0]);
	if (rc != 0)
		goto cleanup;
	if (b.next != b.ntoks) {
		rc = disagree(&b, NULL);
		goto cleanup;
	}
	doc->roots = roots;
	doc->count = 1;

cleanup:
	cJSON_Delete(root);
	free(copy);
	free(s.toks);
	return rc;
}
