/*
 * doc.h — the in-memory document model that YAML and JSON are parsed into.
 *
 * Owns a parsed stream: one or more documents (a YAML stream may hold several;
 * JSON always holds one), each a tree of mapping, sequence and scalar nodes.
 * Every node keeps the 1-based line and column where it starts (columns count
 * characters, not bytes). Scalars carry their text and the type resolved by
 * the YAML 1.2 core schema (JSON values map onto the same types). Mappings
 * keep their pairs in document order, with `<<` merge keys already applied.
 *
 * Promises: a document is immutable once returned and may be read from many
 * threads at once. Nodes reached through an alias are shared, not copied, so
 * the graph is a DAG, never a cycle; its expanded size and depth were bounded
 * by the parser's limits, so a recursive walk is safe. All memory belongs to
 * the cfgfs_doc and is released by cfgfs_doc_free. No locks, no globals.
 */
#ifndef CFGFS_DOC_H
#define CFGFS_DOC_H

#include <stdbool.h>
#include <stddef.h>

enum cfgfs_node_kind {
	CFGFS_NODE_SCALAR,
	CFGFS_NODE_SEQUENCE,
	CFGFS_NODE_MAPPING,
};

enum cfgfs_scalar_type {
	CFGFS_SCALAR_NULL,
	CFGFS_SCALAR_BOOL,
	CFGFS_SCALAR_INT,
	CFGFS_SCALAR_FLOAT,
	CFGFS_SCALAR_STRING,
};

struct cfgfs_node;

struct cfgfs_pair {
	const struct cfgfs_node *key;
	const struct cfgfs_node *value;
};

struct cfgfs_scalar {
	enum cfgfs_scalar_type type;
	const char *text;  /* as written (decoded for quoted/JSON strings); NUL-terminated */
	size_t len;        /* bytes in text, without the NUL */
	bool boolean;      /* BOOL */
	double number;     /* INT and FLOAT: the numeric value */
	long long integer; /* INT: exact value when int_exact */
	bool int_exact;    /* INT fits in long long */
};

struct cfgfs_node {
	enum cfgfs_node_kind kind;
	unsigned line, col; /* 1-based start of the node */
	/*
	 * Tag text for application tags such as "!Ref" or "!GetAtt"; NULL when
	 * the node has no tag or a standard one (!!str, !!int, ...), which only
	 * steers the scalar type.
	 */
	const char *tag;
	union {
		struct cfgfs_scalar scalar;
		struct {
			const struct cfgfs_pair *pairs;
			size_t count;
		} mapping;
		struct {
			const struct cfgfs_node *const *items;
			size_t count;
		} sequence;
	};
};

struct cfgfs_arena;

struct cfgfs_doc {
	const struct cfgfs_node *const *roots; /* one per document, in order */
	size_t count;                          /* 0 for an empty YAML stream */
	struct cfgfs_arena *arena;             /* private: owns every node */
};

/* Frees DOC and every node in it; NULL is a no-op. */
void cfgfs_doc_free(struct cfgfs_doc *doc);

/* The value for the scalar string key KEY in MAPPING, or NULL. Linear. */
const struct cfgfs_node *cfgfs_doc_lookup(const struct cfgfs_node *mapping, const char *key);

/* "null", "bool", "int", "float" or "string". */
const char *cfgfs_doc_scalar_type_name(enum cfgfs_scalar_type type);

#endif
