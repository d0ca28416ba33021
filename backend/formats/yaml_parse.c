/*
 * yaml_parse.c — YAML front end: libyaml's event API into the document model.
 *
 * Events are consumed one at a time and every limit is checked as the event
 * arrives, so a 10,000-deep nesting stops at level max_depth+1 and an alias
 * bomb stops as soon as the expanded count crosses max_nodes; neither is ever
 * built. libyaml's parser is a state machine with heap stacks (no C
 * recursion), so feeding it deep input is safe.
 *
 * Aliases share the anchored node (the model is a DAG). Each anchor records
 * the expanded size and height of its node, so an alias costs its full
 * expansion against the budget and its height against the depth limit.
 * Merge keys (`<<`) are applied when their mapping ends: explicit keys win
 * over merged ones, earlier merge sources over later ones.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "backend/formats/formats_internal.h"

#define YAML_MERGE_KEY "<<"
#define YAML_STD_TAG_PREFIX "tag:yaml.org,2002:"
#define YAML_NONSPECIFIC_TAG "!"
#define VEC_MIN_CAP 8u

struct ptrvec {
	const void **v;
	size_t n, cap;
};

struct anchor {
	const struct cfgfs_node *node;
	size_t weight;   /* nodes when fully expanded */
	unsigned height; /* 0 for a scalar, 1 + tallest child for a collection */
};

struct frame {
	struct cfgfs_node *node; /* the collection being built */
	const char *anchor;      /* registered when the collection ends */
	struct ptrvec items;     /* sequence items, or mapping key, value, key, value... */
	struct ptrvec merges;    /* values of `<<` keys, in order */
	struct cfgfs_keyset keys;
	const struct cfgfs_node *key; /* mapping: key waiting for its value */
	bool key_is_merge;
	size_t weight; /* expanded nodes below this one */
	unsigned child_height;
};

struct yctx {
	struct cfgfs_doc *doc;
	struct cfgfs_diag *d;
	const struct cfgfs_limits *lim;
	const char *buf;
	size_t len;
	uint64_t seed;
	struct frame *frames;
	size_t nframes, capframes;
	struct cfgfs_keyset anchors; /* name -> struct anchor*, per document */
	size_t used;                 /* expanded nodes in the current document */
	struct ptrvec roots;
};

static int ptrvec_push(struct ptrvec *vec, const void *p)
{
	if (vec->n == vec->cap) {
		size_t cap = vec->cap == 0 ? VEC_MIN_CAP : vec->cap * 2;
		const void **v;

		if (cap > SIZE_MAX / sizeof(*v))
			return -ENOMEM;
		v = realloc(vec->v, cap * sizeof(*v));
		if (v == NULL)
			return -ENOMEM;
		vec->v = v;
		vec->cap = cap;
	}
	vec->v[vec->n++] = p;
	return 0;
}

static size_t sat_add(size_t a, size_t b)
{
	return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

static bool str_equal(const void *a, const void *b)
{
	return strcmp(a, b) == 0;
}

static uint64_t str_hash(const char *s)
{
	return cfgfs_hash_bytes(CFGFS_HASH_INIT, s, strlen(s));
}

static void frame_fini(struct frame *f)
{
	free(f->items.v);
	free(f->merges.v);
	cfgfs_keyset_fini(&f->keys);
}

static int limit_depth(struct yctx *c, yaml_mark_t mark)
{
	return cfgfs_diag_set(c->d, CFGFS_REASON_LIMIT, (unsigned)mark.line + 1,
	                      (unsigned)mark.column + 1, "nesting deeper than %u levels",
	                      c->lim->max_depth);
}

/* Charges N expanded nodes to the document's budget. */
static int charge(struct yctx *c, size_t n, yaml_mark_t mark)
{
	c->used = sat_add(c->used, n);
	if (c->used <= c->lim->max_nodes)
		return 0;
	return cfgfs_diag_set(
	    c->d, CFGFS_REASON_LIMIT, (unsigned)mark.line + 1, (unsigned)mark.column + 1,
	    "document has more than %zu nodes (aliases expanded)", c->lim->max_nodes);
}

static struct cfgfs_node *node_new(struct yctx *c, enum cfgfs_node_kind kind, yaml_mark_t mark)
{
	struct cfgfs_node *n = cfgfs_arena_alloc(c->doc->arena, sizeof(*n));

	if (n == NULL)
		return NULL;
	n->kind = kind;
	n->line = (unsigned)mark.line + 1;
	n->col = (unsigned)mark.column + 1;
	return n;
}

/*
 * Keeps the text of application tags; standard core tags only steer types.
 * Returns 0 or -ENOMEM; *OUT is NULL for no tag to keep.
 */
static int keep_tag(const char **out, struct yctx *c, const yaml_char_t *tag)
{
	static const char *const core[] = {"str",   "null", "bool", "int",
	                                   "float", "seq",  "map",  NULL};
	const char *t = (const char *)tag;
	const size_t plen = sizeof(YAML_STD_TAG_PREFIX) - 1;
	char *copy;
	size_t i;

	*out = NULL;
	if (t == NULL || strcmp(t, YAML_NONSPECIFIC_TAG) == 0)
		return 0;
	if (strncmp(t, YAML_STD_TAG_PREFIX, plen) == 0) {
		for (i = 0; core[i] != NULL; i++)
			if (strcmp(t + plen, core[i]) == 0)
				return 0;
		/* Other standard tags (!!binary, !!timestamp...) read as "!!name". */
		copy = cfgfs_arena_alloc(c->doc->arena, strlen(t + plen) + 3);
		if (copy == NULL)
			return -ENOMEM;
		memcpy(copy, "!!", 2);
		strcpy(copy + 2, t + plen);
		*out = copy;
		return 0;
	}
	copy = cfgfs_arena_strndup(c->doc->arena, t, strlen(t));
	if (copy == NULL)
		return -ENOMEM;
	*out = copy;
	return 0;
}

static int register_anchor(struct yctx *c, const char *name, const struct cfgfs_node *node,
                           size_t weight, unsigned height)
{
	struct anchor *a;
	void **slot;
	int rc;

	if (name == NULL)
		return 0;
	a = cfgfs_arena_alloc(c->doc->arena, sizeof(*a));
	if (a == NULL)
		return -ENOMEM;
	a->node = node;
	a->weight = weight;
	a->height = height;
	rc = cfgfs_keyset_slot(&slot, &c->anchors, str_hash(name), name, str_equal);
	if (rc != 0)
		return rc;
	*slot = a; /* a redefined anchor replaces the old one from here on */
	return 0;
}

static bool is_merge_source(const struct cfgfs_node *n)
{
	size_t i;

	if (n->kind == CFGFS_NODE_MAPPING)
		return true;
	if (n->kind != CFGFS_NODE_SEQUENCE)
		return false;
	for (i = 0; i < n->sequence.count; i++)
		if (n->sequence.items[i]->kind != CFGFS_NODE_MAPPING)
			return false;
	return true;
}

static int add_mapping_key(struct yctx *c, struct frame *f, const struct cfgfs_node *key,
                           bool is_merge)
{
	void **slot;
	int rc;

	f->key = key;
	f->key_is_merge = is_merge;
	if (is_merge || key->kind != CFGFS_NODE_SCALAR)
		return 0; /* collection keys are kept but not compared */
	rc = cfgfs_keyset_slot(&slot, &f->keys, cfgfs_doc_key_hash(key), key, cfgfs_doc_key_equal);
	if (rc != 0)
		return rc;
	if (*slot != NULL) {
		const struct cfgfs_node *first = *slot;
		char quoted[CFGFS_DIAG_MESSAGE_MAX / 2];

		cfgfs_doc_quote(quoted, sizeof(quoted), key->scalar.text, key->scalar.len);
		return cfgfs_diag_set(c->d, CFGFS_REASON_DUPLICATE, key->line, key->col,
		                      "duplicate key %s (first at line %u)", quoted, first->line);
	}
	*slot = (void *)key;
	return 0;
}

/* Hands a finished node (of expanded size WEIGHT) to its parent. */
static int add_child(struct yctx *c, const struct cfgfs_node *n, size_t weight, unsigned height,
                     bool is_merge_key)
{
	struct frame *f;
	int rc;

	if (c->nframes == 0)
		return ptrvec_push(&c->roots, n);
	f = &c->frames[c->nframes - 1];
	f->weight = sat_add(f->weight, weight);
	if (height > f->child_height)
		f->child_height = height;
	if (f->node->kind == CFGFS_NODE_SEQUENCE)
		return ptrvec_push(&f->items, n);
	if (f->key == NULL)
		return add_mapping_key(c, f, n, is_merge_key);
	if (f->key_is_merge) {
		f->key = NULL;
		f->key_is_merge = false;
		if (!is_merge_source(n))
			return cfgfs_diag_set(c->d, CFGFS_REASON_SYNTAX, n->line, n->col,
			                      "merge key \"<<\" needs a mapping or a sequence of "
			                      "mappings");
		return ptrvec_push(&f->merges, n);
	}
	rc = ptrvec_push(&f->items, f->key);
	if (rc == 0)
		rc = ptrvec_push(&f->items, n);
	f->key = NULL;
	return rc;
}

static int merge_one(struct frame *f, const struct cfgfs_node *src)
{
	size_t i;
	int rc;

	for (i = 0; i < src->mapping.count; i++) {
		const struct cfgfs_pair *p = &src->mapping.pairs[i];

		if (p->key->kind == CFGFS_NODE_SCALAR) {
			void **slot;

			rc = cfgfs_keyset_slot(&slot, &f->keys, cfgfs_doc_key_hash(p->key), p->key,
			                       cfgfs_doc_key_equal);
			if (rc != 0)
				return rc;
			if (*slot != NULL)
				continue; /* an explicit or earlier merged key wins */
			*slot = (void *)p->key;
		}
		rc = ptrvec_push(&f->items, p->key);
		if (rc == 0)
			rc = ptrvec_push(&f->items, p->value);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int apply_merges(struct frame *f)
{
	size_t i, j;
	int rc;

	for (i = 0; i < f->merges.n; i++) {
		const struct cfgfs_node *src = f->merges.v[i];

		if (src->kind == CFGFS_NODE_MAPPING) {
			rc = merge_one(f, src);
			if (rc != 0)
				return rc;
			continue;
		}
		for (j = 0; j < src->sequence.count; j++) {
			rc = merge_one(f, src->sequence.items[j]);
			if (rc != 0)
				return rc;
		}
	}
	return 0;
}

static int on_collection_start(struct yctx *c, const yaml_event_t *ev, bool is_map)
{
	const yaml_char_t *tag = is_map ? ev->data.mapping_start.tag : ev->data.sequence_start.tag;
	const yaml_char_t *anchor =
	    is_map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
	struct frame *f;
	int rc;

	if (c->nframes + 1 > c->lim->max_depth)
		return limit_depth(c, ev->start_mark);
	rc = charge(c, 1, ev->start_mark);
	if (rc != 0)
		return rc;
	if (c->nframes == c->capframes) {
		size_t cap = c->capframes == 0 ? VEC_MIN_CAP : c->capframes * 2;
		struct frame *frames = realloc(c->frames, cap * sizeof(*frames));

		if (frames == NULL)
			return -ENOMEM;
		c->frames = frames;
		c->capframes = cap;
	}
	f = &c->frames[c->nframes];
	memset(f, 0, sizeof(*f));
	cfgfs_keyset_init(&f->keys, c->seed);
	c->nframes++;
	f->node = node_new(c, is_map ? CFGFS_NODE_MAPPING : CFGFS_NODE_SEQUENCE, ev->start_mark);
	if (f->node == NULL)
		return -ENOMEM;
	rc = keep_tag(&f->node->tag, c, tag);
	if (rc != 0)
		return rc;
	if (anchor != NULL) {
		f->anchor = cfgfs_arena_strndup(c->doc->arena, (const char *)anchor,
		                                strlen((const char *)anchor));
		if (f->anchor == NULL)
			return -ENOMEM;
	}
	return 0;
}

static int on_collection_end(struct yctx *c)
{
	struct frame *f = &c->frames[c->nframes - 1];
	struct cfgfs_node *n = f->node;
	size_t weight, i;
	unsigned height;
	int rc;

	rc = apply_merges(f);
	if (rc != 0)
		return rc;
	if (n->kind == CFGFS_NODE_MAPPING && f->items.n > 0) {
		struct cfgfs_pair *pairs;
		size_t count = f->items.n / 2;

		pairs = cfgfs_arena_alloc(c->doc->arena, count * sizeof(*pairs));
		if (pairs == NULL)
			return -ENOMEM;
		for (i = 0; i < count; i++) {
			pairs[i].key = f->items.v[2 * i];
			pairs[i].value = f->items.v[2 * i + 1];
		}
		n->mapping.pairs = pairs;
		n->mapping.count = count;
	} else if (f->items.n > 0) {
		const struct cfgfs_node **items;

		items = cfgfs_arena_alloc(c->doc->arena, f->items.n * sizeof(*items));
		if (items == NULL)
			return -ENOMEM;
		for (i = 0; i < f->items.n; i++)
			items[i] = f->items.v[i];
		n->sequence.items = items;
		n->sequence.count = f->items.n;
	}
	weight = sat_add(f->weight, 1);
	height = f->child_height + 1;
	rc = register_anchor(c, f->anchor, n, weight, height);
	frame_fini(f);
	c->nframes--;
	if (rc != 0)
		return rc;
	return add_child(c, n, weight, height, false);
}

/* Type of a scalar tagged with a core tag such as !!int; -EINVAL if impossible. */
static int resolve_tagged(struct yctx *c, struct cfgfs_node *n, const char *tag)
{
	const char *name = tag + sizeof(YAML_STD_TAG_PREFIX) - 1;
	enum cfgfs_scalar_type want;

	if (strcmp(name, "null") == 0)
		want = CFGFS_SCALAR_NULL;
	else if (strcmp(name, "bool") == 0)
		want = CFGFS_SCALAR_BOOL;
	else if (strcmp(name, "int") == 0)
		want = CFGFS_SCALAR_INT;
	else if (strcmp(name, "float") == 0)
		want = CFGFS_SCALAR_FLOAT;
	else
		return 0; /* !!str and non-core standard tags stay strings */
	cfgfs_doc_resolve_core(&n->scalar);
	if (want == CFGFS_SCALAR_FLOAT && n->scalar.type == CFGFS_SCALAR_INT)
		n->scalar.type = CFGFS_SCALAR_FLOAT;
	if (n->scalar.type != want) {
		char quoted[CFGFS_DIAG_MESSAGE_MAX / 2];

		n->scalar.type = CFGFS_SCALAR_STRING;
		cfgfs_doc_quote(quoted, sizeof(quoted), n->scalar.text, n->scalar.len);
		return cfgfs_diag_set(c->d, CFGFS_REASON_SYNTAX, n->line, n->col,
		                      "%s is not a valid !!%s", quoted, name);
	}
	return 0;
}

static int on_scalar(struct yctx *c, const yaml_event_t *ev)
{
	const char *tag = (const char *)ev->data.scalar.tag;
	bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	const char *anchor = (const char *)ev->data.scalar.anchor;
	bool is_merge;
	struct cfgfs_node *n;
	int rc;

	rc = charge(c, 1, ev->start_mark);
	if (rc != 0)
		return rc;
	n = node_new(c, CFGFS_NODE_SCALAR, ev->start_mark);
	if (n == NULL)
		return -ENOMEM;
	n->scalar.text = cfgfs_arena_strndup(c->doc->arena, (const char *)ev->data.scalar.value,
	                                     ev->data.scalar.length);
	if (n->scalar.text == NULL)
		return -ENOMEM;
	n->scalar.len = ev->data.scalar.length;
	n->scalar.type = CFGFS_SCALAR_STRING;
	rc = keep_tag(&n->tag, c, ev->data.scalar.tag);
	if (rc != 0)
		return rc;
	if (tag == NULL && plain)
		cfgfs_doc_resolve_core(&n->scalar);
	else if (tag != NULL &&
	         strncmp(tag, YAML_STD_TAG_PREFIX, sizeof(YAML_STD_TAG_PREFIX) - 1) == 0)
		rc = resolve_tagged(c, n, tag);
	if (rc != 0)
		return rc;
	is_merge = strcmp(n->scalar.text, YAML_MERGE_KEY) == 0 &&
	           ((tag == NULL && plain) ||
	            (tag != NULL && strcmp(tag, YAML_STD_TAG_PREFIX "merge") == 0));
	if (anchor != NULL) {
		char *name = cfgfs_arena_strndup(c->doc->arena, anchor, strlen(anchor));

		if (name == NULL)
			return -ENOMEM;
		rc = register_anchor(c, name, n, 1, 0);
		if (rc != 0)
			return rc;
	}
	return add_child(c, n, 1, 0, is_merge);
}

static int on_alias(struct yctx *c, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	void **slot = cfgfs_keyset_find(&c->anchors, str_hash(name), name, str_equal);
	const struct anchor *a;
	int rc;

	if (slot == NULL) {
		char quoted[CFGFS_DIAG_MESSAGE_MAX / 2];

		cfgfs_doc_quote(quoted, sizeof(quoted), name, strlen(name));
		return cfgfs_diag_set(c->d, CFGFS_REASON_SYNTAX, (unsigned)ev->start_mark.line + 1,
		                      (unsigned)ev->start_mark.column + 1,
		                      "alias to undefined anchor %s", quoted);
	}
	a = *slot;
	if (c->nframes + a->height > c->lim->max_depth)
		return limit_depth(c, ev->start_mark);
	rc = charge(c, a->weight, ev->start_mark);
	if (rc != 0)
		return rc;
	return add_child(c, a->node, a->weight, a->height, false);
}

static void on_document_start(struct yctx *c)
{
	/* Anchors never cross documents; the budget is per document. */
	cfgfs_keyset_fini(&c->anchors);
	c->used = 0;
}

static int report_parser_error(struct yctx *c, const yaml_parser_t *p)
{
	const char *problem = p->problem != NULL ? p->problem : "invalid YAML";
	struct cfgfs_pos pos;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		return -ENOMEM;
	case YAML_READER_ERROR:
		pos = cfgfs_pos_at(c->buf, c->len, p->problem_offset);
		if (p->problem_value >= 0)
			return cfgfs_diag_set(c->d, CFGFS_REASON_ENCODING, pos.line, pos.col,
			                      "%s (#x%X)", problem, (unsigned)p->problem_value);
		return cfgfs_diag_set(c->d, CFGFS_REASON_ENCODING, pos.line, pos.col, "%s",
		                      problem);
	default:
		break;
	}
	if (p->context != NULL)
		return cfgfs_diag_set(c->d, CFGFS_REASON_SYNTAX, (unsigned)p->problem_mark.line + 1,
		                      (unsigned)p->problem_mark.column + 1,
		                      "%s (%s started at line %u, column %u)", problem, p->context,
		                      (unsigned)p->context_mark.line + 1,
		                      (unsigned)p->context_mark.column + 1);
	return cfgfs_diag_set(c->d, CFGFS_REASON_SYNTAX, (unsigned)p->problem_mark.line + 1,
	                      (unsigned)p->problem_mark.column + 1, "%s", problem);
}

static int dispatch(struct yctx *c, const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		on_document_start(c);
		return 0;
	case YAML_SCALAR_EVENT:
		return on_scalar(c, ev);
	case YAML_ALIAS_EVENT:
		return on_alias(c, ev);
	case YAML_SEQUENCE_START_EVENT:
		return on_collection_start(c, ev, false);
	case YAML_MAPPING_START_EVENT:
		return on_collection_start(c, ev, true);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return on_collection_end(c);
	default:
		return 0;
	}
}

static int publish_roots(struct yctx *c)
{
	const struct cfgfs_node **roots;
	size_t i;

	if (c->roots.n == 0)
		return 0;
	roots = cfgfs_arena_alloc(c->doc->arena, c->roots.n * sizeof(*roots));
	if (roots == NULL)
		return -ENOMEM;
	for (i = 0; i < c->roots.n; i++)
		roots[i] = c->roots.v[i];
	c->doc->roots = roots;
	c->doc->count = c->roots.n;
	return 0;
}

int cfgfs_yaml_parse(struct cfgfs_doc *doc, struct cfgfs_diag *d, const char *buf, size_t len,
                     const struct cfgfs_limits *lim)
{
	struct yctx c = {.doc = doc, .d = d, .lim = lim, .buf = buf, .len = len};
	yaml_parser_t parser;
	bool parser_ready = false;
	bool done = false;
	int rc = 0;

	c.seed = cfgfs_hash_bytes(CFGFS_HASH_INIT, &(uintptr_t){(uintptr_t)&c}, sizeof(uintptr_t));
	cfgfs_keyset_init(&c.anchors, c.seed);
	if (!yaml_parser_initialize(&parser)) {
		rc = -ENOMEM;
		goto cleanup;
	}
	parser_ready = true;
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);

	while (!done) {
		yaml_event_t ev;

		if (!yaml_parser_parse(&parser, &ev)) {
			rc = report_parser_error(&c, &parser);
			goto cleanup;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		rc = dispatch(&c, &ev);
		yaml_event_delete(&ev);
		if (rc != 0)
			goto cleanup;
	}
	rc = publish_roots(&c);

cleanup:
	while (c.nframes > 0)
		frame_fini(&c.frames[--c.nframes]);
	free(c.frames);
	free(c.roots.v);
	cfgfs_keyset_fini(&c.anchors);
	if (parser_ready)
		yaml_parser_delete(&parser);
	return rc;
}
