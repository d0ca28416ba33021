/* store.c — see store.h: opening, the revision list, commits and the CAS on the branch.
 * store_edit.c builds trees from edits, store_import.c from a directory,
 * store_tree.c reads past revisions; only these four speak libgit2 in backend/. */
#include "backend/store.h"
#include "backend/store_internal.h"

#include <errno.h>
#include <git2.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* How often a commit is rebuilt when an outside git moved or locked the ref. */
#define STORE_CAS_ATTEMPTS 20
#define STORE_LOCKED_BACKOFF_MS 10

int cfgfs_store_global_init(bool fsync)
{
	if (git_libgit2_init() < 0)
		return -EIO;
	if (fsync && git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 1) < 0)
		return -EIO;
	return 0;
}

void cfgfs_store_global_shutdown(void)
{
	git_libgit2_shutdown();
}

int store_git_fail(char *err, size_t errlen, const char *what)
{
	const git_error *e = git_error_last();
	if (err)
		snprintf(err, errlen, "%s: %s", what, e && e->message ? e->message : "unknown error");
	return -EIO;
}

static int revs_push(struct cfgfs_store *s, const git_oid *id)
{
	if (s->nrevs == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		git_oid *v = realloc(s->revs, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->revs = v;
		s->cap = cap;
	}
	s->revs[s->nrevs++] = *id;
	return 0;
}

/* Rebuild the revision list from the ref: first-parent history, oldest first. */
static int revs_load(struct cfgfs_store *s, char *err, size_t errlen)
{
	git_oid head;
	git_commit *c = NULL;
	int rc = 0;
	s->nrevs = 0;
	if (git_reference_name_to_id(&head, s->repo, s->refname) < 0)
		return 0; /* unborn branch: no revisions */
	if (git_commit_lookup(&c, s->repo, &head) < 0)
		return store_git_fail(err, errlen, "read HEAD commit");
	for (;;) {
		rc = revs_push(s, git_commit_id(c));
		if (rc < 0)
			goto out;
		if (git_commit_parentcount(c) == 0)
			break;
		git_commit *p = NULL;
		if (git_commit_parent(&p, c, 0) < 0) {
			rc = store_git_fail(err, errlen, "walk first-parent history");
			goto out;
		}
		git_commit_free(c);
		c = p;
	}
	for (size_t i = 0; i < s->nrevs / 2; i++) {
		git_oid t = s->revs[i];
		s->revs[i] = s->revs[s->nrevs - 1 - i];
		s->revs[s->nrevs - 1 - i] = t;
	}
out:
	git_commit_free(c);
	return rc;
}

static int resolve_refname(struct cfgfs_store *s, char *err, size_t errlen)
{
	git_reference *head = NULL;
	if (git_reference_lookup(&head, s->repo, "HEAD") < 0)
		return store_git_fail(err, errlen, "read HEAD");
	const char *target = git_reference_symbolic_target(head);
	if (!target) {
		git_reference_free(head);
		snprintf(err, errlen, "the store's HEAD is detached; check out a branch first");
		return -EINVAL;
	}
	s->refname = strdup(target);
	git_reference_free(head);
	return s->refname ? 0 : -ENOMEM;
}

static int init_repo(git_repository **repo, const char *gitdir, char *err, size_t errlen)
{
	git_repository_init_options opts;
	if (git_repository_init_options_init(&opts, GIT_REPOSITORY_INIT_OPTIONS_VERSION) < 0)
		return store_git_fail(err, errlen, "prepare the store");
	opts.flags = GIT_REPOSITORY_INIT_MKPATH | GIT_REPOSITORY_INIT_NO_REINIT;
	opts.initial_head = "main";
	char *copy = strdup(gitdir);
	if (!copy)
		return -ENOMEM;
	const char *base = basename(copy);
	char *path = NULL;
	if (strcmp(base, ".git") == 0) {
		/* SOURCE/.git: an ordinary repository whose work tree is SOURCE */
		path = strdup(gitdir);
		if (path)
			path[strlen(path) - 5] = '\0';
	} else {
		opts.flags |= GIT_REPOSITORY_INIT_BARE;
		path = strdup(gitdir);
	}
	free(copy);
	if (!path)
		return -ENOMEM;
	int rc = git_repository_init_ext(repo, path[0] ? path : "/", &opts);
	free(path);
	return rc < 0 ? store_git_fail(err, errlen, "create the store") : 0;
}

int cfgfs_store_open(struct cfgfs_store **out, const char *gitdir, char *err, size_t errlen)
{
	struct cfgfs_store *s = calloc(1, sizeof(*s));
	int rc;
	if (!s)
		return -ENOMEM;
	rc = pthread_mutex_init(&s->lock, NULL);
	if (rc != 0) {
		free(s);
		return -rc;
	}
	struct stat st;
	if (stat(gitdir, &st) == 0) {
		if (git_repository_open_ext(&s->repo, gitdir, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) <
		    0) {
			rc = store_git_fail(err, errlen, "open the store");
			goto fail;
		}
	} else {
		rc = init_repo(&s->repo, gitdir, err, errlen);
		if (rc < 0)
			goto fail;
	}
	rc = resolve_refname(s, err, errlen);
	if (rc < 0)
		goto fail;
	rc = revs_load(s, err, errlen);
	if (rc < 0)
		goto fail;
	*out = s;
	return 0;
fail:
	cfgfs_store_close(s);
	return rc;
}

void cfgfs_store_close(struct cfgfs_store *s)
{
	if (!s)
		return;
	git_repository_free(s->repo);
	free(s->refname);
	free(s->revs);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static void fill_revision(struct cfgfs_store *s, struct cfgfs_revision *out)
{
	memset(out, 0, sizeof(*out));
	if (s->nrevs == 0)
		return;
	out->number = s->nrevs;
	git_oid_tostr(out->commit, sizeof(out->commit), &s->revs[s->nrevs - 1]);
	if (s->nrevs > 1)
		git_oid_tostr(out->parent, sizeof(out->parent), &s->revs[s->nrevs - 2]);
	git_commit *c = NULL;
	if (git_commit_lookup(&c, s->repo, &s->revs[s->nrevs - 1]) == 0) {
		out->time = (int64_t)git_commit_time(c);
		git_commit_free(c);
	}
}

void cfgfs_store_head(struct cfgfs_store *s, struct cfgfs_revision *out)
{
	pthread_mutex_lock(&s->lock);
	fill_revision(s, out);
	pthread_mutex_unlock(&s->lock);
}

/* Read the meta blob of directory DIR ("" = root) from TREE; empty when absent. */
int store_meta_load(git_repository *repo, git_tree *tree, const char *dir,
		    struct cfgfs_meta_dir *out)
{
	memset(out, 0, sizeof(*out));
	if (!tree)
		return 0;
	char *p = NULL;
	if (asprintf(&p, "%s%s%s", dir, dir[0] ? "/" : "", CFGFS_META_NAME) < 0)
		return -ENOMEM;
	git_tree_entry *e = NULL;
	git_blob *b = NULL;
	int rc = 0;
	if (git_tree_entry_bypath(&e, tree, p) < 0)
		goto out; /* no meta: a directory written by plain git */
	if (git_blob_lookup(&b, repo, git_tree_entry_id(e)) < 0)
		goto out;
	if (cfgfs_meta_parse(out, git_blob_rawcontent(b), (size_t)git_blob_rawsize(b)) == -ENOMEM)
		rc = -ENOMEM;
out:
	git_blob_free(b);
	git_tree_entry_free(e);
	free(p);
	return rc;
}

bool cfgfs_store_has(struct cfgfs_store *s, const char *path, struct cfgfs_meta *meta)
{
	bool found = false;
	git_commit *c = NULL;
	git_tree *t = NULL;
	git_tree_entry *e = NULL;
	pthread_mutex_lock(&s->lock);
	if (s->nrevs == 0)
		goto out;
	if (git_commit_lookup(&c, s->repo, &s->revs[s->nrevs - 1]) < 0 || git_commit_tree(&t, c) < 0)
		goto out;
	if (git_tree_entry_bypath(&e, t, path) < 0)
		goto out;
	found = true;
	if (meta) {
		git_filemode_t fm = git_tree_entry_filemode(e);
		memset(meta, 0, sizeof(*meta));
		meta->mode = fm == GIT_FILEMODE_TREE	   ? S_IFDIR | 0755
			     : fm == GIT_FILEMODE_LINK	   ? S_IFLNK | 0777
			     : fm == GIT_FILEMODE_BLOB_EXECUTABLE ? S_IFREG | 0755
							   : S_IFREG | 0644;
		char *dir = strdup(path);
		if (dir) {
			char *slash = strrchr(dir, '/');
			const char *name = slash ? slash + 1 : path;
			if (slash)
				*slash = '\0';
			else
				dir[0] = '\0';
			struct cfgfs_meta_dir md;
			if (store_meta_load(s->repo, t, fm == GIT_FILEMODE_TREE ? path : dir, &md) == 0) {
				const struct cfgfs_meta *m =
					cfgfs_meta_get(&md, fm == GIT_FILEMODE_TREE ? "." : name);
				if (m)
					*meta = *m;
				cfgfs_meta_dir_free(&md);
			}
			free(dir);
		}
	}
out:
	git_tree_entry_free(e);
	git_tree_free(t);
	git_commit_free(c);
	pthread_mutex_unlock(&s->lock);
	return found;
}

/* Commit TREE on top of the ref's current value with a compare-and-swap.
 * Returns 0, 1 when the ref moved underneath (caller rebuilds), or <0. */
int store_commit_tree(struct cfgfs_store *s, const git_oid *tree_id, const git_oid *parent,
		      const char *author_name, const char *author_email, const char *message,
		      char *err, size_t errlen)
{
	git_signature *sig = NULL;
	git_tree *tree = NULL;
	git_commit *pc = NULL;
	git_reference *ref = NULL;
	git_oid id;
	int rc = 0;
	if (git_signature_now(&sig, author_name, author_email) < 0) {
		rc = store_git_fail(err, errlen, "make the author signature");
		goto out;
	}
	if (git_tree_lookup(&tree, s->repo, tree_id) < 0 ||
	    (parent && git_commit_lookup(&pc, s->repo, parent) < 0)) {
		rc = store_git_fail(err, errlen, "read the tree to commit");
		goto out;
	}
	const git_commit *parents[1] = {pc};
	if (git_commit_create(&id, s->repo, NULL, sig, sig, NULL, message, tree, pc ? 1 : 0,
			      parents) < 0) {
		rc = store_git_fail(err, errlen, "write the commit");
		goto out;
	}
	int grc = parent ? git_reference_create_matching(&ref, s->repo, s->refname, &id, 1,
							 parent, message)
			 : git_reference_create(&ref, s->repo, s->refname, &id, 0, message);
	if (grc == GIT_EMODIFIED || grc == GIT_EEXISTS || grc == GIT_ELOCKED) {
		if (grc == GIT_ELOCKED) {
			struct timespec ts = {0, STORE_LOCKED_BACKOFF_MS * 1000000L};
			nanosleep(&ts, NULL);
		}
		rc = 1;
		goto out;
	}
	if (grc < 0) {
		rc = store_git_fail(err, errlen, "update the branch");
		goto out;
	}
	rc = revs_push(s, &id);
out:
	git_reference_free(ref);
	git_commit_free(pc);
	git_tree_free(tree);
	git_signature_free(sig);
	return rc;
}

/* The ref's current commit and tree; *has_head false on an unborn branch.
 * When an outside git moved the ref, the revision list is re-read. */
int store_read_head(struct cfgfs_store *s, git_oid *head, bool *has_head, git_tree **tree,
		    char *err, size_t errlen)
{
	*tree = NULL;
	*has_head = git_reference_name_to_id(head, s->repo, s->refname) == 0;
	if (!*has_head)
		return 0;
	if (s->nrevs == 0 || !git_oid_equal(head, &s->revs[s->nrevs - 1])) {
		int rc = revs_load(s, err, errlen);
		if (rc < 0)
			return rc;
	}
	git_commit *c = NULL;
	int rc = 0;
	if (git_commit_lookup(&c, s->repo, head) < 0 || git_commit_tree(tree, c) < 0)
		rc = store_git_fail(err, errlen, "read HEAD's tree");
	git_commit_free(c);
	return rc;
}

int cfgfs_store_commit(struct cfgfs_store *s, struct cfgfs_revision *out,
		       const struct cfgfs_edit *edits, size_t n, const char *author_name,
		       const char *author_email, const char *message, char *err, size_t errlen)
{
	int rc = 0;
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->lock);
	for (int attempt = 0; attempt < STORE_CAS_ATTEMPTS; attempt++) {
		git_oid head, tree_id;
		bool has_head;
		git_tree *base = NULL;
		rc = store_read_head(s, &head, &has_head, &base, err, errlen);
		if (rc < 0)
			break;
		rc = store_apply_edits(s->repo, base, edits, n, &tree_id, err, errlen);
		if (rc == 0 && base && git_oid_equal(&tree_id, git_tree_id(base))) {
			git_tree_free(base);
			break; /* nothing changed: no revision */
		}
		git_tree_free(base);
		if (rc < 0)
			break;
		rc = store_commit_tree(s, &tree_id, has_head ? &head : NULL, author_name,
				       author_email, message, err, errlen);
		if (rc == 0) {
			fill_revision(s, out);
			break;
		}
		if (rc < 0)
			break;
		rc = -EAGAIN;
	}
	if (rc == -EAGAIN)
		snprintf(err, errlen, "the store's branch kept moving; commit abandoned");
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int cfgfs_store_head_blob_is(struct cfgfs_store *s, const char *path, const void *buf, size_t len)
{
	git_commit *c = NULL;
	git_tree *t = NULL;
	git_tree_entry *e = NULL;
	git_oid id;
	int rc = 0;
	pthread_mutex_lock(&s->lock);
	if (s->nrevs == 0)
		goto out;
	if (git_commit_lookup(&c, s->repo, &s->revs[s->nrevs - 1]) < 0 ||
	    git_commit_tree(&t, c) < 0) {
		rc = store_git_fail(NULL, 0, "read HEAD's tree");
		goto out;
	}
	if (git_tree_entry_bypath(&e, t, path) < 0)
		goto out;
	if (git_odb_hash(&id, buf, len, GIT_OBJECT_BLOB) < 0) {
		rc = store_git_fail(NULL, 0, "hash content");
		goto out;
	}
	rc = git_oid_equal(&id, git_tree_entry_id(e)) ? 1 : 0;
out:
	git_tree_entry_free(e);
	git_tree_free(t);
	git_commit_free(c);
	pthread_mutex_unlock(&s->lock);
	return rc;
}
