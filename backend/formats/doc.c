/*
 * doc.c — document model storage (arena), key identity and the YAML 1.2
 * core schema resolver shared by both front ends.
 */
#include "backend/formats/doc.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/formats/formats_internal.h"

#define ARENA_BLOCK_SIZE ((size_t)64 * 1024)
#define KEYSET_MIN_CAP 8u
#define QUOTE_ELLIPSIS "..."

struct arena_block {
	struct arena_block *next;
	size_t used, cap;
	alignas(max_align_t) unsigned char data[];
};

struct cfgfs_arena {
	struct arena_block *head;
};

struct cfgfs_arena *cfgfs_arena_new(void)
{
	return calloc(1, sizeof(struct cfgfs_arena));
}

static struct arena_block *arena_block_new(size_t cap)
{
	struct arena_block *b = malloc(sizeof(*b) + cap);

	if (b == NULL)
		return NULL;
	b->next = NULL;
	b->used = 0;
	b->cap = cap;
	return b;
}

void *cfgfs_arena_alloc(struct cfgfs_arena *arena, size_t size)
{
	const size_t align = alignof(max_align_t);
	struct arena_block *b = arena->head;
	size_t need = (size + align - 1) & ~(align - 1);
	void *p;

	if (need < size)
		return NULL;
	if (b == NULL || b->cap - b->used < need) {
		size_t cap = need > ARENA_BLOCK_SIZE ? need : ARENA_BLOCK_SIZE;

		b = arena_block_new(cap);
		if (b == NULL)
			return NULL;
		b->next = arena->head;
		arena->head = b;
	}
	p = b->data + b->used;
	b->used += need;
	memset(p, 0, size);
	return p;
}

char *cfgfs_arena_strndup(struct cfgfs_arena *arena, const char *s, size_t len)
{
	char *p;

	if (len == SIZE_MAX)
		return NULL;
	p = cfgfs_arena_alloc(arena, len + 1);
	if (p == NULL)
		return NULL;
	if (len > 0)
		memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

void cfgfs_arena_free(struct cfgfs_arena *arena)
{
	struct arena_block *b, *next;

	if (arena == NULL)
		return;
	for (b = arena->head; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	free(arena);
}

void cfgfs_doc_free(struct cfgfs_doc *doc)
{
	if (doc == NULL)
		return;
	cfgfs_arena_free(doc->arena);
	free(doc);
}

const struct cfgfs_node *cfgfs_doc_lookup(const struct cfgfs_node *mapping, const char *key)
{
	size_t i, klen;

	if (mapping == NULL || mapping->kind != CFGFS_NODE_MAPPING || key == NULL)
		return NULL;
	klen = strlen(key);
	for (i = 0; i < mapping->mapping.count; i++) {
		const struct cfgfs_node *k = mapping->mapping.pairs[i].key;

		if (k->kind == CFGFS_NODE_SCALAR && k->scalar.type == CFGFS_SCALAR_STRING &&
		    k->scalar.len == klen && memcmp(k->scalar.text, key, klen) == 0)
			return mapping->mapping.pairs[i].value;
	}
	return NULL;
}

const char *cfgfs_doc_scalar_type_name(enum cfgfs_scalar_type type)
{
	switch (type) {
	case CFGFS_SCALAR_NULL:
		return "null";
	case CFGFS_SCALAR_BOOL:
		return "bool";
	case CFGFS_SCALAR_INT:
		return "int";
	case CFGFS_SCALAR_FLOAT:
		return "float";
	case CFGFS_SCALAR_STRING:
		return "string";
	}
	return "unknown";
}

/* ---- key set ---- */

uint64_t cfgfs_hash_bytes(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= UINT64_C(1099511628211);
	}
	return h;
}

/* Final avalanche so that low bits used for the slot index depend on all. */
static uint64_t hash_mix(uint64_t h)
{
	h ^= h >> 33;
	h *= UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 33;
	return h;
}

void cfgfs_keyset_init(struct cfgfs_keyset *set, uint64_t seed)
{
	set->slots = NULL;
	set->cap = 0;
	set->count = 0;
	set->seed = seed;
}

void cfgfs_keyset_fini(struct cfgfs_keyset *set)
{
	free(set->slots);
	cfgfs_keyset_init(set, set->seed);
}

static struct cfgfs_keyset_slot *keyset_probe(struct cfgfs_keyset_slot *slots, size_t cap,
                                              uint64_t seed, uint64_t hash, const void *key,
                                              cfgfs_keyset_eq_fn eq)
{
	size_t mask = cap - 1;
	size_t i = (size_t)hash_mix(hash ^ seed) & mask;

	for (;;) {
		struct cfgfs_keyset_slot *s = &slots[i];

		if (s->key == NULL)
			return s;
		if (s->hash == hash && eq != NULL && eq(s->key, key))
			return s;
		i = (i + 1) & mask;
	}
}

static int keyset_grow(struct cfgfs_keyset *set)
{
	size_t cap = set->cap == 0 ? KEYSET_MIN_CAP : set->cap * 2;
	struct cfgfs_keyset_slot *slots;
	size_t i;

	if (cap < set->cap || cap > SIZE_MAX / sizeof(*slots))
		return -ENOMEM;
	slots = calloc(cap, sizeof(*slots));
	if (slots == NULL)
		return -ENOMEM;
	for (i = 0; i < set->cap; i++) {
		struct cfgfs_keyset_slot *old = &set->slots[i];

		if (old->key != NULL)
			*keyset_probe(slots, cap, set->seed, old->hash, old->key, NULL) = *old;
	}
	free(set->slots);
	set->slots = slots;
	set->cap = cap;
	return 0;
}

int cfgfs_keyset_slot(void ***out, struct cfgfs_keyset *set, uint64_t hash, const void *key,
                      cfgfs_keyset_eq_fn eq)
{
	struct cfgfs_keyset_slot *s;
	int rc;

	/* Keep the load at or under one half so probes stay short. */
	if ((set->count + 1) * 2 > set->cap) {
		rc = keyset_grow(set);
		if (rc != 0)
			return rc;
	}
	s = keyset_probe(set->slots, set->cap, set->seed, hash, key, eq);
	if (s->key == NULL) {
		s->key = key;
		s->hash = hash;
		s->value = NULL;
		set->count++;
	}
	*out = &s->value;
	return 0;
}

void **cfgfs_keyset_find(struct cfgfs_keyset *set, uint64_t hash, const void *key,
                         cfgfs_keyset_eq_fn eq)
{
	struct cfgfs_keyset_slot *s;

	if (set->cap == 0)
		return NULL;
	s = keyset_probe(set->slots, set->cap, set->seed, hash, key, eq);
	return s->key == NULL ? NULL : &s->value;
}

/* ---- key identity ---- */

uint64_t cfgfs_doc_key_hash(const struct cfgfs_node *key)
{
	const struct cfgfs_scalar *s = &key->scalar;
	uint64_t h = CFGFS_HASH_INIT;
	unsigned char type = (unsigned char)s->type;
	double num;

	h = cfgfs_hash_bytes(h, &type, 1);
	if (key->tag != NULL)
		h = cfgfs_hash_bytes(h, key->tag, strlen(key->tag));
	switch (s->type) {
	case CFGFS_SCALAR_NULL:
		break;
	case CFGFS_SCALAR_BOOL:
		h = cfgfs_hash_bytes(h, &s->boolean, sizeof(s->boolean));
		break;
	case CFGFS_SCALAR_INT:
		if (s->int_exact)
			h = cfgfs_hash_bytes(h, &s->integer, sizeof(s->integer));
		else
			h = cfgfs_hash_bytes(h, s->text, s->len);
		break;
	case CFGFS_SCALAR_FLOAT:
		num = s->number == 0.0 ? 0.0 : s->number; /* -0.0 == 0.0 */
		if (!isnan(num))
			h = cfgfs_hash_bytes(h, &num, sizeof(num));
		break;
	case CFGFS_SCALAR_STRING:
		h = cfgfs_hash_bytes(h, s->text, s->len);
		break;
	}
	return h;
}

bool cfgfs_doc_key_equal(const void *va, const void *vb)
{
	const struct cfgfs_node *a = va, *b = vb;
	const struct cfgfs_scalar *x = &a->scalar, *y = &b->scalar;

	if (x->type != y->type)
		return false;
	if ((a->tag == NULL) != (b->tag == NULL))
		return false;
	if (a->tag != NULL && strcmp(a->tag, b->tag) != 0)
		return false;
	switch (x->type) {
	case CFGFS_SCALAR_NULL:
		return true;
	case CFGFS_SCALAR_BOOL:
		return x->boolean == y->boolean;
	case CFGFS_SCALAR_INT:
		if (x->int_exact != y->int_exact)
			return false;
		if (x->int_exact)
			return x->integer == y->integer;
		break;
	case CFGFS_SCALAR_FLOAT:
		return x->number == y->number;
	case CFGFS_SCALAR_STRING:
		break;
	}
	return x->len == y->len && memcmp(x->text, y->text, x->len) == 0;
}

/* ---- YAML 1.2 core schema ---- */

static bool is_one_of(const char *s, const char *const *set)
{
	for (; *set != NULL; set++)
		if (strcmp(s, *set) == 0)
			return true;
	return false;
}

static bool all_digits(const char *s, int base)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		bool ok = base == 8    ? (*s >= '0' && *s <= '7')
		          : base == 16 ? (*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') ||
		                             (*s >= 'A' && *s <= 'F')
		                       : (*s >= '0' && *s <= '9');
		if (!ok)
			return false;
	}
	return true;
}

static size_t span_digits(const char *s)
{
	size_t n = 0;

	while (s[n] >= '0' && s[n] <= '9')
		n++;
	return n;
}

/* [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )? */
static bool is_core_float(const char *s)
{
	size_t n;

	if (*s == '-' || *s == '+')
		s++;
	if (*s == '.') {
		n = span_digits(s + 1);
		if (n == 0)
			return false;
		s += 1 + n;
	} else {
		n = span_digits(s);
		if (n == 0)
			return false;
		s += n;
		if (*s == '.')
			s += 1 + span_digits(s + 1);
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '-' || *s == '+')
			s++;
		n = span_digits(s);
		if (n == 0)
			return false;
		s += n;
	}
	return *s == '\0';
}

static void set_int(struct cfgfs_scalar *s, const char *digits, int base, bool negative)
{
	unsigned long long v;
	char *end;

	s->type = CFGFS_SCALAR_INT;
	errno = 0;
	v = strtoull(digits, &end, base);
	if (errno == ERANGE || *end != '\0') {
		s->int_exact = false;
		s->number = base == 10 ? strtod(s->text, NULL) : (negative ? -HUGE_VAL : HUGE_VAL);
		return;
	}
	if (!negative && v <= (unsigned long long)LLONG_MAX) {
		s->int_exact = true;
		s->integer = (long long)v;
	} else if (negative && v <= (unsigned long long)LLONG_MAX + 1ull) {
		s->int_exact = true;
		s->integer = v == (unsigned long long)LLONG_MAX + 1ull ? LLONG_MIN : -(long long)v;
	} else {
		s->int_exact = false;
	}
	s->number = negative ? -(double)v : (double)v;
}

void cfgfs_doc_resolve_core(struct cfgfs_scalar *s)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
	static const char *const trues[] = {"true", "True", "TRUE", NULL};
	static const char *const falses[] = {"false", "False", "FALSE", NULL};
	static const char *const infs[] = {".inf", ".Inf", ".INF", NULL};
	static const char *const nans[] = {".nan", ".NaN", ".NAN", NULL};
	const char *t = s->text;
	const char *u;
	bool negative = false;

	s->type = CFGFS_SCALAR_STRING;
	if (strlen(t) != s->len)
		return; /* embedded NUL: only ever a string */
	if (is_one_of(t, nulls)) {
		s->type = CFGFS_SCALAR_NULL;
		return;
	}
	if (is_one_of(t, trues) || is_one_of(t, falses)) {
		s->type = CFGFS_SCALAR_BOOL;
		s->boolean = t[0] == 't' || t[0] == 'T';
		return;
	}
	if (t[0] == '0' && t[1] == 'o' && all_digits(t + 2, 8)) {
		set_int(s, t + 2, 8, false);
		return;
	}
	if (t[0] == '0' && t[1] == 'x' && all_digits(t + 2, 16)) {
		set_int(s, t + 2, 16, false);
		return;
	}
	u = t;
	if (*u == '-' || *u == '+') {
		negative = *u == '-';
		u++;
	}
	if (all_digits(u, 10)) {
		set_int(s, u, 10, negative);
		return;
	}
	if (is_one_of(u, infs)) {
		s->type = CFGFS_SCALAR_FLOAT;
		s->number = negative ? -HUGE_VAL : HUGE_VAL;
		return;
	}
	if (is_one_of(t, nans)) {
		s->type = CFGFS_SCALAR_FLOAT;
		s->number = NAN;
		return;
	}
	if (is_core_float(t)) {
		s->type = CFGFS_SCALAR_FLOAT;
		s->number = strtod(t, NULL);
	}
}

/* ---- quoting for messages ---- */

void cfgfs_doc_quote(char *dst, size_t cap, const char *s, size_t len)
{
	const size_t reserve = sizeof(QUOTE_ELLIPSIS) + 2; /* ellipsis, quote, NUL */
	size_t o = 0, i;

	if (cap < reserve + 4) {
		if (cap > 0)
			dst[0] = '\0';
		return;
	}
	dst[o++] = '"';
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[8];
		size_t n;

		if (c == '"' || c == '\\')
			n = (size_t)snprintf(esc, sizeof(esc), "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			n = (size_t)snprintf(esc, sizeof(esc), "\\x%02x", c);
		else
			n = (size_t)snprintf(esc, sizeof(esc), "%c", c);
		if (o + n + reserve > cap) {
			/* Never cut a UTF-8 sequence in half. */
			while (o > 1 && ((unsigned char)dst[o - 1] & 0xC0) == 0x80)
				o--;
			if (o > 1 && ((unsigned char)dst[o - 1] & 0xC0) == 0xC0)
				o--;
			memcpy(dst + o, QUOTE_ELLIPSIS, sizeof(QUOTE_ELLIPSIS) - 1);
			o += sizeof(QUOTE_ELLIPSIS) - 1;
			break;
		}
		memcpy(dst + o, esc, n);
		o += n;
	}
	dst[o++] = '"';
	dst[o] = '\0';
}
