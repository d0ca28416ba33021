/*
 * validate.h — syntax-level checks of a YAML or JSON save.
 *
 * Owns the rules every formatted file must pass before it is committed, in
 * this order: size (checked before any parsing), UTF-8 encoding, syntax,
 * nesting depth, alias expansion budget (YAML), duplicate mapping keys, and
 * trailing garbage (JSON). The first failure found is reported; its line and
 * column are 1-based and its message never names the path (callers prepend
 * "PATH:LINE:COL: ").
 *
 * Accepts YAML as people write it: multi-document streams (each document is
 * checked), anchors, aliases, `<<` merge keys, application tags (!Ref, ...)
 * and empty streams. An empty JSON text is invalid.
 *
 * Promises: reentrant and thread-safe (no globals, no locks; cJSON is only
 * handed text that already passed our own strict scanner, so it never writes
 * its static error slot). Time and memory are bounded by the limits: a deep
 * nesting or an alias bomb is refused as soon as the limit is crossed.
 * The input bytes are never modified and never re-serialized.
 */
#ifndef CFGFS_VALIDATE_H
#define CFGFS_VALIDATE_H

#include <stddef.h>

#include "backend/formats/doc.h"
#include "backend/formats/format.h"

#define CFGFS_LIMIT_MAX_SIZE ((size_t)16 * 1024 * 1024)
#define CFGFS_LIMIT_MAX_DEPTH 64u
#define CFGFS_LIMIT_MAX_NODES ((size_t)100000)

struct cfgfs_limits {
	size_t max_size;    /* bytes; larger input fails with -EFBIG */
	unsigned max_depth; /* nested collections; the root collection is level 1 */
	size_t max_nodes;   /* nodes per document, aliases counted expanded */
};

#define CFGFS_LIMITS_DEFAULT                                                                       \
	{                                                                                          \
		.max_size = CFGFS_LIMIT_MAX_SIZE, .max_depth = CFGFS_LIMIT_MAX_DEPTH,              \
		.max_nodes = CFGFS_LIMIT_MAX_NODES,                                                \
	}

#define CFGFS_DIAG_MESSAGE_MAX 512

/* Reasons are static strings; compare with ==  or strcmp. */
#define CFGFS_REASON_SYNTAX "syntax"
#define CFGFS_REASON_SIZE "size"
#define CFGFS_REASON_LIMIT "limit"
#define CFGFS_REASON_ENCODING "encoding"
#define CFGFS_REASON_DUPLICATE "duplicate"

struct cfgfs_diag {
	unsigned line, col; /* 1-based; 0 when not applicable (size) */
	const char *reason; /* one of CFGFS_REASON_*; NULL when valid */
	char message[CFGFS_DIAG_MESSAGE_MAX];
};

/*
 * Checks BUF (LEN bytes, need not be NUL-terminated) as FMT.
 * Returns 0 when valid (OUT cleared), -EINVAL when invalid (OUT filled),
 * -EFBIG when LEN > max_size (OUT filled, reason "size", line/col 0),
 * -ENOMEM. FMT NONE and TEXT always return 0. LIM NULL means the defaults.
 */
int cfgfs_validate(struct cfgfs_diag *out, enum cfgfs_format fmt, const char *buf, size_t len,
                   const struct cfgfs_limits *lim);

/*
 * Same checks; on success *OUT_DOC receives the parsed stream, owned by the
 * caller (free with cfgfs_doc_free). *OUT_DOC is NULL on failure and for FMT
 * NONE/TEXT. OUT may not be NULL.
 */
int cfgfs_doc_parse(struct cfgfs_doc **out_doc, struct cfgfs_diag *out, enum cfgfs_format fmt,
                    const char *buf, size_t len, const struct cfgfs_limits *lim);

#endif
