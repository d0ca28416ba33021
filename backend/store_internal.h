/*
 * store_internal.h — what store.c, store_edit.c and store_import.c share.
 * Only these files include git2.h. Callers hold s->lock.
 */
#ifndef CFGFS_STORE_INTERNAL_H
#define CFGFS_STORE_INTERNAL_H

#include <git2.h>
#include <pthread.h>

#include "backend/store.h"

struct cfgfs_store {
	pthread_mutex_t lock; /* one writer at a time; guards everything below */
	git_repository *repo;
	char *refname;        /* the branch HEAD points to */
	git_oid *revs;        /* revs[N-1] is revision N */
	size_t nrevs, cap;
};

int store_git_fail(char *err, size_t errlen, const char *what);
int store_meta_load(git_repository *repo, git_tree *tree, const char *dir,
		    struct cfgfs_meta_dir *out);
int store_read_head(struct cfgfs_store *s, git_oid *head, bool *has_head, git_tree **tree,
		    char *err, size_t errlen);
int store_commit_tree(struct cfgfs_store *s, const git_oid *tree_id, const git_oid *parent,
		      const char *author_name, const char *author_email, const char *message,
		      char *err, size_t errlen);
/* Build the tree that results from applying EDITS to BASE (NULL = empty). */
int store_apply_edits(git_repository *repo, git_tree *base, const struct cfgfs_edit *edits,
		      size_t n, git_oid *out, char *err, size_t errlen);

#endif
