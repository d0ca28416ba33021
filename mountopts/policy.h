/*
 * policy.h — the policy file, loaded once into one immutable struct.
 *
 * Owns the reading and validation of the policy file (SPEC.md, "The policy
 * file"): `rules`, `ignore` and `hooks`. Every problem is refused at load
 * time with "FILE:LINE:COL: message" (1-based, at the offending node), so a
 * mount never starts with a policy it half understood. After load the
 * struct and everything it points to are read-only: any number of threads
 * may read them without locks until cfgfs_policy_free. No locks taken, no
 * globals.
 *
 * File format decisions (also in README):
 *   - durations are an integer and a unit: `250ms`, `5s`, `2m`, `1h`, or a
 *     bare `0`; at most 24h; stored as milliseconds;
 *   - integers (`retries`) are plain decimal scalars; argv items and globs
 *     accept any non-null scalar (`[sleep, 5]` is fine);
 *   - `schema` paths are resolved against the policy file's directory and
 *     must be readable at load time;
 *   - empty `rules:`/`ignore:`/`hooks:` mean none; an empty file is an
 *     empty policy; YAML aliases and multiple documents are refused;
 *   - `ignore` globs add to the built-in scratch table (backend/names).
 */
#ifndef CFGFS_POLICY_H
#define CFGFS_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/formats/format.h"
#include "backend/names/glob.h"

/* Limits on the file itself. */
#define CFGFS_POLICY_MAX_BYTES (1024 * 1024)
#define CFGFS_POLICY_MAX_DEPTH 64
#define CFGFS_POLICY_MAX_ARGS 256
#define CFGFS_POLICY_MAX_RETRIES 100
#define CFGFS_POLICY_MAX_DURATION_MS (24ull * 60 * 60 * 1000)

/* Defaults for keys left out. */
#define CFGFS_POLICY_CHECK_TIMEOUT_MS 5000
#define CFGFS_POLICY_HOOK_DEBOUNCE_MS 200
#define CFGFS_POLICY_HOOK_TIMEOUT_MS 30000
#define CFGFS_POLICY_HOOK_RETRIES 0
#define CFGFS_POLICY_BACKOFF_INITIAL_MS 100
#define CFGFS_POLICY_BACKOFF_MAX_MS 10000

enum cfgfs_hook_on_failure {
	CFGFS_HOOK_KEEP = 0, /* report and leave the revision in place */
	CFGFS_HOOK_REVERT,   /* restore the last version this hook accepted */
};

/* One `rules` entry. First match wins (cfgfs_policy_rule_for). */
struct cfgfs_rule {
	const char *match;	       /* the glob as written */
	const struct cfgfs_glob *glob; /* compiled `match` */
	enum cfgfs_format format;      /* NONE: not given, decide by suffix */
	const char *const *check;      /* NULL-terminated argv ("{}" = the new
					* content's path), or NULL: no check */
	uint64_t timeout_ms;	       /* for `check` */
	const char *schema;	       /* absolute path, or NULL */
	unsigned line;		       /* where the rule starts in the file */
};

/* One `hooks` entry, in policy order. */
struct cfgfs_hook {
	const char *match;
	const struct cfgfs_glob *glob;
	const char *const *run; /* NULL-terminated argv, never empty */
	uint64_t debounce_ms;
	uint64_t timeout_ms;
	unsigned retries;
	uint64_t backoff_initial_ms;
	uint64_t backoff_max_ms; /* >= backoff_initial_ms */
	enum cfgfs_hook_on_failure on_failure;
	unsigned line;
};

struct cfgfs_policy;

/*
 * Load FILE into *OUT (the caller frees it with cfgfs_policy_free).
 * Returns 0; -EINVAL for a policy that is not valid (ERR gets
 * "FILE:LINE:COL: message"); -errno when FILE cannot be read (ERR gets
 * "FILE: reason"); -EFBIG above CFGFS_POLICY_MAX_BYTES; -ENOMEM. *OUT is
 * NULL on failure. ERR may be NULL.
 */
int cfgfs_policy_load(struct cfgfs_policy **out, const char *file, char *err,
		      size_t errlen);

/* No policy file: no rules, no hooks, the built-in scratch names only.
 * NULL when out of memory. Free with cfgfs_policy_free. */
struct cfgfs_policy *cfgfs_policy_default(void);

void cfgfs_policy_free(struct cfgfs_policy *p);

/* The policy file's absolute path, or NULL for the default policy. */
const char *cfgfs_policy_file(const struct cfgfs_policy *p);

/* The first rule whose glob matches PATH (a file, relative to the tree
 * root), or NULL. The pointer lives as long as P. */
const struct cfgfs_rule *cfgfs_policy_rule_for(const struct cfgfs_policy *p,
					       const char *path);

/* PATH's format: its rule's `format` when given, else by suffix
 * (cfgfs_format_from_name). */
enum cfgfs_format cfgfs_policy_format_for(const struct cfgfs_policy *p, const char *path);

/* Is PATH scratch: a built-in scratch name (last component) or matched
 * by an `ignore` glob? IS_DIR as for cfgfs_glob_match. */
bool cfgfs_policy_ignored(const struct cfgfs_policy *p, const char *path, bool is_dir);

size_t cfgfs_policy_rule_count(const struct cfgfs_policy *p);
const struct cfgfs_rule *cfgfs_policy_rule(const struct cfgfs_policy *p, size_t i);
size_t cfgfs_policy_ignore_count(const struct cfgfs_policy *p);
const struct cfgfs_glob *cfgfs_policy_ignore(const struct cfgfs_policy *p, size_t i);
size_t cfgfs_policy_hook_count(const struct cfgfs_policy *p);
const struct cfgfs_hook *cfgfs_policy_hook(const struct cfgfs_policy *p, size_t i);

#endif
