/*
 * meta.h — the on-store record of what git does not keep: each entry's full
 * mode, owner, group and mtime, and a directory's own existence when empty.
 *
 * Every directory of a committed tree holds one blob named CFGFS_META_NAME.
 * Its first line is the directory itself ("."), then one line per file or
 * symlink in that directory (subdirectories describe themselves):
 *
 *     cfgfs-meta 1
 *     <mode-octal> <uid> <gid> <mtime-sec> <mtime-nsec> <name>
 *
 * Names are escaped: backslash as "\\", newline as "\n". Lines are sorted by
 * name, so equal directories give equal blobs. Because every directory has
 * this blob, empty directories survive in git. Pure functions, no locks.
 */
#ifndef CFGFS_META_H
#define CFGFS_META_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CFGFS_META_NAME ".cfgfs-meta"
#define CFGFS_META_HEADER "cfgfs-meta 1\n"

struct cfgfs_meta {
	uint32_t mode; /* with the S_IFMT bits */
	uint32_t uid;
	uint32_t gid;
	int64_t mtime_sec;
	int32_t mtime_nsec;
};

struct cfgfs_meta_entry {
	char *name; /* "." for the directory itself */
	struct cfgfs_meta meta;
};

struct cfgfs_meta_dir {
	struct cfgfs_meta_entry *v;
	size_t n, cap;
};

/* Parse a blob. 0, or -EINVAL for a malformed blob (the dir is then empty). */
int cfgfs_meta_parse(struct cfgfs_meta_dir *out, const char *buf, size_t len);

/* Serialize into a malloc'd buffer the caller frees. 0 or -ENOMEM. */
int cfgfs_meta_format(char **out, size_t *out_len, const struct cfgfs_meta_dir *d);

/* The entry for NAME, or NULL. */
const struct cfgfs_meta *cfgfs_meta_get(const struct cfgfs_meta_dir *d, const char *name);

/* Insert or replace NAME. 0 or -ENOMEM. */
int cfgfs_meta_set(struct cfgfs_meta_dir *d, const char *name, const struct cfgfs_meta *m);

/* Remove NAME if present. */
void cfgfs_meta_remove(struct cfgfs_meta_dir *d, const char *name);

void cfgfs_meta_dir_free(struct cfgfs_meta_dir *d);

#endif
