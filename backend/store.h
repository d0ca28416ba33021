/*
 * store.h — the git store: one libgit2 repository, written by one thread at
 * a time, read as plain git by anyone.
 *
 * Owns the repository handle, the branch HEAD points to, and the list of
 * revisions (revision N is the N-th commit along HEAD's first-parent
 * history, counting from 1). A commit is built without an index or a
 * checkout: blobs, an updated tree (with a CFGFS_META_NAME blob in every
 * directory, see meta.h), a commit object, and a compare-and-swap of the
 * branch ref; a ref moved by an outside git is re-read and the commit is
 * rebuilt on top of it.
 *
 * Every function takes the store's own mutex, so any thread may call them;
 * no libgit2 object ever leaves this module (git2.h is included only by
 * store*.c). Errors: 0 or a negative errno, with a message in the caller's
 * buffer where one is asked for.
 */
#ifndef CFGFS_STORE_H
#define CFGFS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/meta.h"

#define CFGFS_OID_HEX 41

struct cfgfs_store;

enum cfgfs_edit_kind {
	CFGFS_EDIT_PUT,    /* file, symlink or directory at path (meta.mode says which) */
	CFGFS_EDIT_REMOVE, /* path and, for a directory, everything under it */
	CFGFS_EDIT_MOVE,   /* from -> path, any kind; meta applies to a non-directory */
	CFGFS_EDIT_META,   /* mode/owner/mtime of an existing path, content unchanged */
};

struct cfgfs_edit {
	enum cfgfs_edit_kind kind;
	const char *path;
	const char *from;    /* MOVE only */
	const void *data;    /* PUT file: content; PUT symlink: target */
	size_t len;
	struct cfgfs_meta meta; /* PUT, MOVE */
};

struct cfgfs_revision {
	uint64_t number;
	char commit[CFGFS_OID_HEX];
	char parent[CFGFS_OID_HEX]; /* "" for the first */
	int64_t time;
};

/* Decides which SOURCE entries an import skips (editor scratch files). */
typedef bool (*cfgfs_store_skip_fn)(void *arg, const char *path);

int cfgfs_store_open(struct cfgfs_store **out, const char *gitdir, char *err, size_t errlen);
void cfgfs_store_close(struct cfgfs_store *s);

/* Process-wide libgit2 setup: call once in main before any thread. */
int cfgfs_store_global_init(bool fsync);
void cfgfs_store_global_shutdown(void);

/* The newest revision; number 0 when the store has none. */
void cfgfs_store_head(struct cfgfs_store *s, struct cfgfs_revision *out);

/* Apply edits on top of HEAD as one commit. AUTHOR is "name <email>"-free:
 * name and email are given separately. 0 or -errno (-EIO for a git failure,
 * with the reason in the log buffer). */
int cfgfs_store_commit(struct cfgfs_store *s, struct cfgfs_revision *out,
		       const struct cfgfs_edit *edits, size_t n, const char *author_name,
		       const char *author_email, const char *message, char *err, size_t errlen);

/* Whether PATH exists in HEAD; *meta filled when it does and meta != NULL. */
bool cfgfs_store_has(struct cfgfs_store *s, const char *path, struct cfgfs_meta *meta);

/* Revision N's commit, parent, time and author name. */
int cfgfs_store_revision_info(struct cfgfs_store *s, uint64_t n, struct cfgfs_revision *out,
			      char *author, size_t author_len);

/* The revision number of a commit id (hex), or -ENOENT. */
int cfgfs_store_revision_of(struct cfgfs_store *s, const char *commit_hex, uint64_t *n);

/* PATH's content (file) or target (symlink) and meta at revision N.
 * -ENOENT when absent, -EISDIR for a directory. Caller frees *buf. */
int cfgfs_store_read_at(struct cfgfs_store *s, uint64_t n, const char *path,
			struct cfgfs_meta *meta, char **buf, size_t *len);

/* 1 when HEAD has PATH with exactly this content, 0 when not, <0 on error. */
int cfgfs_store_head_blob_is(struct cfgfs_store *s, const char *path, const void *buf, size_t len);

/* Build a tree from the directory rootfd (skipping `skip` names, the root
 * .git and reserved names) and commit it with MESSAGE if it differs from
 * HEAD. *out->number is 0 when nothing differed. */
int cfgfs_store_import(struct cfgfs_store *s, struct cfgfs_revision *out, int rootfd,
		       cfgfs_store_skip_fn skip, void *skip_arg, const char *author_name,
		       const char *author_email, const char *message, char *err, size_t errlen);

/* Called for every entry of a revision, parents before children: a
 * directory with data NULL, a file with its content, a symlink with its
 * target. Nonzero stops the walk and is returned. */
typedef int (*cfgfs_store_entry_fn)(void *arg, const char *path, const struct cfgfs_meta *meta,
				    const void *data, size_t len);

/* Walk revision N's whole tree ("" is the root). -ENOENT for no such N. */
int cfgfs_store_walk_revision(struct cfgfs_store *s, uint64_t n, cfgfs_store_entry_fn cb,
			      void *arg);

/* Commit revision N's tree, unchanged, as a new revision on top of HEAD.
 * out->number is 0 when HEAD's tree already equals it. */
int cfgfs_store_commit_revision(struct cfgfs_store *s, struct cfgfs_revision *out, uint64_t n,
				const char *author_name, const char *author_email,
				const char *message, char *err, size_t errlen);

#endif
