/*
 * policy.c — policy file loader.
 *
 * Two passes. First libyaml's event parser builds a small tree of our own
 * (scalars, sequences, mappings, each with its 1-based position), refusing
 * aliases, extra documents and nesting beyond CFGFS_POLICY_MAX_DEPTH. Then
 * a walk checks the tree against the format and fills the public structs;
 * the first problem found stops the load with its position. Nothing is
 * shared with the tree: the policy owns copies of every string.
 */
#include "mountopts/policy.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "backend/names/scratch.h"

#define GLOB_ERR_LEN 256
#define NODE_INITIAL_CAP 8 /* children; doubles as needed */
#define MS_PER_S 1000ull
#define MS_PER_M (60 * MS_PER_S)
#define MS_PER_H (60 * MS_PER_M)

struct cfgfs_policy {
	char *file; /* absolute, NULL for the default policy */
	struct cfgfs_rule *rules;
	size_t nrules;
	struct cfgfs_glob **ignore;
	size_t nignore;
	struct cfgfs_hook *hooks;
	size_t nhooks;
};

/* ---- the tree ---------------------------------------------------------- */

enum node_kind { NODE_SCALAR, NODE_SEQ, NODE_MAP };

struct node {
	enum node_kind kind;
	unsigned line, col; /* 1-based */
	char *value;	    /* scalar bytes, NUL-terminated */
	size_t len;
	bool plain;	     /* unquoted scalar */
	struct node **items; /* seq: items; map: key, value, key, value, ... */
	size_t n, cap;
};

struct loader {
	const char *file; /* as the caller named it, for messages */
	char *dir;	  /* absolute directory of the policy file */
	char *err;
	size_t errlen;
};

static int errorf(struct loader *ld, unsigned line, unsigned col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int errorf(struct loader *ld, unsigned line, unsigned col, const char *fmt, ...)
{
	if (!ld->err || !ld->errlen)
		return -EINVAL;
	int n = snprintf(ld->err, ld->errlen, "%s:%u:%u: ", ld->file, line, col);
	if (n >= 0 && (size_t)n < ld->errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(ld->err + n, ld->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

#define NODE_ERR(ld, nd, ...) errorf((ld), (nd)->line, (nd)->col, __VA_ARGS__)

static int file_error(struct loader *ld, int rc, const char *why)
{
	if (ld->err && ld->errlen)
		snprintf(ld->err, ld->errlen, "%s: %s", ld->file, why ? why : strerror(-rc));
	return rc;
}

static void node_free(struct node *nd)
{
	if (!nd)
		return;
	for (size_t i = 0; i < nd->n; i++)
		node_free(nd->items[i]);
	free(nd->items);
	free(nd->value);
	free(nd);
}

static int node_append(struct node *parent, struct node *child)
{
	if (parent->n == parent->cap) {
		size_t cap = parent->cap ? parent->cap * 2 : NODE_INITIAL_CAP;
		struct node **items = realloc(parent->items, cap * sizeof(*items));
		if (!items)
			return -ENOMEM;
		parent->items = items;
		parent->cap = cap;
	}
	parent->items[parent->n++] = child;
	return 0;
}

static struct node *node_new(enum node_kind kind, const yaml_mark_t *mark)
{
	struct node *nd = calloc(1, sizeof(*nd));
	if (!nd)
		return NULL;
	nd->kind = kind;
	nd->line = (unsigned)mark->line + 1;
	nd->col = (unsigned)mark->column + 1;
	return nd;
}

struct builder {
	struct node *root;
	struct node *stack[CFGFS_POLICY_MAX_DEPTH];
	size_t depth;
	unsigned documents;
	bool done;
};

/* Hang a new node under the open container, or make it the root. */
static int builder_add(struct loader *ld, struct builder *b, struct node *nd)
{
	if (b->depth == 0) {
		b->root = nd;
		return 0;
	}
	int rc = node_append(b->stack[b->depth - 1], nd);
	if (rc < 0) {
		node_free(nd);
		return file_error(ld, rc, NULL);
	}
	return 0;
}

static int builder_event(struct loader *ld, struct builder *b, const yaml_event_t *ev)
{
	struct node *nd = NULL;
	int rc;

	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (++b->documents > 1)
			return errorf(ld, (unsigned)ev->start_mark.line + 1,
				      (unsigned)ev->start_mark.column + 1,
				      "the policy must be a single YAML document");
		return 0;
	case YAML_STREAM_END_EVENT:
		b->done = true;
		return 0;
	case YAML_ALIAS_EVENT:
		return errorf(ld, (unsigned)ev->start_mark.line + 1,
			      (unsigned)ev->start_mark.column + 1,
			      "aliases ('*%s') are not supported in the policy file",
			      (const char *)ev->data.alias.anchor);
	case YAML_SCALAR_EVENT:
		nd = node_new(NODE_SCALAR, &ev->start_mark);
		if (!nd)
			return file_error(ld, -ENOMEM, NULL);
		nd->len = ev->data.scalar.length;
		nd->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		nd->value = malloc(nd->len + 1);
		if (!nd->value) {
			node_free(nd);
			return file_error(ld, -ENOMEM, NULL);
		}
		memcpy(nd->value, ev->data.scalar.value, nd->len);
		nd->value[nd->len] = '\0';
		return builder_add(ld, b, nd);
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if (b->depth == CFGFS_POLICY_MAX_DEPTH)
			return errorf(ld, (unsigned)ev->start_mark.line + 1,
				      (unsigned)ev->start_mark.column + 1,
				      "nested deeper than %d levels", CFGFS_POLICY_MAX_DEPTH);
		nd = node_new(ev->type == YAML_SEQUENCE_START_EVENT ? NODE_SEQ : NODE_MAP,
			      &ev->start_mark);
		if (!nd)
			return file_error(ld, -ENOMEM, NULL);
		rc = builder_add(ld, b, nd);
		if (rc < 0)
			return rc;
		b->stack[b->depth++] = nd;
		return 0;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		b->depth--;
		return 0;
	default:
		return 0;
	}
}

/* Parse BUF into *ROOT (NULL for an empty document). */
static int build_tree(struct loader *ld, const char *buf, size_t len, struct node **root)
{
	yaml_parser_t parser;
	struct builder b = { 0 };
	int rc = 0;

	*root = NULL;
	if (!yaml_parser_initialize(&parser))
		return file_error(ld, -ENOMEM, NULL);
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);

	while (!b.done) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&parser, &ev)) {
			const yaml_mark_t *m = &parser.problem_mark;
			if (parser.error == YAML_MEMORY_ERROR)
				rc = file_error(ld, -ENOMEM, NULL);
			else if (parser.context)
				rc = errorf(ld, (unsigned)m->line + 1, (unsigned)m->column + 1,
					    "%s %s", parser.problem ? parser.problem : "syntax error",
					    parser.context);
			else
				rc = errorf(ld, (unsigned)m->line + 1, (unsigned)m->column + 1,
					    "%s", parser.problem ? parser.problem : "syntax error");
			goto cleanup;
		}
		rc = builder_event(ld, &b, &ev);
		yaml_event_delete(&ev);
		if (rc < 0)
			goto cleanup;
	}
	*root = b.root;
	b.root = NULL;
cleanup:
	node_free(b.root);
	yaml_parser_delete(&parser);
	return rc;
}

/* ---- typed readers over the tree --------------------------------------- */

static const char *kind_name(const struct node *nd)
{
	switch (nd->kind) {
	case NODE_SEQ:
		return "a list";
	case NODE_MAP:
		return "a mapping";
	default:
		return "a scalar";
	}
}

/* YAML 1.2 core schema null: empty, ~, null, Null, NULL (plain only). */
static bool is_null(const struct node *nd)
{
	if (nd->kind != NODE_SCALAR || !nd->plain)
		return false;
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };
	for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
		if (strcmp(nd->value, nulls[i]) == 0)
			return true;
	return false;
}

/* The value for KEY in mapping MAP, or NULL. Keys were checked unique. */
static const struct node *map_get(const struct node *map, const char *key)
{
	for (size_t i = 0; i + 1 < map->n; i += 2)
		if (strcmp(map->items[i]->value, key) == 0)
			return map->items[i + 1];
	return NULL;
}

/*
 * MAP must be a mapping whose keys are distinct scalars from ALLOWED (a
 * NULL-terminated list); WHAT names it in messages ("rule", "hook").
 */
static int check_keys(struct loader *ld, const struct node *map, const char *what,
		      const char *const *allowed, const char *expected)
{
	if (map->kind != NODE_MAP)
		return NODE_ERR(ld, map, "%s must be a mapping, found %s", what, kind_name(map));
	for (size_t i = 0; i + 1 < map->n; i += 2) {
		const struct node *key = map->items[i];
		if (key->kind != NODE_SCALAR)
			return NODE_ERR(ld, key, "%s keys must be plain names, found %s", what,
					kind_name(key));
		bool known = false;
		for (const char *const *a = allowed; *a && !known; a++)
			known = strcmp(key->value, *a) == 0;
		if (!known)
			return NODE_ERR(ld, key, "unknown key '%s' in %s (expected %s)",
					key->value, what, expected);
		for (size_t j = 0; j < i; j += 2)
			if (strcmp(map->items[j]->value, key->value) == 0)
				return NODE_ERR(ld, key, "duplicate key '%s' in %s (first at %u:%u)",
						key->value, what, map->items[j]->line,
						map->items[j]->col);
	}
	return 0;
}

/* A non-null scalar without NUL bytes, copied into *OUT. */
static int read_string(struct loader *ld, const struct node *nd, const char *what, char **out)
{
	if (nd->kind != NODE_SCALAR || is_null(nd))
		return NODE_ERR(ld, nd, "%s must be a string, found %s", what,
				is_null(nd) ? "null" : kind_name(nd));
	if (strlen(nd->value) != nd->len)
		return NODE_ERR(ld, nd, "%s contains a NUL byte", what);
	*out = strdup(nd->value);
	return *out ? 0 : file_error(ld, -ENOMEM, NULL);
}

/* A non-empty list of strings into a NULL-terminated argv in *OUT. */
static int read_argv(struct loader *ld, const struct node *nd, const char *what,
		     const char *const **out)
{
	char **argv = NULL;
	int rc;

	if (nd->kind != NODE_SEQ)
		return NODE_ERR(ld, nd,
				"%s must be a list of strings (argv, no shell), found %s",
				what, is_null(nd) ? "null" : kind_name(nd));
	if (nd->n == 0)
		return NODE_ERR(ld, nd, "%s must not be empty", what);
	if (nd->n > CFGFS_POLICY_MAX_ARGS)
		return NODE_ERR(ld, nd, "%s has more than %d arguments", what,
				CFGFS_POLICY_MAX_ARGS);
	argv = calloc(nd->n + 1, sizeof(*argv));
	if (!argv)
		return file_error(ld, -ENOMEM, NULL);
	for (size_t i = 0; i < nd->n; i++) {
		rc = read_string(ld, nd->items[i], "an argument", &argv[i]);
		if (rc < 0)
			goto cleanup;
	}
	*out = (const char *const *)argv;
	argv = NULL;
	rc = 0;
cleanup:
	for (size_t i = 0; argv && i < nd->n; i++)
		free(argv[i]);
	free(argv);
	return rc;
}

/* `250ms`, `5s`, `2m`, `1h` or a bare `0`, into milliseconds. */
static int read_duration(struct loader *ld, const struct node *nd, const char *what,
			 bool allow_zero, uint64_t *out_ms)
{
	static const char usage[] = "a duration like 250ms, 5s, 2m or 1h";

	if (nd->kind != NODE_SCALAR || is_null(nd))
		return NODE_ERR(ld, nd, "%s must be %s, found %s", what, usage,
				is_null(nd) ? "null" : kind_name(nd));
	const char *s = nd->value;
	uint64_t v = 0;
	size_t i = 0;
	for (; s[i] >= '0' && s[i] <= '9'; i++) {
		v = v * 10 + (uint64_t)(s[i] - '0');
		if (v > CFGFS_POLICY_MAX_DURATION_MS)
			return NODE_ERR(ld, nd, "%s '%s' is longer than 24h", what, s);
	}
	if (i == 0)
		return NODE_ERR(ld, nd, "%s '%s' is not %s", what, s, usage);
	const char *unit = s + i;
	uint64_t scale;
	if (strcmp(unit, "ms") == 0)
		scale = 1;
	else if (strcmp(unit, "s") == 0)
		scale = MS_PER_S;
	else if (strcmp(unit, "m") == 0)
		scale = MS_PER_M;
	else if (strcmp(unit, "h") == 0)
		scale = MS_PER_H;
	else if (*unit == '\0' && v == 0)
		scale = 1;
	else
		return NODE_ERR(ld, nd, "%s '%s' is not %s", what, s, usage);
	if (v * scale > CFGFS_POLICY_MAX_DURATION_MS)
		return NODE_ERR(ld, nd, "%s '%s' is longer than 24h", what, s);
	if (v == 0 && !allow_zero)
		return NODE_ERR(ld, nd, "%s must be more than 0", what);
	*out_ms = v * scale;
	return 0;
}

static int read_uint(struct loader *ld, const struct node *nd, const char *what,
		     unsigned max, unsigned *out)
{
	if (nd->kind != NODE_SCALAR || !nd->plain || nd->len == 0)
		return NODE_ERR(ld, nd, "%s must be a whole number from 0 to %u", what, max);
	unsigned long v = 0;
	for (const char *s = nd->value; *s; s++) {
		if (*s < '0' || *s > '9')
			return NODE_ERR(ld, nd, "%s must be a whole number from 0 to %u", what,
					max);
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > max)
			return NODE_ERR(ld, nd, "%s must be at most %u", what, max);
	}
	*out = (unsigned)v;
	return 0;
}

static int read_glob(struct loader *ld, const struct node *nd, char **text,
		     struct cfgfs_glob **glob)
{
	char why[GLOB_ERR_LEN];
	int rc = read_string(ld, nd, "a glob", text);
	if (rc < 0)
		return rc;
	rc = cfgfs_glob_compile(glob, *text, why, sizeof(why));
	if (rc == -ENOMEM)
		return file_error(ld, rc, NULL);
	if (rc < 0)
		return NODE_ERR(ld, nd, "%s", why);
	return 0;
}

/* `schema` relative to the policy file's directory, readable now. */
static int read_schema(struct loader *ld, const struct node *nd, char **out)
{
	char *raw = NULL, *path = NULL;
	int rc = read_string(ld, nd, "schema", &raw);
	if (rc < 0)
		return rc;
	if (raw[0] == '\0') {
		rc = NODE_ERR(ld, nd, "schema must not be empty");
		goto cleanup;
	}
	if (raw[0] == '/') {
		path = raw;
		raw = NULL;
	} else if (asprintf(&path, "%s/%s", ld->dir, raw) < 0) {
		path = NULL;
		rc = file_error(ld, -ENOMEM, NULL);
		goto cleanup;
	}
	if (access(path, R_OK) != 0) {
		rc = NODE_ERR(ld, nd, "schema '%s': %s", path, strerror(errno));
		goto cleanup;
	}
	*out = path;
	path = NULL;
	rc = 0;
cleanup:
	free(raw);
	free(path);
	return rc;
}

/* ---- the sections ------------------------------------------------------ */

static int read_format(struct loader *ld, const struct node *nd, enum cfgfs_format *out)
{
	static const struct {
		const char *name;
		enum cfgfs_format format;
	} formats[] = {
		{ "yaml", CFGFS_FORMAT_YAML },
		{ "json", CFGFS_FORMAT_JSON },
		{ "text", CFGFS_FORMAT_TEXT },
	};
	if (nd->kind == NODE_SCALAR)
		for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
			if (strcmp(nd->value, formats[i].name) == 0) {
				*out = formats[i].format;
				return 0;
			}
	return NODE_ERR(ld, nd, "format must be yaml, json or text");
}

static int read_rule(struct loader *ld, const struct node *map, struct cfgfs_rule *r)
{
	static const char *const keys[] = { "match", "format", "check", "timeout", "schema", NULL };
	const struct node *nd;
	char *match = NULL, *schema = NULL;
	struct cfgfs_glob *glob = NULL;
	int rc;

	rc = check_keys(ld, map, "rule", keys, "match, format, check, timeout, schema");
	if (rc < 0)
		return rc;
	r->line = map->line;
	r->timeout_ms = CFGFS_POLICY_CHECK_TIMEOUT_MS;
	if (!(nd = map_get(map, "match")))
		return NODE_ERR(ld, map, "rule is missing required key 'match'");
	rc = read_glob(ld, nd, &match, &glob);
	r->match = match;
	r->glob = glob;
	if (rc < 0)
		return rc;
	if ((nd = map_get(map, "format")) && (rc = read_format(ld, nd, &r->format)) < 0)
		return rc;
	if ((nd = map_get(map, "check")) && (rc = read_argv(ld, nd, "check", &r->check)) < 0)
		return rc;
	if ((nd = map_get(map, "timeout")) &&
	    (rc = read_duration(ld, nd, "timeout", false, &r->timeout_ms)) < 0)
		return rc;
	if ((nd = map_get(map, "schema"))) {
		if (r->format == CFGFS_FORMAT_TEXT)
			return NODE_ERR(ld, nd, "a schema applies to yaml and json, not text");
		rc = read_schema(ld, nd, &schema);
		r->schema = schema;
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int read_backoff(struct loader *ld, const struct node *map, struct cfgfs_hook *h)
{
	static const char *const keys[] = { "initial", "max", NULL };
	const struct node *nd, *max_nd;
	int rc = check_keys(ld, map, "backoff", keys, "initial, max");
	if (rc < 0)
		return rc;
	if ((nd = map_get(map, "initial")) &&
	    (rc = read_duration(ld, nd, "backoff initial", false, &h->backoff_initial_ms)) < 0)
		return rc;
	if ((max_nd = map_get(map, "max"))) {
		rc = read_duration(ld, max_nd, "backoff max", false, &h->backoff_max_ms);
		if (rc < 0)
			return rc;
		if (h->backoff_max_ms < h->backoff_initial_ms)
			return NODE_ERR(ld, max_nd, "backoff max (%llums) is below initial (%llums)",
					(unsigned long long)h->backoff_max_ms,
					(unsigned long long)h->backoff_initial_ms);
	} else if (h->backoff_max_ms < h->backoff_initial_ms) {
		h->backoff_max_ms = h->backoff_initial_ms; /* only initial given */
	}
	return 0;
}

static int read_hook(struct loader *ld, const struct node *map, struct cfgfs_hook *h)
{
	static const char *const keys[] = { "match", "run", "debounce", "timeout", "retries",
					    "backoff", "on_failure", NULL };
	const struct node *nd;
	char *match = NULL;
	struct cfgfs_glob *glob = NULL;
	int rc;

	rc = check_keys(ld, map, "hook", keys,
			"match, run, debounce, timeout, retries, backoff, on_failure");
	if (rc < 0)
		return rc;
	h->line = map->line;
	h->debounce_ms = CFGFS_POLICY_HOOK_DEBOUNCE_MS;
	h->timeout_ms = CFGFS_POLICY_HOOK_TIMEOUT_MS;
	h->retries = CFGFS_POLICY_HOOK_RETRIES;
	h->backoff_initial_ms = CFGFS_POLICY_BACKOFF_INITIAL_MS;
	h->backoff_max_ms = CFGFS_POLICY_BACKOFF_MAX_MS;
	h->on_failure = CFGFS_HOOK_KEEP;
	if (!(nd = map_get(map, "match")))
		return NODE_ERR(ld, map, "hook is missing required key 'match'");
	rc = read_glob(ld, nd, &match, &glob);
	h->match = match;
	h->glob = glob;
	if (rc < 0)
		return rc;
	if (!(nd = map_get(map, "run")))
		return NODE_ERR(ld, map, "hook is missing required key 'run'");
	if ((rc = read_argv(ld, nd, "run", &h->run)) < 0)
		return rc;
	if ((nd = map_get(map, "debounce")) &&
	    (rc = read_duration(ld, nd, "debounce", true, &h->debounce_ms)) < 0)
		return rc;
	if ((nd = map_get(map, "timeout")) &&
	    (rc = read_duration(ld, nd, "timeout", false, &h->timeout_ms)) < 0)
		return rc;
	if ((nd = map_get(map, "retries")) &&
	    (rc = read_uint(ld, nd, "retries", CFGFS_POLICY_MAX_RETRIES, &h->retries)) < 0)
		return rc;
	if ((nd = map_get(map, "backoff")) && (rc = read_backoff(ld, nd, h)) < 0)
		return rc;
	if ((nd = map_get(map, "on_failure"))) {
		if (nd->kind == NODE_SCALAR && strcmp(nd->value, "keep") == 0)
			h->on_failure = CFGFS_HOOK_KEEP;
		else if (nd->kind == NODE_SCALAR && strcmp(nd->value, "revert") == 0)
			h->on_failure = CFGFS_HOOK_REVERT;
		else
			return NODE_ERR(ld, nd, "on_failure must be keep or revert");
	}
	return 0;
}

/* A top-level list: null means empty; otherwise a sequence. */
static int section_items(struct loader *ld, const struct node *nd, const char *what,
			 size_t *n)
{
	*n = 0;
	if (!nd || is_null(nd))
		return 0;
	if (nd->kind != NODE_SEQ)
		return NODE_ERR(ld, nd, "'%s' must be a list, found %s", what, kind_name(nd));
	*n = nd->n;
	return 0;
}

static int read_policy(struct loader *ld, const struct node *root, struct cfgfs_policy *p)
{
	static const char *const keys[] = { "rules", "ignore", "hooks", NULL };
	const struct node *rules, *ignore, *hooks;
	size_t n;
	int rc;

	if (!root || is_null(root))
		return 0; /* an empty file: an empty policy */
	rc = check_keys(ld, root, "the policy", keys, "rules, ignore, hooks");
	if (rc < 0)
		return rc;

	rules = map_get(root, "rules");
	if ((rc = section_items(ld, rules, "rules", &n)) < 0)
		return rc;
	if (n && !(p->rules = calloc(n, sizeof(*p->rules))))
		return file_error(ld, -ENOMEM, NULL);
	for (; p->nrules < n; p->nrules++)
		if ((rc = read_rule(ld, rules->items[p->nrules], &p->rules[p->nrules])) < 0) {
			p->nrules++; /* so cfgfs_policy_free sees the partial rule */
			return rc;
		}

	ignore = map_get(root, "ignore");
	if ((rc = section_items(ld, ignore, "ignore", &n)) < 0)
		return rc;
	if (n && !(p->ignore = calloc(n, sizeof(*p->ignore))))
		return file_error(ld, -ENOMEM, NULL);
	for (; p->nignore < n; p->nignore++) {
		char *text = NULL;
		rc = read_glob(ld, ignore->items[p->nignore], &text, &p->ignore[p->nignore]);
		free(text);
		if (rc < 0)
			return rc;
	}

	hooks = map_get(root, "hooks");
	if ((rc = section_items(ld, hooks, "hooks", &n)) < 0)
		return rc;
	if (n && !(p->hooks = calloc(n, sizeof(*p->hooks))))
		return file_error(ld, -ENOMEM, NULL);
	for (; p->nhooks < n; p->nhooks++)
		if ((rc = read_hook(ld, hooks->items[p->nhooks], &p->hooks[p->nhooks])) < 0) {
			p->nhooks++;
			return rc;
		}
	return 0;
}

/* ---- loading ----------------------------------------------------------- */

/* Read FILE whole into *BUF (NUL-terminated), refusing large files. */
static int read_file(struct loader *ld, char **buf, size_t *len)
{
	struct stat st;
	char *data = NULL;
	size_t have = 0;
	int fd, rc;

	fd = open(ld->file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return file_error(ld, -errno, NULL);
	if (fstat(fd, &st) != 0) {
		rc = file_error(ld, -errno, NULL);
		goto cleanup;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = file_error(ld, -EINVAL, "not a regular file");
		goto cleanup;
	}
	if (st.st_size > CFGFS_POLICY_MAX_BYTES) {
		rc = file_error(ld, -EFBIG, "larger than 1 MiB");
		goto cleanup;
	}
	data = malloc(CFGFS_POLICY_MAX_BYTES + 1);
	if (!data) {
		rc = file_error(ld, -ENOMEM, NULL);
		goto cleanup;
	}
	for (;;) {
		ssize_t got = read(fd, data + have, CFGFS_POLICY_MAX_BYTES + 1 - have);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			rc = file_error(ld, -errno, NULL);
			goto cleanup;
		}
		if (got == 0)
			break;
		have += (size_t)got;
		if (have > CFGFS_POLICY_MAX_BYTES) {
			rc = file_error(ld, -EFBIG, "larger than 1 MiB");
			goto cleanup;
		}
	}
	data[have] = '\0';
	*buf = data;
	*len = have;
	data = NULL;
	rc = 0;
cleanup:
	free(data);
	if (close(fd) != 0 && rc == 0)
		rc = file_error(ld, -errno, NULL);
	return rc;
}

int cfgfs_policy_load(struct cfgfs_policy **out, const char *file, char *err, size_t errlen)
{
	struct loader ld = { .file = file, .err = err, .errlen = errlen };
	struct cfgfs_policy *p = NULL;
	struct node *root = NULL;
	char *buf = NULL, *abs = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	rc = read_file(&ld, &buf, &len);
	if (rc < 0)
		goto cleanup;
	abs = realpath(file, NULL);
	if (!abs) {
		rc = file_error(&ld, -errno, NULL);
		goto cleanup;
	}
	ld.dir = strdup(abs);
	if (!ld.dir) {
		rc = file_error(&ld, -ENOMEM, NULL);
		goto cleanup;
	}
	char *slash = strrchr(ld.dir, '/');
	slash[slash == ld.dir ? 1 : 0] = '\0'; /* "/policy.yaml" keeps "/" */

	rc = build_tree(&ld, buf, len, &root);
	if (rc < 0)
		goto cleanup;
	p = calloc(1, sizeof(*p));
	if (!p) {
		rc = file_error(&ld, -ENOMEM, NULL);
		goto cleanup;
	}
	p->file = abs;
	abs = NULL;
	rc = read_policy(&ld, root, p);
	if (rc < 0)
		goto cleanup;
	*out = p;
	p = NULL;
cleanup:
	cfgfs_policy_free(p);
	node_free(root);
	free(ld.dir);
	free(abs);
	free(buf);
	return rc;
}

struct cfgfs_policy *cfgfs_policy_default(void)
{
	return calloc(1, sizeof(struct cfgfs_policy));
}

static void argv_free(const char *const *argv)
{
	for (size_t i = 0; argv && argv[i]; i++)
		free((char *)argv[i]);
	free((void *)argv);
}

void cfgfs_policy_free(struct cfgfs_policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nrules; i++) {
		struct cfgfs_rule *r = &p->rules[i];
		free((char *)r->match);
		cfgfs_glob_free((struct cfgfs_glob *)r->glob);
		argv_free(r->check);
		free((char *)r->schema);
	}
	for (size_t i = 0; i < p->nignore; i++)
		cfgfs_glob_free(p->ignore[i]);
	for (size_t i = 0; i < p->nhooks; i++) {
		struct cfgfs_hook *h = &p->hooks[i];
		free((char *)h->match);
		cfgfs_glob_free((struct cfgfs_glob *)h->glob);
		argv_free(h->run);
	}
	free(p->rules);
	free(p->ignore);
	free(p->hooks);
	free(p->file);
	free(p);
}

/* ---- queries ----------------------------------------------------------- */

const char *cfgfs_policy_file(const struct cfgfs_policy *p)
{
	return p->file;
}

const struct cfgfs_rule *cfgfs_policy_rule_for(const struct cfgfs_policy *p, const char *path)
{
	for (size_t i = 0; i < p->nrules; i++)
		if (cfgfs_glob_match(p->rules[i].glob, path, false))
			return &p->rules[i];
	return NULL;
}

enum cfgfs_format cfgfs_policy_format_for(const struct cfgfs_policy *p, const char *path)
{
	const struct cfgfs_rule *r = cfgfs_policy_rule_for(p, path);
	if (r && r->format != CFGFS_FORMAT_NONE)
		return r->format;
	return cfgfs_format_from_name(path);
}

bool cfgfs_policy_ignored(const struct cfgfs_policy *p, const char *path, bool is_dir)
{
	if (cfgfs_scratch_match(path))
		return true;
	for (size_t i = 0; i < p->nignore; i++)
		if (cfgfs_glob_match(p->ignore[i], path, is_dir))
			return true;
	return false;
}

size_t cfgfs_policy_rule_count(const struct cfgfs_policy *p)
{
	return p->nrules;
}

const struct cfgfs_rule *cfgfs_policy_rule(const struct cfgfs_policy *p, size_t i)
{
	return i < p->nrules ? &p->rules[i] : NULL;
}

size_t cfgfs_policy_ignore_count(const struct cfgfs_policy *p)
{
	return p->nignore;
}

const struct cfgfs_glob *cfgfs_policy_ignore(const struct cfgfs_policy *p, size_t i)
{
	return i < p->nignore ? p->ignore[i] : NULL;
}

size_t cfgfs_policy_hook_count(const struct cfgfs_policy *p)
{
	return p->nhooks;
}

const struct cfgfs_hook *cfgfs_policy_hook(const struct cfgfs_policy *p, size_t i)
{
	return i < p->nhooks ? &p->hooks[i] : NULL;
}
