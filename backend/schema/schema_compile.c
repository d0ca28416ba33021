/*
 * schema_compile.c — turns a schema document into snodes, once.
 *
 * Two phases. First every schema object reachable through the subschema
 * keywords is compiled, its keyword values checked (a wrong type is a load
 * error naming the keyword and its position), its regexes compiled, and each
 * $id recorded as a resource with the base URI in force. Then every $ref is
 * resolved: against the resources by URI, then by JSON pointer inside the
 * resource; a target that is not itself a compiled subschema (a pointer to
 * any object) is compiled on demand, which may queue more refs. References to
 * the draft-07 meta-schema compile the built-in copy. Finally pure $ref
 * chains are followed to refuse cycles that no instance could ever end.
 *
 * Invariant: each schema node has at most one snode (a node map), so shared
 * YAML aliases and repeated refs compile once and recursive schemas are
 * finite graphs.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/formats/validate.h"
#include "backend/schema/schema_internal.h"

/* Base URI of a schema whose root has no $id. */
#define DEFAULT_BASE_URI "cfgfs:///schema.json"
#define NODEMAP_MIN_CAP 64u
#define VEC_MIN_CAP 16u
#define ERR_TEXT_MAX 400u
#define REGEX_ERR_MAX 160u

struct nodemap_slot {
	const struct cfgfs_node *key;
	struct snode *value;
};

struct resource {
	const char *uri; /* absolute; with a fragment only for plain names */
	const struct cfgfs_node *node;
	const char *base; /* base URI inside the resource */
};

struct compiler {
	struct cfgfs_schema *s;
	struct schema_mem *m;
	const char *name;
	char *err;
	size_t errlen;
	struct nodemap_slot *map;
	size_t mapcap, mapcount;
	struct resource *res;
	size_t nres, capres;
	struct snode **pending;
	size_t npending, cappending;
};

static int fail(struct compiler *c, const struct cfgfs_node *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct compiler *c, const struct cfgfs_node *at, const char *fmt, ...)
{
	char text[ERR_TEXT_MAX];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (c->errlen > 0)
		(void)snprintf(c->err, c->errlen, "%s:%u:%u: %s", c->name, at->line, at->col, text);
	return -EINVAL;
}

static size_t ptr_hash(const void *p)
{
	uintptr_t v = (uintptr_t)p;

	v ^= v >> 17;
	v *= (uintptr_t)0x9E3779B97F4A7C15ull;
	return (size_t)(v ^ (v >> 29));
}

static struct snode *map_get(const struct compiler *c, const struct cfgfs_node *key)
{
	size_t i;

	if (c->mapcap == 0)
		return NULL;
	for (i = ptr_hash(key) & (c->mapcap - 1); c->map[i].key != NULL;
	     i = (i + 1) & (c->mapcap - 1))
		if (c->map[i].key == key)
			return c->map[i].value;
	return NULL;
}

static void map_place(struct nodemap_slot *slots, size_t cap, const struct cfgfs_node *key,
                      struct snode *value)
{
	size_t i = ptr_hash(key) & (cap - 1);

	while (slots[i].key != NULL)
		i = (i + 1) & (cap - 1);
	slots[i].key = key;
	slots[i].value = value;
}

static int map_put(struct compiler *c, const struct cfgfs_node *key, struct snode *value)
{
	if ((c->mapcount + 1) * 2 > c->mapcap) {
		size_t cap = c->mapcap == 0 ? NODEMAP_MIN_CAP : c->mapcap * 2, i;
		struct nodemap_slot *slots = calloc(cap, sizeof(*slots));

		if (slots == NULL)
			return -ENOMEM;
		for (i = 0; i < c->mapcap; i++)
			if (c->map[i].key != NULL)
				map_place(slots, cap, c->map[i].key, c->map[i].value);
		free(c->map);
		c->map = slots;
		c->mapcap = cap;
	}
	map_place(c->map, c->mapcap, key, value);
	c->mapcount++;
	return 0;
}

/* Grows the array *V of *CAP elements of SIZE bytes to hold one more. */
static int vec_reserve(void **v, size_t *cap, size_t count, size_t size)
{
	size_t n;
	void *p;

	if (count < *cap)
		return 0;
	n = *cap == 0 ? VEC_MIN_CAP : *cap * 2;
	if (n > SIZE_MAX / size)
		return -ENOMEM;
	p = realloc(*v, n * size);
	if (p == NULL)
		return -ENOMEM;
	*v = p;
	*cap = n;
	return 0;
}

static int add_resource(struct compiler *c, const char *uri, const struct cfgfs_node *node,
                        const char *base)
{
	int rc = vec_reserve((void **)&c->res, &c->capres, c->nres, sizeof(*c->res));

	if (rc != 0)
		return rc;
	c->res[c->nres++] = (struct resource){.uri = uri, .node = node, .base = base};
	return 0;
}

static const struct resource *find_resource(const struct compiler *c, const char *uri,
                                            size_t len)
{
	size_t i;

	for (i = 0; i < c->nres; i++)
		if (strlen(c->res[i].uri) == len && memcmp(c->res[i].uri, uri, len) == 0)
			return &c->res[i];
	return NULL;
}

static int add_regex(struct cfgfs_schema *s, pcre2_code *code)
{
	int rc = vec_reserve((void **)&s->regexes, &s->capregexes, s->nregexes,
	                     sizeof(*s->regexes));

	if (rc != 0)
		return rc;
	s->regexes[s->nregexes++] = code;
	return 0;
}

/* Compiles the pattern NODE (a string) for KEYWORD; owned by the schema. */
static int compile_regex(struct compiler *c, struct sregex *out, const struct cfgfs_node *node,
                         const char *keyword)
{
	const uint32_t opts = SCHEMA_REGEX_OPTIONS;
	PCRE2_SIZE off = 0;
	pcre2_code *code;
	int errcode, rc;

	if (!schema_is_string(node))
		return fail(c, node, "\"%s\" must be a string", keyword);
	code = pcre2_compile((PCRE2_SPTR)node->scalar.text, node->scalar.len, opts, &errcode, &off,
	                     NULL);
	if (code == NULL) {
		PCRE2_UCHAR msg[REGEX_ERR_MAX];

		if (pcre2_get_error_message(errcode, msg, sizeof(msg)) < 0)
			(void)snprintf((char *)msg, sizeof(msg), "error %d", errcode);
		return fail(c, node, "invalid regular expression in \"%s\" at offset %zu: %s",
		            keyword, (size_t)off, (const char *)msg);
	}
	rc = add_regex(c->s, code);
	if (rc != 0) {
		pcre2_code_free(code);
		return rc;
	}
	out->code = code;
	out->source = node->scalar.text;
	return 0;
}

static int compile_schema(struct compiler *c, const struct cfgfs_node *node, const char *base,
                          struct snode **out);

static int compile_list(struct compiler *c, const struct cfgfs_node *v, const char *base,
                        const char *keyword, struct slist *out)
{
	size_t i;
	int rc;

	if (v->kind != CFGFS_NODE_SEQUENCE || v->sequence.count == 0)
		return fail(c, v, "\"%s\" must be a non-empty array of schemas", keyword);
	out->items = schema_mem_alloc(c->m, v->sequence.count * sizeof(*out->items));
	if (out->items == NULL)
		return -ENOMEM;
	for (i = 0; i < v->sequence.count; i++) {
		rc = compile_schema(c, v->sequence.items[i], base, &out->items[i]);
		if (rc != 0)
			return rc;
	}
	out->count = v->sequence.count;
	return 0;
}

static int need_number(struct compiler *c, const struct cfgfs_node *v, const char *keyword,
                       const struct cfgfs_node **out)
{
	if (!schema_is_number(v))
		return fail(c, v, "\"%s\" must be a number", keyword);
	*out = v;
	return 0;
}

/* Non-negative integer keywords (maxLength, minItems, ...); huge values saturate. */
static int need_count(struct compiler *c, const struct cfgfs_node *v, const char *keyword,
                      size_t *out)
{
	if (!schema_is_integer(v) || v->scalar.number < 0)
		return fail(c, v, "\"%s\" must be a non-negative integer", keyword);
	if (v->scalar.number >= (double)SIZE_MAX)
		*out = SIZE_MAX;
	else if (v->scalar.type == CFGFS_SCALAR_INT && v->scalar.int_exact)
		*out = (size_t)v->scalar.integer;
	else
		*out = (size_t)v->scalar.number;
	return 0;
}

static int need_string_array(struct compiler *c, const struct cfgfs_node *v, const char *keyword)
{
	size_t i;

	if (v->kind != CFGFS_NODE_SEQUENCE)
		return fail(c, v, "\"%s\" must be an array of strings", keyword);
	for (i = 0; i < v->sequence.count; i++)
		if (!schema_is_string(v->sequence.items[i]))
			return fail(c, v->sequence.items[i], "\"%s\" must be an array of strings",
			            keyword);
	return 0;
}

static int type_bit(const struct cfgfs_node *v, unsigned *bit)
{
	static const struct {
		const char *name;
		unsigned bit;
	} names[] = {
	    {"null", TYPE_NULL},     {"boolean", TYPE_BOOLEAN}, {"object", TYPE_OBJECT},
	    {"array", TYPE_ARRAY},   {"number", TYPE_NUMBER},   {"string", TYPE_STRING},
	    {"integer", TYPE_INTEGER},
	};
	size_t i;

	if (!schema_is_string(v))
		return -EINVAL;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(v->scalar.text, names[i].name) == 0) {
			*bit = names[i].bit;
			return 0;
		}
	return -EINVAL;
}

static int compile_type(struct compiler *c, struct snode *sn, const struct cfgfs_node *v)
{
	unsigned bit;
	size_t i;

	if (v->kind == CFGFS_NODE_SEQUENCE) {
		for (i = 0; i < v->sequence.count; i++) {
			if (type_bit(v->sequence.items[i], &bit) != 0)
				return fail(c, v->sequence.items[i], "unknown type in \"type\"");
			sn->types |= bit;
		}
		if (sn->types == 0)
			return fail(c, v, "\"type\" must not be an empty array");
		return 0;
	}
	if (type_bit(v, &bit) != 0)
		return fail(c, v, "\"type\" must be a type name or an array of them");
	sn->types = bit;
	return 0;
}

static const char *key_text(const struct cfgfs_node *k, size_t *len)
{
	if (k->kind != CFGFS_NODE_SCALAR) {
		*len = 0;
		return NULL;
	}
	*len = k->scalar.len;
	return k->scalar.text;
}

static int prop_cmp(const void *a, const void *b)
{
	const struct sprop *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int r = memcmp(x->name, y->name, n);

	return r != 0 ? r : (x->len > y->len) - (x->len < y->len);
}

static int compile_properties(struct compiler *c, struct snode *sn, const struct cfgfs_node *v,
                              const char *base)
{
	size_t i;
	int rc;

	if (v->kind != CFGFS_NODE_MAPPING)
		return fail(c, v, "\"properties\" must be an object of schemas");
	if (v->mapping.count == 0)
		return 0;
	sn->props = schema_mem_alloc(c->m, v->mapping.count * sizeof(*sn->props));
	if (sn->props == NULL)
		return -ENOMEM;
	for (i = 0; i < v->mapping.count; i++) {
		const struct cfgfs_pair *p = &v->mapping.pairs[i];
		struct sprop *sp = &sn->props[i];

		sp->name = key_text(p->key, &sp->len);
		if (sp->name == NULL)
			return fail(c, p->key, "property names must be strings");
		rc = compile_schema(c, p->value, base, &sp->schema);
		if (rc != 0)
			return rc;
	}
	sn->nprops = v->mapping.count;
	/* Sorted for binary search while validating. */
	qsort(sn->props, sn->nprops, sizeof(*sn->props), prop_cmp);
	return 0;
}

static int compile_pattern_properties(struct compiler *c, struct snode *sn,
                                      const struct cfgfs_node *v, const char *base)
{
	size_t i;
	int rc;

	if (v->kind != CFGFS_NODE_MAPPING)
		return fail(c, v, "\"patternProperties\" must be an object of schemas");
	if (v->mapping.count == 0)
		return 0;
	sn->pattern_props = schema_mem_alloc(c->m, v->mapping.count * sizeof(*sn->pattern_props));
	if (sn->pattern_props == NULL)
		return -ENOMEM;
	for (i = 0; i < v->mapping.count; i++) {
		const struct cfgfs_pair *p = &v->mapping.pairs[i];
		struct cfgfs_node key = *p->key;

		/* A YAML key is a name whatever it resolved to. */
		if (key.kind == CFGFS_NODE_SCALAR)
			key.scalar.type = CFGFS_SCALAR_STRING;
		rc = compile_regex(c, &sn->pattern_props[i].re, &key, "patternProperties");
		if (rc != 0)
			return rc;
		rc = compile_schema(c, p->value, base, &sn->pattern_props[i].schema);
		if (rc != 0)
			return rc;
	}
	sn->npattern_props = v->mapping.count;
	return 0;
}

static int compile_dependencies(struct compiler *c, struct snode *sn, const struct cfgfs_node *v,
                                const char *base)
{
	size_t i;
	int rc;

	if (v->kind != CFGFS_NODE_MAPPING)
		return fail(c, v, "\"dependencies\" must be an object");
	if (v->mapping.count == 0)
		return 0;
	sn->deps = schema_mem_alloc(c->m, v->mapping.count * sizeof(*sn->deps));
	if (sn->deps == NULL)
		return -ENOMEM;
	for (i = 0; i < v->mapping.count; i++) {
		const struct cfgfs_pair *p = &v->mapping.pairs[i];
		struct sdependency *d = &sn->deps[i];

		d->name = key_text(p->key, &d->len);
		if (d->name == NULL)
			return fail(c, p->key, "property names must be strings");
		if (p->value->kind == CFGFS_NODE_SEQUENCE) {
			rc = need_string_array(c, p->value, "dependencies");
			d->required = p->value;
		} else {
			rc = compile_schema(c, p->value, base, &d->schema);
		}
		if (rc != 0)
			return rc;
	}
	sn->ndeps = v->mapping.count;
	return 0;
}

/* definitions / $defs: compiled so their $ids register and errors show early. */
static int compile_definitions(struct compiler *c, const struct cfgfs_node *v, const char *base,
                               const char *keyword)
{
	struct snode *unused;
	size_t i;
	int rc;

	if (v->kind != CFGFS_NODE_MAPPING)
		return fail(c, v, "\"%s\" must be an object of schemas", keyword);
	for (i = 0; i < v->mapping.count; i++) {
		rc = compile_schema(c, v->mapping.pairs[i].value, base, &unused);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int compile_items(struct compiler *c, struct snode *sn, const struct cfgfs_node *v,
                         const char *base)
{
	size_t i;
	int rc;

	if (v->kind != CFGFS_NODE_SEQUENCE)
		return compile_schema(c, v, base, &sn->items);
	sn->items_is_array = true;
	if (v->sequence.count == 0)
		return 0;
	sn->items_array.items = schema_mem_alloc(c->m, v->sequence.count * sizeof(struct snode *));
	if (sn->items_array.items == NULL)
		return -ENOMEM;
	for (i = 0; i < v->sequence.count; i++) {
		rc = compile_schema(c, v->sequence.items[i], base, &sn->items_array.items[i]);
		if (rc != 0)
			return rc;
	}
	sn->items_array.count = v->sequence.count;
	return 0;
}

static int compile_format(struct compiler *c, struct snode *sn, const struct cfgfs_node *v)
{
	if (!schema_is_string(v))
		return fail(c, v, "\"format\" must be a string");
	sn->format_name = v->scalar.text;
	if (c->s->check_formats)
		sn->format = schema_format_from_name(v->scalar.text);
	return 0;
}

/* Compiles keyword K (value V) of SN. Unknown keywords are annotations. */
static int compile_keyword(struct compiler *c, struct snode *sn, const char *k,
                           const struct cfgfs_node *v, const char *base)
{
	bool b;

	if (strcmp(k, "type") == 0)
		return compile_type(c, sn, v);
	if (strcmp(k, "enum") == 0) {
		if (v->kind != CFGFS_NODE_SEQUENCE)
			return fail(c, v, "\"enum\" must be an array");
		sn->enum_values = v;
		return 0;
	}
	if (strcmp(k, "const") == 0) {
		sn->const_value = v;
		return 0;
	}
	if (strcmp(k, "multipleOf") == 0) {
		if (!schema_is_number(v) || !(v->scalar.number > 0))
			return fail(c, v, "\"multipleOf\" must be a number greater than 0");
		sn->multiple_of = v;
		return 0;
	}
	if (strcmp(k, "maximum") == 0)
		return need_number(c, v, k, &sn->maximum);
	if (strcmp(k, "exclusiveMaximum") == 0)
		return need_number(c, v, k, &sn->exclusive_maximum);
	if (strcmp(k, "minimum") == 0)
		return need_number(c, v, k, &sn->minimum);
	if (strcmp(k, "exclusiveMinimum") == 0)
		return need_number(c, v, k, &sn->exclusive_minimum);
	if (strcmp(k, "maxLength") == 0) {
		sn->has_max_length = true;
		return need_count(c, v, k, &sn->max_length);
	}
	if (strcmp(k, "minLength") == 0)
		return need_count(c, v, k, &sn->min_length);
	if (strcmp(k, "pattern") == 0)
		return compile_regex(c, &sn->pattern, v, k);
	if (strcmp(k, "format") == 0)
		return compile_format(c, sn, v);
	if (strcmp(k, "items") == 0)
		return compile_items(c, sn, v, base);
	if (strcmp(k, "additionalItems") == 0)
		return compile_schema(c, v, base, &sn->additional_items);
	if (strcmp(k, "maxItems") == 0) {
		sn->has_max_items = true;
		return need_count(c, v, k, &sn->max_items);
	}
	if (strcmp(k, "minItems") == 0)
		return need_count(c, v, k, &sn->min_items);
	if (strcmp(k, "uniqueItems") == 0) {
		if (v->kind != CFGFS_NODE_SCALAR || v->scalar.type != CFGFS_SCALAR_BOOL)
			return fail(c, v, "\"uniqueItems\" must be a boolean");
		b = v->scalar.boolean;
		sn->unique_items = b;
		return 0;
	}
	if (strcmp(k, "contains") == 0)
		return compile_schema(c, v, base, &sn->contains);
	if (strcmp(k, "maxProperties") == 0) {
		sn->has_max_props = true;
		return need_count(c, v, k, &sn->max_props);
	}
	if (strcmp(k, "minProperties") == 0)
		return need_count(c, v, k, &sn->min_props);
	if (strcmp(k, "required") == 0) {
		sn->required = v;
		return need_string_array(c, v, k);
	}
	if (strcmp(k, "properties") == 0)
		return compile_properties(c, sn, v, base);
	if (strcmp(k, "patternProperties") == 0)
		return compile_pattern_properties(c, sn, v, base);
	if (strcmp(k, "additionalProperties") == 0)
		return compile_schema(c, v, base, &sn->additional_props);
	if (strcmp(k, "dependencies") == 0)
		return compile_dependencies(c, sn, v, base);
	if (strcmp(k, "propertyNames") == 0)
		return compile_schema(c, v, base, &sn->property_names);
	if (strcmp(k, "if") == 0)
		return compile_schema(c, v, base, &sn->if_);
	if (strcmp(k, "then") == 0)
		return compile_schema(c, v, base, &sn->then_);
	if (strcmp(k, "else") == 0)
		return compile_schema(c, v, base, &sn->else_);
	if (strcmp(k, "allOf") == 0)
		return compile_list(c, v, base, k, &sn->all_of);
	if (strcmp(k, "anyOf") == 0)
		return compile_list(c, v, base, k, &sn->any_of);
	if (strcmp(k, "oneOf") == 0)
		return compile_list(c, v, base, k, &sn->one_of);
	if (strcmp(k, "not") == 0)
		return compile_schema(c, v, base, &sn->not_);
	if (strcmp(k, "definitions") == 0 || strcmp(k, "$defs") == 0)
		return compile_definitions(c, v, base, k);
	return 0;
}

/*
 * Applies SN's $id (when it has one and no $ref) to BASE: registers the
 * resource and sets *NEW_BASE to the base URI its keywords resolve against.
 */
static int apply_id(struct compiler *c, const struct cfgfs_node *node, const char *base,
                    const char **new_base)
{
	const struct cfgfs_node *id = cfgfs_doc_lookup(node, "$id");
	char *uri, *doc;
	size_t len;
	int rc;

	*new_base = base;
	if (id == NULL)
		return 0;
	if (!schema_is_string(id))
		return fail(c, id, "\"$id\" must be a string");
	uri = schema_uri_resolve(c->m, base, id->scalar.text);
	if (uri == NULL)
		return -ENOMEM;
	len = schema_uri_doc_len(uri);
	doc = schema_mem_strndup(c->m, uri, len);
	if (doc == NULL)
		return -ENOMEM;
	if (uri[len] == '#' && uri[len + 1] != '\0') {
		/* A plain-name fragment ("#foo") names this schema, base unchanged. */
		if (uri[len + 1] == '/')
			return fail(c, id, "\"$id\" must not contain a JSON pointer fragment");
		return add_resource(c, uri, node, doc);
	}
	rc = add_resource(c, doc, node, doc);
	if (rc != 0)
		return rc;
	*new_base = doc;
	return 0;
}

static int compile_ref(struct compiler *c, struct snode *sn, const struct cfgfs_node *ref,
                       const char *base)
{
	int rc;

	if (!schema_is_string(ref))
		return fail(c, ref, "\"$ref\" must be a string");
	sn->ref = ref->scalar.text;
	sn->ref_node = ref;
	sn->ref_uri = schema_uri_resolve(c->m, base, ref->scalar.text);
	if (sn->ref_uri == NULL)
		return -ENOMEM;
	rc = vec_reserve((void **)&c->pending, &c->cappending, c->npending, sizeof(*c->pending));
	if (rc != 0)
		return rc;
	c->pending[c->npending++] = sn;
	return 0;
}

static int compile_schema(struct compiler *c, const struct cfgfs_node *node, const char *base,
                          struct snode **out)
{
	const struct cfgfs_node *ref;
	struct snode *sn = map_get(c, node);
	size_t i;
	int rc;

	*out = sn;
	if (sn != NULL)
		return 0;
	if (node->kind == CFGFS_NODE_SCALAR && node->scalar.type == CFGFS_SCALAR_BOOL) {
		sn = schema_mem_alloc(c->m, sizeof(*sn));
		if (sn == NULL)
			return -ENOMEM;
		sn->src = node;
		sn->is_bool = true;
		sn->bool_value = node->scalar.boolean;
		*out = sn;
		return map_put(c, node, sn);
	}
	if (node->kind != CFGFS_NODE_MAPPING)
		return fail(c, node, "a schema must be an object or a boolean");
	sn = schema_mem_alloc(c->m, sizeof(*sn));
	if (sn == NULL)
		return -ENOMEM;
	sn->src = node;
	/* In the map before its children, so a node is compiled only once. */
	rc = map_put(c, node, sn);
	if (rc != 0)
		return rc;
	*out = sn;

	ref = cfgfs_doc_lookup(node, "$ref");
	if (ref != NULL) {
		/* $ref's siblings, $id included, are ignored, but still compiled. */
		rc = compile_ref(c, sn, ref, base);
	} else {
		rc = apply_id(c, node, base, &base);
	}
	if (rc != 0)
		return rc;
	for (i = 0; i < node->mapping.count; i++) {
		const struct cfgfs_pair *p = &node->mapping.pairs[i];

		if (p->key->kind != CFGFS_NODE_SCALAR)
			continue;
		rc = compile_keyword(c, sn, p->key->scalar.text, p->value, base);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int load_meta(struct compiler *c)
{
	struct cfgfs_diag diag;
	struct snode *unused;
	const char *saved = c->name;
	int rc;

	rc = cfgfs_doc_parse(&c->s->meta, &diag, CFGFS_FORMAT_JSON, schema_meta_text,
	                     schema_meta_len, NULL);
	if (rc != 0) {
		if (rc == -EINVAL && c->errlen > 0)
			(void)snprintf(c->err, c->errlen, "draft-07 meta-schema:%u:%u: %s",
			               diag.line, diag.col, diag.message);
		return rc;
	}
	rc = add_resource(c, SCHEMA_META_URI, c->s->meta->roots[0], SCHEMA_META_URI);
	if (rc != 0)
		return rc;
	c->name = "draft-07 meta-schema";
	rc = compile_schema(c, c->s->meta->roots[0], SCHEMA_META_URI, &unused);
	c->name = saved;
	return rc;
}

static int resolve_ref(struct compiler *c, struct snode *sn)
{
	const char *uri = sn->ref_uri;
	size_t doclen = schema_uri_doc_len(uri);
	const char *frag = uri[doclen] == '#' ? uri + doclen + 1 : "";
	const struct resource *r;
	const struct cfgfs_node *target;
	int rc;

	r = find_resource(c, uri, strlen(uri));
	if (r != NULL && frag[0] != '\0' && frag[0] != '/') {
		target = r->node; /* plain-name fragment */
	} else {
		r = find_resource(c, uri, doclen);
		if (r == NULL && c->s->meta == NULL && doclen == strlen(SCHEMA_META_URI) &&
		    memcmp(uri, SCHEMA_META_URI, doclen) == 0) {
			rc = load_meta(c);
			if (rc != 0)
				return rc;
			r = find_resource(c, uri, doclen);
		}
		if (r == NULL)
			return fail(c, sn->ref_node,
			            "cannot resolve $ref \"%s\": \"%.*s\" is not this schema "
			            "(remote references are not supported)",
			            sn->ref, (int)doclen, uri);
		if (frag[0] != '\0' && frag[0] != '/')
			return fail(c, sn->ref_node, "cannot resolve $ref \"%s\": no \"$id\" names it",
			            sn->ref);
		target = schema_pointer_follow(r->node, frag);
		if (target == NULL)
			return fail(c, sn->ref_node, "cannot resolve $ref \"%s\": no such location",
			            sn->ref);
	}
	return compile_schema(c, target, r->base, &sn->ref_target);
}

/* Refuses "$ref" chains that come back to themselves without a keyword between. */
static int check_ref_cycles(struct compiler *c)
{
	size_t i;
	unsigned hops;

	for (i = 0; i < c->npending; i++) {
		const struct snode *at = c->pending[i]->ref_target;

		for (hops = 0; at != NULL && at->ref != NULL; hops++) {
			if (at == c->pending[i] || hops >= CFGFS_SCHEMA_MAX_REF_CHAIN)
				return fail(c, c->pending[i]->ref_node,
				            "$ref \"%s\" never reaches a schema: its chain of $ref loops",
				            c->pending[i]->ref);
			at = at->ref_target;
		}
	}
	return 0;
}

int schema_compile_root(struct cfgfs_schema *s, const struct cfgfs_node *root, const char *name,
                        char *err, size_t errlen)
{
	struct compiler c = {.s = s, .m = s->mem, .name = name, .err = err, .errlen = errlen};
	size_t i;
	int rc;

	rc = add_resource(&c, DEFAULT_BASE_URI, root, DEFAULT_BASE_URI);
	if (rc != 0)
		goto cleanup;
	rc = compile_schema(&c, root, DEFAULT_BASE_URI, &s->root);
	if (rc != 0)
		goto cleanup;
	/* Resolving may compile more nodes and queue more refs: npending grows. */
	for (i = 0; i < c.npending; i++) {
		rc = resolve_ref(&c, c.pending[i]);
		if (rc != 0)
			goto cleanup;
	}
	rc = check_ref_cycles(&c);

cleanup:
	free(c.map);
	free(c.res);
	free(c.pending);
	return rc;
}
