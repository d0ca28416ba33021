/*
 * verdict.h — whether some bytes may be saved as a tree path: the one
 * decision a mount and `cfgfs check` share, so that both apply exactly the
 * same rules.
 *
 * In order: the policy's rule for the path (first match) or the suffix
 * gives the format; size; syntax, duplicate keys, nesting and alias limits;
 * the rule's JSON Schema, for every document of the file; the rule's check
 * command. The first problem found is the verdict.
 *
 * A verdict object is built once per policy (schemas are compiled then) and
 * is immutable afterwards: any thread may use it without locks.
 */
#ifndef CFGFS_VERDICT_H
#define CFGFS_VERDICT_H

#include <stdbool.h>
#include <stddef.h>

#include "backend/formats/validate.h"

struct cfgfs_policy;
struct cfgfs_verdict;

/* Compile POLICY's schemas. 0, or -EINVAL with "FILE:LINE:COL: message"
 * in ERR for a schema that cannot be used, -errno, -ENOMEM. POLICY must
 * outlive the result. */
int cfgfs_verdict_new(struct cfgfs_verdict **out, const struct cfgfs_policy *policy,
		      size_t max_size, char *err, size_t errlen);
void cfgfs_verdict_free(struct cfgfs_verdict *v);

/* Scratch names and ignore globs: never checked, never committed. */
bool cfgfs_verdict_ignored(const struct cfgfs_verdict *v, const char *path);

/* 0 when BUF may be saved as PATH; -EINVAL (or -EFBIG for size) with the
 * reason in *out: line/col of the problem when it has one (else 0),
 * out->reason one of "syntax", "duplicate", "limit", "encoding", "size",
 * "schema", "check". -ENOMEM. */
int cfgfs_verdict_check(const struct cfgfs_verdict *v, const char *path, const char *buf,
			size_t len, struct cfgfs_diag *out);

#endif
