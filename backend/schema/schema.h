/*
 * schema.h — JSON Schema (draft-07) validation of parsed YAML and JSON documents.
 *
 * Owns compiled schemas. A schema file (JSON, or YAML by its suffix) is parsed
 * with the formats module, checked keyword by keyword, its regular
 * expressions compiled with PCRE2 and every $ref resolved, once, at load
 * time; a schema that loads is known to be usable, so validation never fails
 * for a reason that lies in the schema. `$defs` is accepted beside draft-07's
 * `definitions`. Only references inside the schema's own document (JSON
 * pointers, `$id`-relative and plain-name fragments) and to the draft-07
 * meta-schema (built in) resolve; any other remote $ref is a load error.
 * `format` is an annotation unless the options ask for checks.
 *
 * Ownership: a struct cfgfs_schema owns its document(s), its compiled nodes
 * and its PCRE2 code; cfgfs_schema_free releases all of it. A schema made by
 * cfgfs_schema_compile borrows the caller's nodes, which must outlive it.
 * Validation borrows the instance; the diagnostic is written into the
 * caller's struct.
 *
 * Promises: a compiled schema is immutable; any number of threads may
 * validate against it at once. Validation takes no locks, touches no globals
 * and is bounded: recursion through $ref is cut off at
 * CFGFS_SCHEMA_MAX_EVAL_DEPTH and every regex match at PCRE2 limits.
 */
#ifndef CFGFS_SCHEMA_H
#define CFGFS_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include "backend/formats/doc.h"
#include "backend/formats/validate.h"

/* Reason set in struct cfgfs_diag by a failed validation. */
#define CFGFS_REASON_SCHEMA "schema"

/* Nested schema evaluations (keywords, $ref) per instance path. */
#define CFGFS_SCHEMA_MAX_EVAL_DEPTH 256u
/* Longest chain of pure "$ref" hops followed at load time. */
#define CFGFS_SCHEMA_MAX_REF_CHAIN 64u

struct cfgfs_schema;

struct cfgfs_schema_options {
	/*
	 * Check "format" for date-time, email, ipv4, ipv6, uri, uri-reference,
	 * hostname and regex (other formats stay annotations). Off by default: draft-07 lets
	 * format be an annotation, and configs rarely want it enforced.
	 */
	bool check_formats;
};

/*
 * Loads FILE (JSON, or YAML when it ends in .yaml/.yml) with default options.
 * 0 and *OUT set (free with cfgfs_schema_free); -EINVAL with
 * "FILE:LINE:COL: message" in ERR for a file that is not valid JSON/YAML or
 * not a valid draft-07 schema (a keyword of the wrong type, a bad regex, an
 * unresolvable $ref); -errno for I/O; -ENOMEM. *OUT is NULL on failure.
 */
int cfgfs_schema_load(struct cfgfs_schema **out, const char *file, char *err, size_t errlen);

/* As cfgfs_schema_load, with OPT (NULL means the defaults). */
int cfgfs_schema_load_opts(struct cfgfs_schema **out, const char *file,
                           const struct cfgfs_schema_options *opt, char *err, size_t errlen);

/*
 * Compiles the schema ROOT, a node of a parsed document that the caller keeps
 * alive (and unchanged) for as long as the schema exists. NAME prefixes load
 * errors as FILE does above. Returns as cfgfs_schema_load.
 */
int cfgfs_schema_compile(struct cfgfs_schema **out, const struct cfgfs_node *root,
                         const char *name, const struct cfgfs_schema_options *opt, char *err,
                         size_t errlen);

/* Frees S; NULL is a no-op. */
void cfgfs_schema_free(struct cfgfs_schema *s);

/*
 * Validates one document root. 0 when valid (OUT cleared); -EINVAL with the
 * first problem found in OUT: reason CFGFS_REASON_SCHEMA, the line/column of
 * the offending instance node, and a message that starts with its JSON path,
 * e.g. `$.spec.replicas: -1 is less than the minimum of 0`. -ENOMEM.
 * Object members are checked in document order, so the problem reported is
 * the earliest one in the file at each level.
 */
int cfgfs_schema_validate(const struct cfgfs_schema *s, const struct cfgfs_node *root,
                          struct cfgfs_diag *out);

#endif
