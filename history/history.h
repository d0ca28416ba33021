/*
 * history.h — the read-only view of the store's past: revisions, the tree at
 * each revision, one file's versions, and what each revision changed.
 *
 * Owns one libgit2 repository handle of its own (never the writer's), the
 * revision list (revision N = the N-th commit along the first-parent history
 * of the branch HEAD points to, counting from 1), and a per-path index
 * (path -> the revisions that wrote it) that is persisted as GITDIR/cfgfs-index
 * and extended by cfgfs_history_refresh. The index is checked against the
 * store on open: a file that does not parse, or whose newest commit is no
 * longer on HEAD's first-parent chain (a plain-git rewrite), is rebuilt. A
 * commit id hashes its parents, so a chain that still reaches the index's
 * newest commit vouches for every revision before it.
 *
 * Promises: nothing here writes the store (only the index file and, in
 * repack, packs and the removal of loose objects already packed). Answers
 * about revision N never change once N exists. cfgfs_history_versions and
 * cfgfs_history_files_list never read commits.
 *
 * Locks: every function takes the handle's one mutex around its repository
 * handle and caches, so any thread may call any function; callbacks run
 * after the lock is dropped. cfgfs_history_repack takes a second mutex (one
 * repack at a time), opens its own repository handle and never holds the
 * first, so reads and refreshes go on while it packs.
 *
 * Errors: 0 or a negative errno. Output strings and arrays are malloc'd and
 * belong to the caller.
 */
#ifndef CFGFS_HISTORY_H
#define CFGFS_HISTORY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#define CFGFS_HIST_OID_HEX 41
#define CFGFS_HIST_AUTHOR_MAX 64
/* The index file, inside the git directory. */
#define CFGFS_HISTORY_INDEX_NAME "cfgfs-index"

struct cfgfs_history;

struct cfgfs_hist_rev {
	uint64_t number;
	char commit[CFGFS_HIST_OID_HEX];
	char parent[CFGFS_HIST_OID_HEX];    /* "" for revision 1 */
	int64_t time;                       /* committer time, seconds since the epoch */
	char author[CFGFS_HIST_AUTHOR_MAX]; /* author name, cut at a character boundary */
	char *message; /* first line of the message; free with cfgfs_hist_rev_clear */
};

/* One change a revision made. OP is a static string: "create", "modify",
 * "delete", "rename" (FROM set) or "mode" (mode, owner or mtime only).
 * Directories appear too: created or removed (empty or not, when the store
 * records them), renamed, or with a changed mode/owner. */
struct cfgfs_hist_change {
	char *path;
	char *from; /* NULL unless op is "rename" */
	const char *op;
};

/* Counters, for tests and metrics. */
struct cfgfs_hist_stats {
	uint64_t commits_read;      /* commit objects looked up so far */
	uint64_t index_builds;      /* times the index was built from nothing */
	uint64_t index_loads;       /* times the index file was accepted */
	uint64_t revisions_indexed; /* revisions added to the index by diffing */
};

/* Listing callback: NAME, and TYPE a DT_* value. A nonzero return stops the
 * listing and becomes the listing's return value. */
typedef int (*cfgfs_hist_list_fn)(void *arg, const char *name, unsigned char type);

/* Open the store at GITDIR read-only and load or build the index (catching
 * up with HEAD). ERR gets a one-line reason on failure. */
int cfgfs_history_open(struct cfgfs_history **out, const char *gitdir, char *err, size_t errlen);
void cfgfs_history_close(struct cfgfs_history *h);

/* Catch up with revisions committed since the last call; a ref read when
 * there are none. A rewritten history (plain git) rebuilds the index and
 * renumbers. The index file is extended; a failure to write it is not an
 * error (the next refresh or open rewrites it). */
int cfgfs_history_refresh(struct cfgfs_history *h);

/* The newest revision number known, 0 for an empty store. */
uint64_t cfgfs_history_head(struct cfgfs_history *h);

/* Revision N (1..head); -ENOENT otherwise. */
int cfgfs_history_revision(struct cfgfs_history *h, uint64_t n, struct cfgfs_hist_rev *out);
void cfgfs_hist_rev_clear(struct cfgfs_hist_rev *r);

/* The text of .history/log: one line per revision, newest first,
 * "N <commit-id> <YYYY-MM-DDTHH:MM:SSZ> <author> <message>\n". *out is
 * malloc'd (NUL-terminated, *len excludes the NUL). */
int cfgfs_history_log_text(struct cfgfs_history *h, char **out, size_t *len);

/* The tree at revision N. PATH is relative, "" is the root; "." and ".."
 * components and CFGFS_META_NAME are never found. -ENOENT for a missing
 * path or revision, -ENOTDIR when a non-final component is not a directory.
 *
 * stat: st_mode/uid/gid/mtime from the directory's meta blob, or when a
 * plain-git tree lacks it 0644/0755 (from the git filemode), uid/gid 0 and
 * the commit time; the file type always follows git. st_size is the blob
 * size (a symlink's target length); st_nlink 1, or 2 + subdirectories for
 * a directory; st_ctime is the revision's commit time; st_ino is left 0. */
int cfgfs_history_stat(struct cfgfs_history *h, uint64_t n, const char *path, struct stat *st);
/* Entries of directory DIR at revision N (never CFGFS_META_NAME), in git's
 * order; types DT_DIR, DT_REG, DT_LNK. */
int cfgfs_history_list(struct cfgfs_history *h, uint64_t n, const char *dir, cfgfs_hist_list_fn cb,
                       void *arg);
/* Whole content of a file, or a symlink's target; -EISDIR for a directory.
 * *buf is malloc'd with a NUL after the *len bytes. */
int cfgfs_history_read(struct cfgfs_history *h, uint64_t n, const char *path, char **buf,
                       size_t *len);

/* The revisions at which PATH (a file or symlink) was created, or its
 * content, git filemode, permission bits or owner changed (a change of
 * mtime alone is no new version), ascending. A deleted-then-recreated file
 * lists both lives. -ENOENT when PATH was never a file or symlink. *revs is
 * malloc'd. Reads no commit. */
int cfgfs_history_versions(struct cfgfs_history *h, const char *path, uint64_t **revs, size_t *n);

/* The structure of .history/files/: what PATH ever was, as a mask of
 * CFGFS_HIST_WAS_DIR and CFGFS_HIST_WAS_FILE (a path can have been both at
 * different times); 0 when it never existed. "" is always a directory. */
#define CFGFS_HIST_WAS_DIR 1u
#define CFGFS_HIST_WAS_FILE 2u
unsigned cfgfs_history_files_kind(struct cfgfs_history *h, const char *path);
/* The names under DIR ("" = top of files/) that ever existed, sorted: DT_DIR
 * for a path that was ever a directory, DT_REG for one that was only ever a
 * file or symlink. -ENOENT / -ENOTDIR when DIR was never a directory. */
int cfgfs_history_files_list(struct cfgfs_history *h, const char *dir, cfgfs_hist_list_fn cb,
                             void *arg);

/* What revision N changed against N-1 (an empty tree for N = 1), sorted by
 * path. Renames are exact (same blob) only. */
int cfgfs_history_changes(struct cfgfs_history *h, uint64_t n, struct cfgfs_hist_change **out,
                          size_t *count);
void cfgfs_hist_changes_free(struct cfgfs_hist_change *v, size_t count);

/* When more than LOOSE_THRESHOLD loose objects exist, pack the objects
 * reachable from HEAD and the branches that no earlier repack packed, then
 * remove the loose objects that the new pack holds. Safe while another
 * handle commits: only objects found in the new pack are ever removed.
 * Returns the number of loose objects removed (0 when under the
 * threshold), or a negative errno. */
int cfgfs_history_repack(struct cfgfs_history *h, size_t loose_threshold);

/* Counters since open. */
void cfgfs_history_stats(struct cfgfs_history *h, struct cfgfs_hist_stats *out);

#endif
