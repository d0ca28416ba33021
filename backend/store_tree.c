/*
 * store_tree.c — whole trees of past revisions, for rollback: walk every
 * entry of revision N with its content and meta, and commit N's tree as a
 * new revision on top of HEAD.
 */
#include "backend/store_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct walker {
	git_repository *repo;
	cfgfs_store_entry_fn cb;
	void *arg;
	int64_t when;
};

static void default_meta(struct cfgfs_meta *m, git_filemode_t fm, int64_t when)
{
	memset(m, 0, sizeof(*m));
	m->mode = fm == GIT_FILEMODE_TREE		    ? S_IFDIR | 0755
		  : fm == GIT_FILEMODE_LINK		    ? S_IFLNK | 0777
		  : fm == GIT_FILEMODE_BLOB_EXECUTABLE ? S_IFREG | 0755
						    : S_IFREG | 0644;
	m->mtime_sec = when;
}

static int walk_tree(struct walker *w, git_tree *tree, const char *dir, int depth)
{
	struct cfgfs_meta_dir md;
	int rc = store_meta_load(w->repo, tree, "", &md);
	if (rc < 0)
		return rc;
	if (depth > 256) {
		cfgfs_meta_dir_free(&md);
		return -ELOOP;
	}
	struct cfgfs_meta self;
	const struct cfgfs_meta *sm = cfgfs_meta_get(&md, ".");
	if (sm)
		self = *sm;
	else
		default_meta(&self, GIT_FILEMODE_TREE, w->when);
	rc = w->cb(w->arg, dir, &self, NULL, 0);
	size_t n = git_tree_entrycount(tree);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, i);
		const char *name = git_tree_entry_name(e);
		if (strcmp(name, CFGFS_META_NAME) == 0)
			continue;
		char *path = NULL;
		if (asprintf(&path, "%s%s%s", dir, dir[0] ? "/" : "", name) < 0) {
			rc = -ENOMEM;
			break;
		}
		git_filemode_t fm = git_tree_entry_filemode(e);
		if (fm == GIT_FILEMODE_TREE) {
			git_tree *sub = NULL;
			if (git_tree_lookup(&sub, w->repo, git_tree_entry_id(e)) < 0)
				rc = store_git_fail(NULL, 0, "read a tree");
			else
				rc = walk_tree(w, sub, path, depth + 1);
			git_tree_free(sub);
		} else if (fm != GIT_FILEMODE_COMMIT) {
			git_blob *b = NULL;
			struct cfgfs_meta m;
			const struct cfgfs_meta *em = cfgfs_meta_get(&md, name);
			if (em)
				m = *em;
			else
				default_meta(&m, fm, w->when);
			if (git_blob_lookup(&b, w->repo, git_tree_entry_id(e)) < 0)
				rc = store_git_fail(NULL, 0, "read a blob");
			else
				rc = w->cb(w->arg, path, &m, git_blob_rawcontent(b),
					   (size_t)git_blob_rawsize(b));
			git_blob_free(b);
		}
		free(path);
	}
	cfgfs_meta_dir_free(&md);
	return rc;
}

static int rev_tree(struct cfgfs_store *s, uint64_t n, git_tree **out, int64_t *when)
{
	git_commit *c = NULL;
	if (n == 0 || n > s->nrevs)
		return -ENOENT;
	if (git_commit_lookup(&c, s->repo, &s->revs[n - 1]) < 0)
		return store_git_fail(NULL, 0, "read a commit");
	*when = (int64_t)git_commit_time(c);
	int rc = git_commit_tree(out, c) < 0 ? store_git_fail(NULL, 0, "read a tree") : 0;
	git_commit_free(c);
	return rc;
}

int cfgfs_store_walk_revision(struct cfgfs_store *s, uint64_t n, cfgfs_store_entry_fn cb,
			      void *arg)
{
	git_tree *t = NULL;
	struct walker w = {.cb = cb, .arg = arg};
	pthread_mutex_lock(&s->lock);
	w.repo = s->repo;
	int rc = rev_tree(s, n, &t, &w.when);
	if (rc == 0)
		rc = walk_tree(&w, t, "", 0);
	git_tree_free(t);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int cfgfs_store_commit_revision(struct cfgfs_store *s, struct cfgfs_revision *out, uint64_t n,
				const char *author_name, const char *author_email,
				const char *message, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->lock);
	int rc = 0;
	for (int attempt = 0; attempt < 20; attempt++) {
		git_oid head;
		bool has_head;
		git_tree *base = NULL, *target = NULL;
		int64_t when;
		rc = store_read_head(s, &head, &has_head, &base, err, errlen);
		if (rc == 0)
			rc = rev_tree(s, n, &target, &when);
		if (rc == 0 && base && git_oid_equal(git_tree_id(base), git_tree_id(target))) {
			git_tree_free(base);
			git_tree_free(target);
			break; /* already equal: nothing to commit */
		}
		git_oid tid;
		if (rc == 0)
			git_oid_cpy(&tid, git_tree_id(target));
		git_tree_free(base);
		git_tree_free(target);
		if (rc < 0)
			break;
		rc = store_commit_tree(s, &tid, has_head ? &head : NULL, author_name, author_email,
				       message, err, errlen);
		if (rc == 0) {
			out->number = s->nrevs;
			git_oid_tostr(out->commit, sizeof(out->commit), &s->revs[s->nrevs - 1]);
			if (s->nrevs > 1)
				git_oid_tostr(out->parent, sizeof(out->parent),
					      &s->revs[s->nrevs - 2]);
			break;
		}
		if (rc < 0)
			break;
		rc = -EAGAIN;
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int cfgfs_store_revision_of(struct cfgfs_store *s, const char *commit_hex, uint64_t *n)
{
	git_oid id;
	if (git_oid_fromstr(&id, commit_hex) < 0)
		return -EINVAL;
	int rc = -ENOENT;
	pthread_mutex_lock(&s->lock);
	for (size_t i = s->nrevs; i > 0; i--)
		if (git_oid_equal(&s->revs[i - 1], &id)) {
			*n = i;
			rc = 0;
			break;
		}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int cfgfs_store_read_at(struct cfgfs_store *s, uint64_t n, const char *path,
			struct cfgfs_meta *meta, char **buf, size_t *len)
{
	git_tree *t = NULL;
	git_tree_entry *e = NULL;
	git_blob *b = NULL;
	struct cfgfs_meta_dir md = {0};
	char *dir = NULL;
	int64_t when;
	pthread_mutex_lock(&s->lock);
	int rc = rev_tree(s, n, &t, &when);
	if (rc < 0)
		goto out;
	if (git_tree_entry_bypath(&e, t, path) < 0) {
		rc = -ENOENT;
		goto out;
	}
	git_filemode_t fm = git_tree_entry_filemode(e);
	if (fm == GIT_FILEMODE_TREE) {
		rc = -EISDIR;
		goto out;
	}
	const char *slash = strrchr(path, '/');
	dir = slash ? strndup(path, (size_t)(slash - path)) : strdup("");
	if (!dir) {
		rc = -ENOMEM;
		goto out;
	}
	rc = store_meta_load(s->repo, t, dir, &md);
	if (rc < 0)
		goto out;
	const struct cfgfs_meta *m = cfgfs_meta_get(&md, slash ? slash + 1 : path);
	if (m)
		*meta = *m;
	else
		default_meta(meta, fm, when);
	if (git_blob_lookup(&b, s->repo, git_tree_entry_id(e)) < 0) {
		rc = store_git_fail(NULL, 0, "read a blob");
		goto out;
	}
	*len = (size_t)git_blob_rawsize(b);
	*buf = malloc(*len + 1);
	if (!*buf) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(*buf, git_blob_rawcontent(b), *len);
	(*buf)[*len] = '\0';
out:
	cfgfs_meta_dir_free(&md);
	free(dir);
	git_blob_free(b);
	git_tree_entry_free(e);
	git_tree_free(t);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int cfgfs_store_revision_info(struct cfgfs_store *s, uint64_t n, struct cfgfs_revision *out,
			      char *author, size_t author_len)
{
	git_commit *c = NULL;
	int rc = 0;
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->lock);
	if (n == 0 || n > s->nrevs) {
		rc = -ENOENT;
		goto out;
	}
	if (git_commit_lookup(&c, s->repo, &s->revs[n - 1]) < 0) {
		rc = store_git_fail(NULL, 0, "read a commit");
		goto out;
	}
	out->number = n;
	git_oid_tostr(out->commit, sizeof(out->commit), &s->revs[n - 1]);
	if (n > 1)
		git_oid_tostr(out->parent, sizeof(out->parent), &s->revs[n - 2]);
	out->time = (int64_t)git_commit_time(c);
	const git_signature *a = git_commit_author(c);
	snprintf(author, author_len, "%s", a && a->name ? a->name : "");
out:
	git_commit_free(c);
	pthread_mutex_unlock(&s->lock);
	return rc;
}
