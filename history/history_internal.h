/*
 * history_internal.h — what the history/ files share: the handle, the
 * revision list, the path index and the meta cache. Everything here is
 * guarded by cfgfs_history.lock unless said otherwise; functions declared
 * here expect the caller to hold it.
 */
#ifndef CFGFS_HISTORY_INTERNAL_H
#define CFGFS_HISTORY_INTERNAL_H

#include <git2.h>
#include <pthread.h>
#include <stdbool.h>

#include "backend/meta.h"
#include "history/history.h"

/* Slots of the direct-mapped cache of parsed meta blobs, by blob id. */
#define HIST_META_CACHE_SLOTS 256

struct hist_buf {
	char *p;
	size_t len, cap;
};

struct hist_rev {
	git_oid commit;
	git_oid tree;
	int64_t time;
	char *author;
	char *message; /* first line */
};

/* One path that ever existed; the index of .history/files/. */
struct hist_node {
	char *path; /* "" for the root */
	uint32_t hash;
	unsigned kinds;   /* CFGFS_HIST_WAS_DIR | CFGFS_HIST_WAS_FILE */
	uint64_t dir_rev; /* first revision it was seen as a directory, 0 if never */
	uint64_t *revs;   /* versions as a file, ascending */
	size_t nrevs, revcap;
	struct hist_node **kids;
	size_t nkids, kidcap;
};

struct hist_table {
	struct hist_node **slots; /* open addressing, linear probing */
	size_t cap, count;
	struct hist_node *root;
};

struct hist_meta_slot {
	bool used;
	git_oid id;
	struct cfgfs_meta_dir md;
};

struct cfgfs_history {
	pthread_mutex_t lock; /* guards everything below except repack_lock's part */
	git_repository *repo;
	git_odb *odb; /* repo's, for object sizes */
	char *gitdir; /* git_repository_path: ends with '/' */
	char *index_path;
	struct hist_rev *revs; /* revs[N-1] is revision N */
	size_t nrevs, revcap;
	struct hist_table paths;
	bool index_dirty;        /* the file lags memory: rewrite it whole next time */
	bool index_off;          /* the git directory is read-only to us: memory only */
	struct hist_buf pending; /* index lines not yet appended to the file */
	struct hist_meta_slot meta_cache[HIST_META_CACHE_SLOTS];
	struct cfgfs_hist_stats stats;
	pthread_mutex_t repack_lock; /* one repack at a time; never held with lock */
};

/* Internal form of a change; the index keeps those with `version` set. */
enum hist_op { HIST_CREATE, HIST_MODIFY, HIST_DELETE, HIST_RENAME, HIST_MODE };

struct hist_change {
	char *path;
	char *from;
	enum hist_op op;
	bool is_dir;
	bool version; /* a new version of a file path (not a dir, not mtime only) */
	git_oid id;   /* blob of a created or deleted file, for rename pairing */
	uint16_t filemode;
};

struct hist_changes {
	struct hist_change *v;
	size_t n, cap;
};

/* tree.c */
/* Resolve PATH in TREE: *entry_out is owned by *parent_out (or is NULL for
 * the root, with *parent_out the tree itself). The caller frees *parent_out. */
int hist_resolve(struct cfgfs_history *h, git_tree *root, const char *path, git_tree **parent_out,
                 const git_tree_entry **entry_out);
/* Parsed meta of TREE (empty when absent or malformed); valid until the
 * next call. Never fails: a meta blob that cannot be read counts as absent. */
const struct cfgfs_meta_dir *hist_meta_of(struct cfgfs_history *h, const git_tree *tree);
void hist_meta_cache_clear(struct cfgfs_history *h);
/* Effective meta of an entry of DIR, with the plain-git defaults. */
void hist_effective_meta(struct cfgfs_history *h, const git_tree *dir, const git_tree_entry *e,
                         int64_t commit_time, struct cfgfs_meta *out);
int hist_tree_at(struct cfgfs_history *h, uint64_t n, git_tree **out);

/* changes.c */
int hist_changes_compute(struct cfgfs_history *h, uint64_t n, bool renames,
                         struct hist_changes *out);
void hist_changes_clear(struct hist_changes *c);
const char *hist_op_name(enum hist_op op);

/* index.c */
int hist_table_init(struct hist_table *t);
void hist_table_free(struct hist_table *t);
struct hist_node *hist_table_find(const struct hist_table *t, const char *path);
/* PATH was written as a file at revision N / seen as a directory at N
 * (parents are made directories too). */
int hist_paths_add_version(struct hist_table *t, const char *path, uint64_t n);
int hist_paths_add_dir(struct hist_table *t, const char *path, uint64_t n);
/* Record what revision N (already in h->revs) changed, in memory and in
 * the lines waiting to be appended to the file. */
int hist_index_add(struct cfgfs_history *h, uint64_t n, const struct hist_changes *c);
/* Load the file into h->revs and h->paths (both empty on entry): 0 loaded
 * (possibly nothing), 1 unusable (memory left empty: rebuild), <0 error. */
int hist_index_load(struct cfgfs_history *h);
/* Write what hist_index_add queued: appended, or the whole file rewritten
 * when REWRITE or an earlier write failed. A failed write is remembered in
 * index_dirty, never returned: memory stays right. */
void hist_index_save(struct cfgfs_history *h, bool rewrite);
/* Forget every revision and path (before a rebuild). */
int hist_index_reset(struct cfgfs_history *h);
/* Append R (its strings handed over) as revision nrevs+1. */
int hist_revs_push(struct cfgfs_history *h, struct hist_rev *r);
int hist_buf_add(struct hist_buf *b, const char *s, size_t n);
void hist_buf_free(struct hist_buf *b);
void hist_rev_free_fields(struct hist_rev *r);

#endif
