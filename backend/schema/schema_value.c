/*
 * schema_value.c — instance values as JSON Schema sees them.
 *
 * The document model keeps YAML's view (typed scalars, keys that are nodes);
 * JSON Schema wants JSON's: numbers equal by value whatever their spelling
 * (1 == 1.0), object members named by the key's text, and messages that show
 * values as JSON. Everything here is pure.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "backend/schema/schema_internal.h"

/* Longest string shown in a message before it is cut with "...". */
#define RENDER_MAX_CHARS 64u
/* Relative tolerance of multipleOf on non-integers, in units of DBL_EPSILON. */
#define MULTIPLE_OF_ULPS 16.0

#define HASH_PRIME UINT64_C(1099511628211)
#define HASH_SEED UINT64_C(14695981039346656037)

bool schema_is_number(const struct cfgfs_node *n)
{
	return n->kind == CFGFS_NODE_SCALAR &&
	       (n->scalar.type == CFGFS_SCALAR_INT || n->scalar.type == CFGFS_SCALAR_FLOAT);
}

bool schema_is_integer(const struct cfgfs_node *n)
{
	if (n->kind != CFGFS_NODE_SCALAR)
		return false;
	if (n->scalar.type == CFGFS_SCALAR_INT)
		return true;
	return n->scalar.type == CFGFS_SCALAR_FLOAT && isfinite(n->scalar.number) &&
	       floor(n->scalar.number) == n->scalar.number;
}

bool schema_is_string(const struct cfgfs_node *n)
{
	return n->kind == CFGFS_NODE_SCALAR && n->scalar.type == CFGFS_SCALAR_STRING;
}

static bool exact_int(const struct cfgfs_node *n)
{
	return n->scalar.type == CFGFS_SCALAR_INT && n->scalar.int_exact;
}

int schema_number_cmp(const struct cfgfs_node *a, const struct cfgfs_node *b)
{
	if (exact_int(a) && exact_int(b))
		return (a->scalar.integer > b->scalar.integer) -
		       (a->scalar.integer < b->scalar.integer);
	return (a->scalar.number > b->scalar.number) - (a->scalar.number < b->scalar.number);
}

bool schema_number_multiple_of(const struct cfgfs_node *x, const struct cfgfs_node *m)
{
	double q, r;

	if (exact_int(x) && exact_int(m) && m->scalar.integer != 0) {
		if (m->scalar.integer == -1)
			return true; /* LLONG_MIN % -1 overflows */
		return x->scalar.integer % m->scalar.integer == 0;
	}
	q = x->scalar.number / m->scalar.number;
	if (!isfinite(q))
		return false;
	r = fabs(q - nearbyint(q));
	return r <= MULTIPLE_OF_ULPS * DBL_EPSILON * fmax(1.0, fabs(q));
}

size_t schema_utf8_length(const char *s, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			n++;
	return n;
}

static bool key_equal(const struct cfgfs_node *a, const struct cfgfs_node *b)
{
	if (a->kind == CFGFS_NODE_SCALAR && b->kind == CFGFS_NODE_SCALAR)
		return a->scalar.len == b->scalar.len &&
		       memcmp(a->scalar.text, b->scalar.text, a->scalar.len) == 0;
	return schema_value_equal(a, b);
}

static bool scalar_equal(const struct cfgfs_scalar *a, const struct cfgfs_scalar *b)
{
	bool an = a->type == CFGFS_SCALAR_INT || a->type == CFGFS_SCALAR_FLOAT;
	bool bn = b->type == CFGFS_SCALAR_INT || b->type == CFGFS_SCALAR_FLOAT;

	if (an && bn) {
		if (a->type == CFGFS_SCALAR_INT && b->type == CFGFS_SCALAR_INT && a->int_exact &&
		    b->int_exact)
			return a->integer == b->integer;
		return a->number == b->number;
	}
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case CFGFS_SCALAR_NULL:
		return true;
	case CFGFS_SCALAR_BOOL:
		return a->boolean == b->boolean;
	default:
		return a->len == b->len && memcmp(a->text, b->text, a->len) == 0;
	}
}

/* Recursion is bounded by the depth limit the parser enforced. */
bool schema_value_equal(const struct cfgfs_node *a, const struct cfgfs_node *b)
{
	size_t i, j;

	if (a == b)
		return true;
	if (a->kind != b->kind)
		return false;
	switch (a->kind) {
	case CFGFS_NODE_SCALAR:
		return scalar_equal(&a->scalar, &b->scalar);
	case CFGFS_NODE_SEQUENCE:
		if (a->sequence.count != b->sequence.count)
			return false;
		for (i = 0; i < a->sequence.count; i++)
			if (!schema_value_equal(a->sequence.items[i], b->sequence.items[i]))
				return false;
		return true;
	default:
		if (a->mapping.count != b->mapping.count)
			return false;
		for (i = 0; i < a->mapping.count; i++) {
			const struct cfgfs_pair *pa = &a->mapping.pairs[i];

			for (j = 0; j < b->mapping.count; j++)
				if (key_equal(pa->key, b->mapping.pairs[j].key))
					break;
			if (j == b->mapping.count ||
			    !schema_value_equal(pa->value, b->mapping.pairs[j].value))
				return false;
		}
		return true;
	}
}

static uint64_t hash_bytes(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= HASH_PRIME;
	}
	return h;
}

static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 33;
	return h;
}

static uint64_t key_hash(const struct cfgfs_node *k)
{
	if (k->kind == CFGFS_NODE_SCALAR)
		return hash_bytes(HASH_SEED, k->scalar.text, k->scalar.len);
	return schema_value_hash(k);
}

uint64_t schema_value_hash(const struct cfgfs_node *n)
{
	uint64_t h = HASH_SEED + (uint64_t)n->kind;
	size_t i;

	switch (n->kind) {
	case CFGFS_NODE_SCALAR:
		switch (n->scalar.type) {
		case CFGFS_SCALAR_INT:
		case CFGFS_SCALAR_FLOAT: {
			double d = n->scalar.number == 0.0 ? 0.0 : n->scalar.number;

			return hash_bytes(h + 7, &d, sizeof(d));
		}
		case CFGFS_SCALAR_BOOL:
			return h + 3 + (n->scalar.boolean ? 1 : 0);
		case CFGFS_SCALAR_NULL:
			return h + 5;
		default:
			return hash_bytes(h + 11, n->scalar.text, n->scalar.len);
		}
	case CFGFS_NODE_SEQUENCE:
		for (i = 0; i < n->sequence.count; i++)
			h = mix(h ^ schema_value_hash(n->sequence.items[i])) * HASH_PRIME;
		return h;
	default:
		/* Member order does not matter: combine commutatively. */
		for (i = 0; i < n->mapping.count; i++)
			h += mix(key_hash(n->mapping.pairs[i].key) * 31 +
			         schema_value_hash(n->mapping.pairs[i].value));
		return h;
	}
}

/* Appends S[0..LEN) JSON-quoted to DST, cut to RENDER_MAX_CHARS characters. */
static void render_string(char *dst, size_t cap, const char *s, size_t len)
{
	size_t o = 0, i, chars = 0;

	if (cap < 8) {
		if (cap > 0)
			dst[0] = '\0';
		return;
	}
	dst[o++] = '"';
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[8];
		size_t n;

		if ((c & 0xC0) != 0x80 && ++chars > RENDER_MAX_CHARS) {
			if (o + 5 <= cap) {
				memcpy(dst + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			n = 2;
		} else if (c == '\n') {
			memcpy(esc, "\\n", 2);
			n = 2;
		} else if (c == '\t') {
			memcpy(esc, "\\t", 2);
			n = 2;
		} else if (c < 0x20 || c == 0x7f) {
			n = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", c);
		} else {
			esc[0] = (char)c;
			n = 1;
		}
		/* Leave room for the closing quote, "..." and the NUL. */
		if (o + n + 5 > cap) {
			while (o > 1 && ((unsigned char)dst[o - 1] & 0xC0) == 0x80)
				o--;
			if (o > 1 && ((unsigned char)dst[o - 1] & 0x80) != 0)
				o--;
			if (o + 4 <= cap) {
				memcpy(dst + o, "...", 3);
				o += 3;
			}
			break;
		}
		memcpy(dst + o, esc, n);
		o += n;
	}
	dst[o++] = '"';
	dst[o] = '\0';
}

void schema_value_render(char *dst, size_t cap, const struct cfgfs_node *n)
{
	if (cap == 0)
		return;
	switch (n->kind) {
	case CFGFS_NODE_MAPPING:
		(void)snprintf(dst, cap, "an object");
		return;
	case CFGFS_NODE_SEQUENCE:
		(void)snprintf(dst, cap, "an array");
		return;
	default:
		break;
	}
	switch (n->scalar.type) {
	case CFGFS_SCALAR_NULL:
		(void)snprintf(dst, cap, "null");
		return;
	case CFGFS_SCALAR_BOOL:
		(void)snprintf(dst, cap, "%s", n->scalar.boolean ? "true" : "false");
		return;
	case CFGFS_SCALAR_INT:
	case CFGFS_SCALAR_FLOAT:
		(void)snprintf(dst, cap, "%.*s", (int)(n->scalar.len < RENDER_MAX_CHARS
		                                           ? n->scalar.len
		                                           : RENDER_MAX_CHARS),
		               n->scalar.text);
		return;
	default:
		render_string(dst, cap, n->scalar.text, n->scalar.len);
		return;
	}
}
