/*
 * scratch.h — the built-in table of editor and tool scratch names.
 *
 * Owns the single answer to "is this name a temporary that some program
 * makes while saving?" (swap, backup, lock, autosave and atomic-save temp
 * names). Scratch files behave as ordinary files while they exist but are
 * never validated and never committed; the policy's `ignore` globs add to
 * this table, they do not replace it.
 *
 * The table is one static, read-only array (scratch.c, SCRATCH_TABLE);
 * every entry names the tool, the name shape, and why the shape is safe.
 * Only the final path component is looked at. Pure functions, no locks,
 * safe from any thread.
 */
#ifndef CFGFS_SCRATCH_H
#define CFGFS_SCRATCH_H

#include <stdbool.h>
#include <stddef.h>

/* One row of the table, for README and logs. Strings are static. */
struct cfgfs_scratch_kind {
	const char *tool;    /* who makes such names, e.g. "vim" */
	const char *pattern; /* the shape, NAME = the original file name */
	const char *note;    /* what the name is for, limits of the match */
};

/* Is BASENAME a scratch name? A '/' in it: only the part after the last
 * '/' is looked at. */
bool cfgfs_scratch_match(const char *basename);

/* The first table row BASENAME matches, or NULL. */
const struct cfgfs_scratch_kind *cfgfs_scratch_which(const char *basename);

/* The rows of the table, in order (0 <= I < cfgfs_scratch_count()). */
size_t cfgfs_scratch_count(void);
const struct cfgfs_scratch_kind *cfgfs_scratch_at(size_t i);

#endif
