/*
 * schema_internal.h — shared plumbing of the schema module; not for callers
 * outside backend/schema/ (they use schema.h).
 *
 * Owns the compiled form of a schema: one struct snode per schema object or
 * boolean schema, every keyword value checked and converted once, every $ref
 * pointing at its target snode. All snodes, strings and PCRE2 code belong to
 * the struct cfgfs_schema and die with it. Compiled data is read-only after
 * cfgfs_schema_compile returns; nothing here is global.
 */
#ifndef CFGFS_SCHEMA_INTERNAL_H
#define CFGFS_SCHEMA_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/formats/doc.h"
#include "backend/schema/schema.h"

/* Bits of snode.types. */
enum {
	TYPE_NULL = 1u << 0,
	TYPE_BOOLEAN = 1u << 1,
	TYPE_OBJECT = 1u << 2,
	TYPE_ARRAY = 1u << 3,
	TYPE_NUMBER = 1u << 4,
	TYPE_STRING = 1u << 5,
	TYPE_INTEGER = 1u << 6,
};

enum schema_format {
	FORMAT_NONE = 0, /* no format keyword, or one we only annotate */
	FORMAT_DATE_TIME,
	FORMAT_EMAIL,
	FORMAT_IPV4,
	FORMAT_IPV6,
	FORMAT_URI,
	FORMAT_HOSTNAME,
	FORMAT_REGEX,
	FORMAT_URI_REFERENCE,
};

struct snode;

struct sregex {
	pcre2_code *code;
	const char *source; /* the pattern as written, for messages */
};

struct sprop {
	const char *name;
	size_t len;
	struct snode *schema;
};

struct spattern_prop {
	struct sregex re;
	struct snode *schema;
};

struct sdependency {
	const char *name;
	size_t len;
	const struct cfgfs_node *required; /* array form: a sequence of strings */
	struct snode *schema;              /* schema form */
};

struct slist {
	struct snode **items;
	size_t count;
};

struct snode {
	const struct cfgfs_node *src; /* the schema value this was compiled from */
	bool is_bool, bool_value;     /* boolean schema true/false */

	/* $ref: when set, every sibling keyword is ignored (draft-07). */
	const char *ref;              /* as written, for messages */
	const struct cfgfs_node *ref_node;
	const char *ref_uri;          /* resolved against the base URI */
	struct snode *ref_target;

	unsigned types; /* TYPE_* bits; 0 when there is no "type" */
	const struct cfgfs_node *enum_values; /* sequence */
	const struct cfgfs_node *const_value;

	const struct cfgfs_node *multiple_of, *maximum, *exclusive_maximum, *minimum,
	    *exclusive_minimum; /* numeric scalars */

	bool has_max_length, has_max_items, has_max_props;
	size_t max_length, min_length; /* code points */
	struct sregex pattern;         /* code NULL when absent */
	enum schema_format format;
	const char *format_name;

	struct snode *items;           /* schema form */
	struct slist items_array;      /* array form */
	bool items_is_array;
	struct snode *additional_items;
	size_t max_items, min_items;
	bool unique_items;
	struct snode *contains;

	size_t max_props, min_props;
	const struct cfgfs_node *required; /* sequence of strings */
	struct sprop *props;
	size_t nprops;
	struct spattern_prop *pattern_props;
	size_t npattern_props;
	struct snode *additional_props;
	struct sdependency *deps;
	size_t ndeps;
	struct snode *property_names;

	struct snode *if_, *then_, *else_;
	struct slist all_of, any_of, one_of;
	struct snode *not_;
};

struct cfgfs_schema {
	struct snode *root;
	struct schema_mem *mem;   /* owns snodes, strings, arrays */
	struct cfgfs_doc *doc;    /* owned when loaded from a file */
	struct cfgfs_doc *meta;   /* the draft-07 meta-schema, when referenced */
	pcre2_code **regexes;     /* every compiled regex, for freeing */
	size_t nregexes, capregexes;
	bool check_formats;
};

/*
 * PCRE2 options for "pattern", "patternProperties" and format "regex": the
 * ECMA-262 flavour where PCRE2 can give it ($ only at the very end, \uXXXX
 * escapes, [] and [^] as empty classes), searching (never anchored).
 */
#define SCHEMA_REGEX_OPTIONS                                                                       \
	(PCRE2_UTF | PCRE2_DOLLAR_ENDONLY | PCRE2_ALT_BSUX | PCRE2_ALLOW_EMPTY_CLASS)

/* ---- memory: a bump allocator freed all at once ---- */

struct schema_mem;
struct schema_mem *schema_mem_new(void);
void schema_mem_free(struct schema_mem *m);
/* Zeroed memory, or NULL. */
void *schema_mem_alloc(struct schema_mem *m, size_t size);
char *schema_mem_strndup(struct schema_mem *m, const char *s, size_t len);

/* ---- URIs and JSON pointers (schema_uri.c) ---- */

/*
 * Resolves REF against the absolute BASE (RFC 3986 §5.2) into a new string
 * from M. NULL when out of memory.
 */
char *schema_uri_resolve(struct schema_mem *m, const char *base, const char *ref);
/* Length of URI without its "#fragment". */
size_t schema_uri_doc_len(const char *uri);
/*
 * Follows the JSON pointer FRAGMENT (percent-encoded, as in a URI fragment,
 * without the '#') from NODE. The target, or NULL when it does not exist.
 */
const struct cfgfs_node *schema_pointer_follow(const struct cfgfs_node *node,
                                               const char *fragment);

/* ---- values (schema_value.c) ---- */

/* Deep equality as JSON Schema defines it: numbers by value, keys by text. */
bool schema_value_equal(const struct cfgfs_node *a, const struct cfgfs_node *b);
/* A hash consistent with schema_value_equal. */
uint64_t schema_value_hash(const struct cfgfs_node *n);
/* Writes N for a message: JSON-quoted strings, numbers as written, {...}, [...]. */
void schema_value_render(char *dst, size_t cap, const struct cfgfs_node *n);
bool schema_is_number(const struct cfgfs_node *n);
bool schema_is_integer(const struct cfgfs_node *n);
bool schema_is_string(const struct cfgfs_node *n);
/* -1, 0, 1 as A <, ==, > B; both numeric scalars. */
int schema_number_cmp(const struct cfgfs_node *a, const struct cfgfs_node *b);
bool schema_number_multiple_of(const struct cfgfs_node *x, const struct cfgfs_node *m);
/* Code points in a valid UTF-8 string. */
size_t schema_utf8_length(const char *s, size_t len);

/* ---- formats (schema_format.c) ---- */

enum schema_format schema_format_from_name(const char *name);
bool schema_format_check(enum schema_format f, const char *s, size_t len);

/* ---- the built-in draft-07 meta-schema (schema_meta.c) ---- */

#define SCHEMA_META_URI "http://json-schema.org/draft-07/schema"
extern const char schema_meta_text[];
extern const size_t schema_meta_len;

/* ---- compiling (schema_compile.c) ---- */

int schema_compile_root(struct cfgfs_schema *s, const struct cfgfs_node *root, const char *name,
                        char *err, size_t errlen);

#endif
