/*
 * glob.h — gitignore-style glob patterns, compiled once, matched many times.
 *
 * Owns the meaning of every glob in the policy file (rule and hook `match`,
 * `ignore`). The semantics are git's (gitignore(5)), so `git check-ignore
 * --no-index` with the same single pattern is an exact oracle:
 *
 *   - `*` and `?` never match `/`; `[...]` takes ranges, `!`/`^` negation and
 *     `[:class:]` names, and never matches `/`; `\` escapes the next byte;
 *   - `**` is special only as a whole segment: a leading `**` + `/` matches in
 *     every directory, a trailing `/` + `**` everything inside, a middle
 *     `/` + `**` + `/` zero or more directories; elsewhere it is a plain `*`;
 *   - a pattern with a `/` at its start or middle is anchored to the tree
 *     root (a leading `/` is then dropped); otherwise it is tried against
 *     every path component's name;
 *   - a trailing `/` makes the pattern match directories only;
 *   - as in git, a path is matched when it, or any directory above it,
 *     matches: `build/` matches `build/x`, and `conf/s*` matches
 *     `conf/sub/x.yaml` (through the directory `conf/sub`);
 *   - unescaped trailing spaces are dropped, as git does.
 *
 * Differences from a .gitignore line, because a policy glob is one YAML
 * string and not a file line: a leading `#` is an ordinary character (not a
 * comment), and a leading `!` (negation) is refused at compile time.
 * Matching is case-sensitive and byte-wise.
 *
 * A compiled glob is immutable: any number of threads may match against it
 * at once. No locks, no allocation while matching.
 */
#ifndef CFGFS_GLOB_H
#define CFGFS_GLOB_H

#include <stdbool.h>
#include <stddef.h>

/* Longest pattern accepted, in bytes. */
#define CFGFS_GLOB_MAX_PATTERN 1024
/* Longest path matched, in bytes; longer paths never match (PATH_MAX - 1). */
#define CFGFS_GLOB_MAX_PATH 4095

struct cfgfs_glob;

/*
 * Compile PATTERN into *OUT (owned by the caller, release with
 * cfgfs_glob_free). Returns 0, -EINVAL with a reason in ERR (unterminated
 * `[`, unknown `[:class:]`, trailing `\`, empty pattern, leading `!`, too
 * long), or -ENOMEM. *OUT is NULL on failure. ERR may be NULL.
 */
int cfgfs_glob_compile(struct cfgfs_glob **out, const char *pattern, char *err,
		       size_t errlen);

/*
 * Does PATH (relative to the tree root, no leading or trailing slash) match?
 * IS_DIR says whether PATH itself names a directory (for patterns ending in
 * `/`); every ancestor of PATH is a directory by construction.
 */
bool cfgfs_glob_match(const struct cfgfs_glob *g, const char *path, bool is_dir);

/* The pattern as it was given to cfgfs_glob_compile. */
const char *cfgfs_glob_pattern(const struct cfgfs_glob *g);

void cfgfs_glob_free(struct cfgfs_glob *g);

#endif
