/*
 * schema_keywords.c — validating an instance against a compiled schema.
 *
 * check() applies one snode to one instance node and answers 0 (valid),
 * 1 (invalid) or a negative errno. It stops at the first failure. In "loud"
 * mode (v->out set) a failure also writes its diagnostic; branches whose
 * failure is expected (anyOf, oneOf, not, if, contains) run quiet and are
 * re-run loud only when their failure becomes the answer, so valid documents
 * never pay for message formatting.
 *
 * Order, chosen so the reported problem is the one a person fixes first:
 * $ref; type; enum and const; the instance kind's own keywords, with object
 * members walked in document order; then if/then/else and the combinators.
 *
 * The instance path lives on the C stack (struct ipath links to its parent)
 * and is only rendered when a message is written.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/schema/schema_internal.h"

/* PCRE2 backtracking budget per match, so a hostile pattern cannot hang a save. */
#define REGEX_MATCH_LIMIT 1000000u
#define REGEX_DEPTH_LIMIT 10000u
/* Values listed by an enum message before "...". */
#define ENUM_LIST_MAX 8u
#define VALUE_TEXT_MAX 96u
#define PATH_TEXT_MAX 256u
#define PATH_KEY_MAX 64u

struct ipath {
	const struct ipath *up;
	const char *key; /* NULL: an array index */
	size_t keylen;
	size_t index;
	unsigned depth; /* segments from the root */
};

struct vctx {
	const struct cfgfs_schema *s;
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	struct cfgfs_diag *out; /* NULL: quiet */
	unsigned err_depth;     /* path depth of the diagnostic in out */
	bool err_is_type;       /* that diagnostic is a "type" mismatch */
};

enum { VALID = 0, INVALID = 1 };

/* ---- messages ---- */

static bool plain_key(const char *k, size_t len)
{
	size_t i;

	if (len == 0 || (k[0] >= '0' && k[0] <= '9') || k[0] == '-')
		return false;
	for (i = 0; i < len; i++) {
		char c = k[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '$'))
			return false;
	}
	return true;
}

static size_t append(char *dst, size_t cap, size_t o, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static size_t append(char *dst, size_t cap, size_t o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o >= cap)
		return o;
	va_start(ap, fmt);
	n = vsnprintf(dst + o, cap - o, fmt, ap);
	va_end(ap);
	if (n < 0)
		return o;
	return (size_t)n >= cap - o ? cap - 1 : o + (size_t)n;
}

/* "$", then ".key", "['odd key']" or "[3]" per segment. Recursion: instance depth. */
static size_t render_path(char *dst, size_t cap, const struct ipath *p)
{
	size_t o, i;

	if (p == NULL)
		return append(dst, cap, 0, "$");
	o = render_path(dst, cap, p->up);
	if (p->key == NULL)
		return append(dst, cap, o, "[%zu]", p->index);
	if (plain_key(p->key, p->keylen))
		return append(dst, cap, o, ".%.*s", (int)p->keylen, p->key);
	o = append(dst, cap, o, "['");
	for (i = 0; i < p->keylen && i < PATH_KEY_MAX; i++) {
		char c = p->key[i];

		if (c == '\'' || c == '\\')
			o = append(dst, cap, o, "\\%c", c);
		else if ((unsigned char)c < 0x20)
			o = append(dst, cap, o, "\\u%04x", (unsigned)c);
		else
			o = append(dst, cap, o, "%c", c);
	}
	if (p->keylen > PATH_KEY_MAX)
		o = append(dst, cap, o, "...");
	return append(dst, cap, o, "']");
}

static int report(struct vctx *v, const struct cfgfs_node *at, const struct ipath *path,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int report(struct vctx *v, const struct cfgfs_node *at, const struct ipath *path,
                  const char *fmt, ...)
{
	char *msg;
	size_t cap, o;
	va_list ap;

	if (v->out == NULL)
		return INVALID;
	msg = v->out->message;
	cap = sizeof(v->out->message);
	o = render_path(msg, cap < PATH_TEXT_MAX ? cap : PATH_TEXT_MAX, path);
	o = append(msg, cap, o, ": ");
	if (o < cap) {
		va_start(ap, fmt);
		(void)vsnprintf(msg + o, cap - o, fmt, ap);
		va_end(ap);
	}
	v->out->line = at->line;
	v->out->col = at->col;
	v->out->reason = CFGFS_REASON_SCHEMA;
	v->err_depth = path != NULL ? path->depth : 0;
	v->err_is_type = false;
	return INVALID;
}

static void render(char *dst, size_t cap, const struct cfgfs_node *n)
{
	schema_value_render(dst, cap, n);
}

/* ---- evaluation ---- */

static int check(struct vctx *v, const struct snode *sn, const struct cfgfs_node *inst,
                 const struct ipath *path, unsigned depth);

/* Runs check() quietly: 0 or 1, or a negative errno. */
static int quiet(struct vctx *v, const struct snode *sn, const struct cfgfs_node *inst,
                 const struct ipath *path, unsigned depth)
{
	struct cfgfs_diag *saved = v->out;
	int rc;

	v->out = NULL;
	rc = check(v, sn, inst, path, depth);
	v->out = saved;
	return rc;
}

struct branch_err {
	unsigned depth; /* path depth of the failure */
	bool is_type;   /* a "type" mismatch */
};

/* Runs check() with its diagnostic going to D, described in *E. */
static int into(struct vctx *v, struct cfgfs_diag *d, struct branch_err *e, const struct snode *sn,
                const struct cfgfs_node *inst, const struct ipath *path, unsigned depth)
{
	struct cfgfs_diag *saved = v->out;
	unsigned saved_depth = v->err_depth;
	bool saved_type = v->err_is_type;
	int rc;

	v->out = d;
	v->err_depth = 0;
	v->err_is_type = false;
	rc = check(v, sn, inst, path, depth);
	e->depth = v->err_depth;
	e->is_type = v->err_is_type;
	v->out = saved;
	v->err_depth = saved_depth;
	v->err_is_type = saved_type;
	return rc;
}

static int regex_search(struct vctx *v, const struct sregex *re, const char *s, size_t len,
                        bool *matched)
{
	int rc = pcre2_match(re->code, (PCRE2_SPTR)s, len, 0, 0, v->md, v->mctx);

	*matched = rc >= 0;
	if (rc >= 0 || rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (rc == PCRE2_ERROR_NOMEMORY)
		return -ENOMEM;
	return -EINVAL; /* a resource limit: the caller reports it */
}

static bool type_matches(unsigned types, const struct cfgfs_node *n)
{
	if (n->kind == CFGFS_NODE_MAPPING)
		return types & TYPE_OBJECT;
	if (n->kind == CFGFS_NODE_SEQUENCE)
		return types & TYPE_ARRAY;
	switch (n->scalar.type) {
	case CFGFS_SCALAR_NULL:
		return types & TYPE_NULL;
	case CFGFS_SCALAR_BOOL:
		return types & TYPE_BOOLEAN;
	case CFGFS_SCALAR_STRING:
		return types & TYPE_STRING;
	default:
		return (types & TYPE_NUMBER) || ((types & TYPE_INTEGER) && schema_is_integer(n));
	}
}

static int fail_type(struct vctx *v, const struct snode *sn, const struct cfgfs_node *inst,
                     const struct ipath *path)
{
	const struct cfgfs_node *type = cfgfs_doc_lookup(sn->src, "type");
	char value[VALUE_TEXT_MAX], list[CFGFS_DIAG_MESSAGE_MAX / 2];
	size_t o = 0, i;

	if (v->out == NULL)
		return INVALID;
	/* Name the types as the schema lists them. */
	list[0] = '\0';
	if (type != NULL && type->kind == CFGFS_NODE_SEQUENCE) {
		for (i = 0; i < type->sequence.count; i++)
			o = append(list, sizeof(list), o, "%s\"%s\"", i == 0 ? "" : " or ",
			           type->sequence.items[i]->scalar.text);
	} else if (type != NULL) {
		o = append(list, sizeof(list), o, "\"%s\"", type->scalar.text);
	}
	render(value, sizeof(value), inst);
	(void)report(v, inst, path, "%s is not of type %s", value, list);
	v->err_is_type = true;
	return INVALID;
}

static int check_enum(struct vctx *v, const struct snode *sn, const struct cfgfs_node *inst,
                      const struct ipath *path)
{
	const struct cfgfs_node *e = sn->enum_values;
	char value[VALUE_TEXT_MAX], list[CFGFS_DIAG_MESSAGE_MAX / 2], one[VALUE_TEXT_MAX];
	size_t i, o = 0;

	for (i = 0; i < e->sequence.count; i++)
		if (schema_value_equal(inst, e->sequence.items[i]))
			return VALID;
	if (v->out == NULL)
		return INVALID;
	list[0] = '\0';
	for (i = 0; i < e->sequence.count && i < ENUM_LIST_MAX; i++) {
		render(one, sizeof(one), e->sequence.items[i]);
		o = append(list, sizeof(list), o, "%s%s", i == 0 ? "" : ", ", one);
	}
	if (e->sequence.count > ENUM_LIST_MAX)
		o = append(list, sizeof(list), o, ", ...");
	render(value, sizeof(value), inst);
	if (e->sequence.count == 0)
		return report(v, inst, path, "%s is not allowed (\"enum\" is empty)", value);
	return report(v, inst, path, "%s is not one of %s", value, list);
}

static int check_number(struct vctx *v, const struct snode *sn, const struct cfgfs_node *inst,
                        const struct ipath *path)
{
	char value[VALUE_TEXT_MAX], limit[VALUE_TEXT_MAX];
	const char *what = NULL;
	const struct cfgfs_node *bound = NULL;

	if (sn->minimum != NULL && schema_number_cmp(inst, sn->minimum) < 0) {
		bound = sn->minimum;
		what = "is less than the minimum of";
	} else if (sn->exclusive_minimum != NULL &&
	           schema_number_cmp(inst, sn->exclusive_minimum) <= 0) {
		bound = sn->exclusive_minimum;
		what = "is less than or equal to the exclusive minimum of";
	} else if (sn->maximum != NULL && schema_number_cmp(inst, sn->maximum) > 0) {
		bound = sn->maximum;
		what = "is greater than the maximum of";
	} else if (sn->exclusive_maximum != NULL &&
	           schema_number_cmp(inst, sn->exclusive_maximum) >= 0) {
		bound = sn->exclusive_maximum;
		what = "is greater than or equal to the exclusive maximum of";
	} else if (sn->multiple_of != NULL && !schema_number_multiple_of(inst, sn->multiple_of)) {
		bound = sn->multiple_of;
		what = "is not a multiple of";
	}
	if (bound == NULL)
		return VALID;
	if (v->out == NULL)
		return INVALID;
	render(value, sizeof(value), inst);
	render(limit, sizeof(limit), bound);
	return report(v, inst, path, "%s %s %s", value, what, limit);
}

static int check_pattern(struct vctx *v, const struct sregex *re, const struct cfgfs_node *inst,
                         const struct ipath *path)
{
	char value[VALUE_TEXT_MAX], pat[VALUE_TEXT_MAX];
	struct cfgfs_node source = {.kind = CFGFS_NODE_SCALAR};
	bool matched;
	int rc = regex_search(v, re, inst->scalar.text, inst->scalar.len, &matched);

	if (rc == -ENOMEM)
		return rc;
	if (matched)
		return VALID;
	if (v->out == NULL)
		return INVALID;
	source.scalar.type = CFGFS_SCALAR_STRING;
	source.scalar.text = re->source;
	source.scalar.len = strlen(re->source);
	render(value, sizeof(value), inst);
	render(pat, sizeof(pat), &source);
	if (rc != 0)
		return report(v, inst, path,
		              "%s could not be matched against the pattern %s within the limits",
		              value, pat);
	return report(v, inst, path, "%s does not match the pattern %s", value, pat);
}

static int check_string(struct vctx *v, const struct snode *sn, const struct cfgfs_node *inst,
                        const struct ipath *path)
{
	char value[VALUE_TEXT_MAX];
	int rc;

	if (sn->min_length > 0 || sn->has_max_length) {
		size_t n = schema_utf8_length(inst->scalar.text, inst->scalar.len);

		if (v->out != NULL)
			render(value, sizeof(value), inst);
		if (n < sn->min_length)
			return report(v, inst, path, "%s is shorter than %zu character%s", value,
			              sn->min_length, sn->min_length == 1 ? "" : "s");
		if (sn->has_max_length && n > sn->max_length)
			return report(v, inst, path, "%s is longer than %zu character%s", value,
			              sn->max_length, sn->max_length == 1 ? "" : "s");
	}
	if (sn->pattern.code != NULL) {
		rc = check_pattern(v, &sn->pattern, inst, path);
		if (rc != VALID)
			return rc;
	}
	if (sn->format != FORMAT_NONE &&
	    !schema_format_check(sn->format, inst->scalar.text, inst->scalar.len)) {
		if (v->out != NULL)
			render(value, sizeof(value), inst);
		return report(v, inst, path, "%s is not a valid \"%s\"", value, sn->format_name);
	}
	return VALID;
}

struct hashed {
	uint64_t hash;
	size_t index;
};

static int hashed_cmp(const void *a, const void *b)
{
	const struct hashed *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return (x->index > y->index) - (x->index < y->index);
}

/* Hash, sort, compare neighbours: O(n log n) instead of all pairs. */
static int check_unique(struct vctx *v, const struct cfgfs_node *inst, const struct ipath *path)
{
	size_t n = inst->sequence.count, i, j, first = 0, dup = 0;
	struct hashed *h;
	bool found = false;

	if (n < 2)
		return VALID;
	h = calloc(n, sizeof(*h));
	if (h == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		h[i] = (struct hashed){schema_value_hash(inst->sequence.items[i]), i};
	qsort(h, n, sizeof(*h), hashed_cmp);
	for (i = 0; i < n; i++) {
		for (j = i + 1; j < n && h[j].hash == h[i].hash; j++) {
			size_t a = h[i].index, b = h[j].index;

			if (!schema_value_equal(inst->sequence.items[a], inst->sequence.items[b]))
				continue;
			/* Report the pair whose later item comes first in the file. */
			if (!found || (a > b ? a : b) < dup) {
				first = a < b ? a : b;
				dup = a > b ? a : b;
			}
			found = true;
		}
	}
	free(h);
	if (!found)
		return VALID;
	return report(v, inst->sequence.items[dup], path,
	              "items %zu and %zu are equal, but items must be unique", first, dup);
}

static int check_array(struct vctx *v, const struct snode *sn, const struct cfgfs_node *inst,
                       const struct ipath *path, unsigned depth)
{
	size_t n = inst->sequence.count, i;
	int rc;

	if (n < sn->min_items)
		return report(v, inst, path, "array has %zu item%s, fewer than the minimum of %zu", n,
		              n == 1 ? "" : "s", sn->min_items);
	if (sn->has_max_items && n > sn->max_items)
		return report(v, inst, path, "array has %zu items, more than the maximum of %zu", n,
		              sn->max_items);
	for (i = 0; i < n; i++) {
		const struct snode *item = sn->items;
		struct ipath here = {.up = path, .index = i, .depth = path ? path->depth + 1 : 1};

		if (sn->items_is_array)
			item = i < sn->items_array.count ? sn->items_array.items[i]
			                                 : sn->additional_items;
		if (item == NULL)
			continue;
		if (item->is_bool && !item->bool_value && sn->items_is_array &&
		    i >= sn->items_array.count)
			return report(v, inst->sequence.items[i], &here,
			              "additional item is not allowed (\"items\" lists %zu)",
			              sn->items_array.count);
		rc = check(v, item, inst->sequence.items[i], &here, depth + 1);
		if (rc != VALID)
			return rc;
	}
	if (sn->unique_items) {
		rc = check_unique(v, inst, path);
		if (rc != VALID)
			return rc;
	}
	if (sn->contains != NULL) {
		for (i = 0; i < n; i++) {
			struct ipath here = {.up = path, .index = i, .depth = path ? path->depth + 1 : 1};

			rc = quiet(v, sn->contains, inst->sequence.items[i], &here, depth + 1);
			if (rc <= VALID)
				return rc;
		}
		return report(v, inst, path, "no item matches the \"contains\" schema");
	}
	return VALID;
}

static const struct snode *find_prop(const struct snode *sn, const char *name, size_t len)
{
	size_t lo = 0, hi = sn->nprops;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2, n;
		const struct sprop *p = &sn->props[mid];
		int r;

		n = p->len < len ? p->len : len;
		r = memcmp(p->name, name, n);
		if (r == 0)
			r = (p->len > len) - (p->len < len);
		if (r == 0)
			return p->schema;
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static bool has_key(const struct cfgfs_node *map, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < map->mapping.count; i++) {
		const struct cfgfs_node *k = map->mapping.pairs[i].key;

		if (k->kind == CFGFS_NODE_SCALAR && k->scalar.len == len &&
		    memcmp(k->scalar.text, name, len) == 0)
			return true;
	}
	return false;
}

/* A key seen as JSON sees it: always a string (YAML may have typed it). */
static struct cfgfs_node key_as_string(const struct cfgfs_node *key)
{
	struct cfgfs_node k = *key;

	if (k.kind == CFGFS_NODE_SCALAR) {
		k.scalar.type = CFGFS_SCALAR_STRING;
		k.tag = NULL;
	}
	return k;
}

static int check_property_name(struct vctx *v, const struct snode *sn,
                               const struct cfgfs_node *key, const struct ipath *path,
                               unsigned depth)
{
	struct cfgfs_node k = key_as_string(key);
	struct cfgfs_diag inner;
	char where[PATH_TEXT_MAX], name[VALUE_TEXT_MAX];
	const char *text;
	struct branch_err e;
	size_t wlen;
	int rc;

	rc = quiet(v, sn->property_names, &k, path, depth + 1);
	if (rc != INVALID || v->out == NULL)
		return rc;
	rc = into(v, &inner, &e, sn->property_names, &k, path, depth + 1);
	if (rc != INVALID)
		return rc < 0 ? rc : INVALID;
	/* Inner messages start with this object's path; say it is about a name. */
	wlen = render_path(where, sizeof(where), path);
	text = inner.message;
	if (strncmp(text, where, wlen) == 0 && strncmp(text + wlen, ": ", 2) == 0)
		text += wlen + 2;
	render(name, sizeof(name), &k);
	return report(v, key, path, "property name %s is invalid: %s", name, text);
}

static int check_member(struct vctx *v, const struct snode *sn, const struct cfgfs_pair *p,
                        const struct ipath *path, unsigned depth)
{
	const struct cfgfs_node *key = p->key;
	const char *name = key->kind == CFGFS_NODE_SCALAR ? key->scalar.text : "";
	size_t len = key->kind == CFGFS_NODE_SCALAR ? key->scalar.len : 0;
	struct ipath here = {.up = path, .key = name, .keylen = len,
	                     .depth = path ? path->depth + 1 : 1};
	const struct snode *prop;
	bool matched_any = false, matched;
	size_t i;
	int rc;

	if (sn->property_names != NULL) {
		rc = check_property_name(v, sn, key, path, depth);
		if (rc != VALID)
			return rc;
	}
	/* A YAML collection used as a key names no property: only "additional" fits. */
	prop = key->kind == CFGFS_NODE_SCALAR ? find_prop(sn, name, len) : NULL;
	if (prop != NULL) {
		matched_any = true;
		rc = check(v, prop, p->value, &here, depth + 1);
		if (rc != VALID)
			return rc;
	}
	for (i = 0; i < sn->npattern_props && key->kind == CFGFS_NODE_SCALAR; i++) {
		rc = regex_search(v, &sn->pattern_props[i].re, name, len, &matched);
		if (rc == -ENOMEM)
			return rc;
		if (rc != 0)
			return report(v, key, path, "property name could not be matched against "
			              "\"patternProperties\" within the matching limits");
		if (!matched)
			continue;
		matched_any = true;
		rc = check(v, sn->pattern_props[i].schema, p->value, &here, depth + 1);
		if (rc != VALID)
			return rc;
	}
	if (matched_any || sn->additional_props == NULL)
		return VALID;
	if (sn->additional_props->is_bool && !sn->additional_props->bool_value) {
		char quoted[VALUE_TEXT_MAX];
		struct cfgfs_node k = key_as_string(key);

		render(quoted, sizeof(quoted), &k);
		return report(v, key, path, "additional property %s is not allowed", quoted);
	}
	return check(v, sn->additional_props, p->value, &here, depth + 1);
}

static int check_object(struct vctx *v, const struct snode *sn, const struct cfgfs_node *inst,
                        const struct ipath *path, unsigned depth)
{
	size_t n = inst->mapping.count, i, j;
	int rc;

	if (n < sn->min_props)
		return report(v, inst, path, "object has %zu propert%s, fewer than the minimum of %zu",
		              n, n == 1 ? "y" : "ies", sn->min_props);
	if (sn->has_max_props && n > sn->max_props)
		return report(v, inst, path,
		              "object has %zu properties, more than the maximum of %zu", n,
		              sn->max_props);
	if (sn->nprops > 0 || sn->npattern_props > 0 || sn->additional_props != NULL ||
	    sn->property_names != NULL) {
		for (i = 0; i < n; i++) {
			rc = check_member(v, sn, &inst->mapping.pairs[i], path, depth);
			if (rc != VALID)
				return rc;
		}
	}
	if (sn->required != NULL) {
		const struct cfgfs_node *req = sn->required;

		for (i = 0; i < req->sequence.count; i++) {
			const struct cfgfs_node *name = req->sequence.items[i];
			char quoted[VALUE_TEXT_MAX];

			if (has_key(inst, name->scalar.text, name->scalar.len))
				continue;
			render(quoted, sizeof(quoted), name);
			return report(v, inst, path, "missing required property %s", quoted);
		}
	}
	for (i = 0; i < sn->ndeps; i++) {
		const struct sdependency *d = &sn->deps[i];

		if (!has_key(inst, d->name, d->len))
			continue;
		if (d->schema != NULL) {
			rc = check(v, d->schema, inst, path, depth + 1);
			if (rc != VALID)
				return rc;
			continue;
		}
		for (j = 0; j < d->required->sequence.count; j++) {
			const struct cfgfs_scalar *name = &d->required->sequence.items[j]->scalar;

			if (!has_key(inst, name->text, name->len))
				return report(v, inst, path,
				              "property \"%.*s\" requires property \"%.*s\"",
				              (int)d->len, d->name, (int)name->len, name->text);
		}
	}
	return VALID;
}

/*
 * Every branch failed. The branch that got deepest into the instance
 * explains most; failing that, the only branch whose type fit (the one the
 * author meant); failing that, say that none matched.
 */
static int fail_any(struct vctx *v, const struct slist *l, const char *keyword,
                    const struct cfgfs_node *inst, const struct ipath *path, unsigned depth)
{
	struct cfgfs_diag best, d;
	struct branch_err e, best_e = {0};
	unsigned here = path ? path->depth : 0, fitting = 0;
	bool have = false;
	char value[VALUE_TEXT_MAX];
	size_t i;
	int rc;

	if (v->out == NULL)
		return INVALID;
	for (i = 0; i < l->count; i++) {
		rc = into(v, &d, &e, l->items[i], inst, path, depth + 1);
		if (rc < 0)
			return rc;
		if (rc == VALID)
			continue; /* cannot happen: the quiet run failed */
		if (e.depth == here && !e.is_type && fitting++ == 0 && !have) {
			best = d;
			best_e = e;
		}
		if (e.depth > here && (!have || e.depth > best_e.depth)) {
			best = d;
			best_e = e;
			have = true;
		}
	}
	if (have || fitting == 1) {
		*v->out = best;
		v->err_depth = best_e.depth;
		v->err_is_type = best_e.is_type;
		return INVALID;
	}
	render(value, sizeof(value), inst);
	return report(v, inst, path, "%s is not valid under any of the schemas in \"%s\"", value,
	              keyword);
}

static int check_combinators(struct vctx *v, const struct snode *sn,
                             const struct cfgfs_node *inst, const struct ipath *path,
                             unsigned depth)
{
	char value[VALUE_TEXT_MAX];
	size_t i, first = 0, count = 0;
	int rc;

	if (sn->if_ != NULL && (sn->then_ != NULL || sn->else_ != NULL)) {
		const struct snode *next;

		rc = quiet(v, sn->if_, inst, path, depth + 1);
		if (rc < 0)
			return rc;
		next = rc == VALID ? sn->then_ : sn->else_;
		if (next != NULL) {
			rc = check(v, next, inst, path, depth + 1);
			if (rc != VALID)
				return rc;
		}
	}
	for (i = 0; i < sn->all_of.count; i++) {
		rc = check(v, sn->all_of.items[i], inst, path, depth + 1);
		if (rc != VALID)
			return rc;
	}
	if (sn->any_of.count > 0) {
		for (i = 0; i < sn->any_of.count; i++) {
			rc = quiet(v, sn->any_of.items[i], inst, path, depth + 1);
			if (rc <= VALID)
				break;
		}
		if (rc < 0)
			return rc;
		if (i == sn->any_of.count)
			return fail_any(v, &sn->any_of, "anyOf", inst, path, depth);
	}
	if (sn->one_of.count > 0) {
		for (i = 0; i < sn->one_of.count; i++) {
			rc = quiet(v, sn->one_of.items[i], inst, path, depth + 1);
			if (rc < 0)
				return rc;
			if (rc != VALID)
				continue;
			if (count++ == 0) {
				first = i;
				continue;
			}
			render(value, sizeof(value), inst);
			return report(v, inst, path,
			              "%s is valid under more than one of the schemas in \"oneOf\" "
			              "(%zu and %zu); exactly one is allowed",
			              value, first, i);
		}
		if (count == 0)
			return fail_any(v, &sn->one_of, "oneOf", inst, path, depth);
	}
	if (sn->not_ != NULL) {
		rc = quiet(v, sn->not_, inst, path, depth + 1);
		if (rc < 0)
			return rc;
		if (rc == VALID) {
			render(value, sizeof(value), inst);
			return report(v, inst, path, "%s must not be valid under the \"not\" schema",
			              value);
		}
	}
	return VALID;
}

/* Recursion: DEPTH counts nested evaluations and is capped, so $ref loops end. */
static int check(struct vctx *v, const struct snode *sn, const struct cfgfs_node *inst,
                 const struct ipath *path, unsigned depth)
{
	int rc;

	if (depth > CFGFS_SCHEMA_MAX_EVAL_DEPTH)
		return report(v, inst, path,
		              "schema nesting deeper than %u levels (a recursive $ref?)",
		              CFGFS_SCHEMA_MAX_EVAL_DEPTH);
	if (sn->is_bool) {
		if (sn->bool_value)
			return VALID;
		return report(v, inst, path, "no value is allowed here (the schema is false)");
	}
	if (sn->ref != NULL)
		return check(v, sn->ref_target, inst, path, depth + 1);
	if (sn->types != 0 && !type_matches(sn->types, inst))
		return fail_type(v, sn, inst, path);
	if (sn->enum_values != NULL) {
		rc = check_enum(v, sn, inst, path);
		if (rc != VALID)
			return rc;
	}
	if (sn->const_value != NULL && !schema_value_equal(inst, sn->const_value)) {
		char value[VALUE_TEXT_MAX], want[VALUE_TEXT_MAX];

		if (v->out == NULL)
			return INVALID;
		render(value, sizeof(value), inst);
		render(want, sizeof(want), sn->const_value);
		return report(v, inst, path, "%s is not the constant %s", value, want);
	}
	if (inst->kind == CFGFS_NODE_MAPPING)
		rc = check_object(v, sn, inst, path, depth);
	else if (inst->kind == CFGFS_NODE_SEQUENCE)
		rc = check_array(v, sn, inst, path, depth);
	else if (schema_is_number(inst))
		rc = check_number(v, sn, inst, path);
	else if (schema_is_string(inst))
		rc = check_string(v, sn, inst, path);
	else
		rc = VALID;
	if (rc != VALID)
		return rc;
	return check_combinators(v, sn, inst, path, depth);
}

int cfgfs_schema_validate(const struct cfgfs_schema *s, const struct cfgfs_node *root,
                          struct cfgfs_diag *out)
{
	struct vctx v = {.s = s, .out = out};
	int rc = -ENOMEM;

	memset(out, 0, sizeof(*out));
	v.md = pcre2_match_data_create(1, NULL);
	v.mctx = pcre2_match_context_create(NULL);
	if (v.md == NULL || v.mctx == NULL)
		goto cleanup;
	if (pcre2_set_match_limit(v.mctx, REGEX_MATCH_LIMIT) != 0 ||
	    pcre2_set_depth_limit(v.mctx, REGEX_DEPTH_LIMIT) != 0) {
		rc = -EINVAL;
		goto cleanup;
	}
	rc = check(&v, s->root, root, NULL, 0);
	if (rc == INVALID)
		rc = -EINVAL;
	else if (rc == VALID)
		memset(out, 0, sizeof(*out));

cleanup:
	pcre2_match_context_free(v.mctx);
	pcre2_match_data_free(v.md);
	return rc;
}
