/*
 * format.h — which configuration format a tree path has.
 *
 * Owns the mapping from a file name to its format. A file's format is decided
 * by the name it is saved under (the rename target), never by a temporary
 * name; the policy may override it per rule. Pure functions, no locks.
 */
#ifndef CFGFS_FORMAT_H
#define CFGFS_FORMAT_H

enum cfgfs_format {
	CFGFS_FORMAT_NONE = 0, /* unknown: committed as it is, never parsed */
	CFGFS_FORMAT_TEXT,     /* declared text by policy: not parsed */
	CFGFS_FORMAT_YAML,
	CFGFS_FORMAT_JSON,
};

/* The format implied by PATH's suffix (.yaml, .yml, .json), else NONE. */
enum cfgfs_format cfgfs_format_from_name(const char *path);

/* "yaml", "json", "text" or "none". */
const char *cfgfs_format_name(enum cfgfs_format fmt);

#endif
