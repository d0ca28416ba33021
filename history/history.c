/*
 * history.c — see history.h. The handle, catching up with HEAD, and the
 * per-revision questions (revision, log, stat, list, read, changes).
 *
 * Catching up walks first parents back from HEAD until it meets the newest
 * indexed commit, then diffs each new commit with its parent to extend the
 * path index. A walk that reaches the root without meeting it means the
 * history was rewritten: the index is rebuilt from that same walk.
 */
#include "history/history_internal.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HIST_DIR_SIZE 4096
#define HIST_BLKSIZE 4096
#define HIST_SECTOR 512
#define HIST_ISO_LEN 32
#define HIST_LOG_LINE_NUMS 96
#define HIST_WALK_INITIAL 64

static int git_fail(char *err, size_t errlen, const char *what)
{
	const git_error *e = git_error_last();
	if (err && errlen)
		snprintf(err, errlen, "%s: %s", what,
		         e && e->message ? e->message : "unknown error");
	return -EIO;
}

/* ---- catching up ---- */

struct walk {
	struct hist_rev *v; /* newest first */
	size_t n, cap;
};

static void walk_free(struct walk *w)
{
	for (size_t i = 0; i < w->n; i++)
		hist_rev_free_fields(&w->v[i]);
	free(w->v);
	memset(w, 0, sizeof(*w));
}

static int walk_push(struct walk *w, const git_commit *c)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : HIST_WALK_INITIAL;
		struct hist_rev *v = realloc(w->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		w->v = v;
		w->cap = cap;
	}
	struct hist_rev *r = &w->v[w->n];
	const git_signature *a = git_commit_author(c);
	const char *msg = git_commit_message(c);
	memset(r, 0, sizeof(*r));
	git_oid_cpy(&r->commit, git_commit_id(c));
	git_oid_cpy(&r->tree, git_commit_tree_id(c));
	r->time = (int64_t)git_commit_time(c);
	r->author = strdup(a && a->name ? a->name : "");
	r->message = msg ? strndup(msg, strcspn(msg, "\n")) : strdup("");
	if (!r->author || !r->message) {
		hist_rev_free_fields(r);
		return -ENOMEM;
	}
	w->n++;
	return 0;
}

/* Commits from HEAD back to (not including) the newest indexed one; *met
 * false when the walk reached the root without meeting it. */
static int walk_back(struct cfgfs_history *h, const git_oid *head, struct walk *w, bool *met)
{
	git_oid cur = *head;
	const git_oid *stop = h->nrevs ? &h->revs[h->nrevs - 1].commit : NULL;
	int rc = 0;

	*met = false;
	for (;;) {
		git_commit *c = NULL;
		if (stop && git_oid_equal(&cur, stop)) {
			*met = true;
			return 0;
		}
		if (git_commit_lookup(&c, h->repo, &cur) < 0)
			return -EIO;
		h->stats.commits_read++;
		rc = walk_push(w, c);
		bool root = git_commit_parentcount(c) == 0;
		if (!root)
			git_oid_cpy(&cur, git_commit_parent_id(c, 0));
		git_commit_free(c);
		if (rc < 0 || root)
			return rc;
	}
}

/* Append the walked commits (oldest last in W) as new revisions. */
static int index_walk(struct cfgfs_history *h, struct walk *w)
{
	int rc = 0;
	while (rc == 0 && w->n > 0) {
		struct hist_changes c;
		rc = hist_revs_push(h, &w->v[w->n - 1]);
		if (rc < 0)
			break;
		w->n--;
		rc = hist_changes_compute(h, h->nrevs, false, &c);
		if (rc == 0) {
			rc = hist_index_add(h, h->nrevs, &c);
			hist_changes_clear(&c);
		}
		h->stats.revisions_indexed++;
	}
	return rc;
}

static int catch_up(struct cfgfs_history *h)
{
	struct walk w = {0};
	git_oid head;
	bool met = false;
	int rc = 0;

	int grc = git_reference_name_to_id(&head, h->repo, "HEAD");
	if (grc == GIT_ENOTFOUND || grc == GIT_EUNBORNBRANCH) {
		/* no commit at all: an index of nothing */
		if (h->nrevs == 0)
			return 0;
		rc = hist_index_reset(h);
		if (rc == 0)
			hist_index_save(h, true);
		return rc;
	}
	if (grc < 0)
		return -EIO;
	if (h->nrevs && git_oid_equal(&head, &h->revs[h->nrevs - 1].commit))
		return 0;
	rc = walk_back(h, &head, &w, &met);
	if (rc < 0)
		goto cleanup;
	if (!met) {
		rc = hist_index_reset(h);
		if (rc < 0)
			goto cleanup;
		h->stats.index_builds++;
	}
	rc = index_walk(h, &w);
	if (rc < 0) {
		/* half an index is worse than none: the next refresh starts over */
		if (hist_index_reset(h) < 0)
			rc = -ENOMEM;
		goto cleanup;
	}
	hist_index_save(h, !met);
cleanup:
	walk_free(&w);
	return rc;
}

/* ---- the handle ---- */

void cfgfs_history_close(struct cfgfs_history *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->nrevs; i++)
		hist_rev_free_fields(&h->revs[i]);
	free(h->revs);
	hist_table_free(&h->paths);
	hist_buf_free(&h->pending);
	hist_meta_cache_clear(h);
	git_odb_free(h->odb);
	git_repository_free(h->repo);
	free(h->gitdir);
	free(h->index_path);
	pthread_mutex_destroy(&h->repack_lock);
	pthread_mutex_destroy(&h->lock);
	free(h);
	git_libgit2_shutdown();
}

static int open_repo(struct cfgfs_history *h, const char *gitdir, char *err, size_t errlen)
{
	if (git_repository_open_ext(&h->repo, gitdir, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) < 0)
		return git_fail(err, errlen, "open the store");
	if (git_repository_odb(&h->odb, h->repo) < 0)
		return git_fail(err, errlen, "open the store's objects");
	h->gitdir = strdup(git_repository_path(h->repo));
	if (!h->gitdir ||
	    asprintf(&h->index_path, "%s%s", h->gitdir, CFGFS_HISTORY_INDEX_NAME) < 0) {
		h->index_path = NULL;
		return -ENOMEM;
	}
	return 0;
}

int cfgfs_history_open(struct cfgfs_history **out, const char *gitdir, char *err, size_t errlen)
{
	struct cfgfs_history *h = NULL;
	int rc;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	if (git_libgit2_init() < 0)
		return git_fail(err, errlen, "start libgit2");
	h = calloc(1, sizeof(*h));
	if (!h) {
		git_libgit2_shutdown();
		return -ENOMEM;
	}
	/* close() tears down both mutexes and shuts libgit2 down once */
	if ((rc = -pthread_mutex_init(&h->lock, NULL)) < 0 ||
	    (rc = -pthread_mutex_init(&h->repack_lock, NULL)) < 0) {
		free(h);
		git_libgit2_shutdown();
		return rc;
	}
	rc = hist_table_init(&h->paths);
	if (rc == 0)
		rc = open_repo(h, gitdir, err, errlen);
	if (rc == 0) {
		rc = hist_index_load(h);
		if (rc > 0)
			rc = 0; /* unusable file: catch_up builds it from the root */
	}
	if (rc == 0 && (rc = catch_up(h)) < 0)
		git_fail(err, errlen, "index the store's history");
	if (rc < 0) {
		if (err && errlen && !err[0])
			snprintf(err, errlen, "open the history of %s: %s", gitdir, strerror(-rc));
		cfgfs_history_close(h);
		return rc;
	}
	*out = h;
	return 0;
}

int cfgfs_history_refresh(struct cfgfs_history *h)
{
	pthread_mutex_lock(&h->lock);
	int rc = catch_up(h);
	pthread_mutex_unlock(&h->lock);
	return rc;
}

uint64_t cfgfs_history_head(struct cfgfs_history *h)
{
	pthread_mutex_lock(&h->lock);
	uint64_t n = h->nrevs;
	pthread_mutex_unlock(&h->lock);
	return n;
}

void cfgfs_history_stats(struct cfgfs_history *h, struct cfgfs_hist_stats *out)
{
	pthread_mutex_lock(&h->lock);
	*out = h->stats;
	pthread_mutex_unlock(&h->lock);
}

/* ---- revisions and the log ---- */

/* Copy S into DST (SIZE bytes) without splitting a UTF-8 sequence. */
static void copy_cut(char *dst, size_t size, const char *s)
{
	size_t n = strlen(s);
	if (n >= size) {
		n = size - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(dst, s, n);
	dst[n] = '\0';
}

void cfgfs_hist_rev_clear(struct cfgfs_hist_rev *r)
{
	free(r->message);
	memset(r, 0, sizeof(*r));
}

int cfgfs_history_revision(struct cfgfs_history *h, uint64_t n, struct cfgfs_hist_rev *out)
{
	int rc = -ENOENT;
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&h->lock);
	if (n >= 1 && n <= h->nrevs) {
		const struct hist_rev *r = &h->revs[n - 1];
		out->number = n;
		git_oid_tostr(out->commit, sizeof(out->commit), &r->commit);
		if (n > 1)
			git_oid_tostr(out->parent, sizeof(out->parent), &h->revs[n - 2].commit);
		out->time = r->time;
		copy_cut(out->author, sizeof(out->author), r->author);
		out->message = strdup(r->message);
		rc = out->message ? 0 : -ENOMEM;
	}
	pthread_mutex_unlock(&h->lock);
	return rc;
}

static void iso_time(char *buf, size_t size, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm) || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, size, "%" PRId64, t);
}

int cfgfs_history_log_text(struct cfgfs_history *h, char **out, size_t *len)
{
	struct hist_buf b = {0};
	int rc = 0;

	*out = NULL;
	*len = 0;
	pthread_mutex_lock(&h->lock);
	for (uint64_t n = h->nrevs; rc == 0 && n >= 1; n--) {
		const struct hist_rev *r = &h->revs[n - 1];
		char head[HIST_LOG_LINE_NUMS + GIT_OID_HEXSZ], when[HIST_ISO_LEN];
		char id[GIT_OID_HEXSZ + 1];
		git_oid_tostr(id, sizeof(id), &r->commit);
		iso_time(when, sizeof(when), r->time);
		int k = snprintf(head, sizeof(head), "%" PRIu64 " %s %s ", n, id, when);
		rc = hist_buf_add(&b, head, (size_t)k);
		if (rc == 0)
			rc = hist_buf_add(&b, r->author, strlen(r->author));
		if (rc == 0)
			rc = hist_buf_add(&b, " ", 1);
		if (rc == 0)
			rc = hist_buf_add(&b, r->message, strlen(r->message));
		if (rc == 0)
			rc = hist_buf_add(&b, "\n", 1);
	}
	pthread_mutex_unlock(&h->lock);
	if (rc == 0 && !b.p)
		rc = hist_buf_add(&b, "", 0); /* an empty log is an empty string */
	if (rc < 0) {
		hist_buf_free(&b);
		return rc;
	}
	*out = b.p;
	*len = b.len;
	return 0;
}

/* ---- the tree at a revision ---- */

static int count_subdirs(const git_tree *t)
{
	int n = 0;
	size_t count = git_tree_entrycount(t);
	for (size_t i = 0; i < count; i++)
		if (git_tree_entry_type(git_tree_entry_byindex(t, i)) == GIT_OBJECT_TREE)
			n++;
	return n;
}

static int fill_stat(struct cfgfs_history *h, uint64_t n, git_tree *parent, const git_tree_entry *e,
                     struct stat *st)
{
	struct cfgfs_meta m;
	git_tree *dir = NULL;
	int rc = 0;

	memset(st, 0, sizeof(*st));
	hist_effective_meta(h, parent, e, h->revs[n - 1].time, &m);
	st->st_mode = (mode_t)m.mode;
	st->st_uid = (uid_t)m.uid;
	st->st_gid = (gid_t)m.gid;
	st->st_mtim.tv_sec = (time_t)m.mtime_sec;
	st->st_mtim.tv_nsec = m.mtime_nsec;
	st->st_atim = st->st_mtim;
	st->st_ctim.tv_sec = (time_t)h->revs[n - 1].time;
	st->st_blksize = HIST_BLKSIZE;
	if (S_ISDIR(st->st_mode)) {
		if (e && git_tree_lookup(&dir, h->repo, git_tree_entry_id(e)) < 0)
			return -EIO;
		st->st_nlink = 2 + (nlink_t)count_subdirs(dir ? dir : parent);
		st->st_size = HIST_DIR_SIZE;
		git_tree_free(dir);
	} else {
		size_t size = 0;
		git_object_t type;
		if (git_odb_read_header(&size, &type, h->odb, git_tree_entry_id(e)) < 0)
			rc = -EIO;
		st->st_nlink = 1;
		st->st_size = (off_t)size;
	}
	st->st_blocks = (st->st_size + HIST_SECTOR - 1) / HIST_SECTOR;
	return rc;
}

int cfgfs_history_stat(struct cfgfs_history *h, uint64_t n, const char *path, struct stat *st)
{
	git_tree *root = NULL, *parent = NULL;
	const git_tree_entry *e = NULL;
	pthread_mutex_lock(&h->lock);
	int rc = hist_tree_at(h, n, &root);
	if (rc == 0)
		rc = hist_resolve(h, root, path, &parent, &e);
	if (rc == 0)
		rc = fill_stat(h, n, parent, e, st);
	git_tree_free(parent);
	git_tree_free(root);
	pthread_mutex_unlock(&h->lock);
	return rc;
}

struct listing {
	char **names;
	unsigned char *types;
	size_t n;
};

static void listing_free(struct listing *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
	free(l->types);
	memset(l, 0, sizeof(*l));
}

static int collect_entries(const git_tree *t, struct listing *l)
{
	size_t count = git_tree_entrycount(t);
	l->names = calloc(count + 1, sizeof(*l->names));
	l->types = calloc(count + 1, sizeof(*l->types));
	if (!l->names || !l->types)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(t, i);
		git_filemode_t fm = git_tree_entry_filemode(e);
		if (fm == GIT_FILEMODE_COMMIT ||
		    strcmp(git_tree_entry_name(e), CFGFS_META_NAME) == 0)
			continue;
		l->names[l->n] = strdup(git_tree_entry_name(e));
		if (!l->names[l->n])
			return -ENOMEM;
		l->types[l->n++] = fm == GIT_FILEMODE_TREE   ? DT_DIR
		                   : fm == GIT_FILEMODE_LINK ? DT_LNK
		                                             : DT_REG;
	}
	return 0;
}

int cfgfs_history_list(struct cfgfs_history *h, uint64_t n, const char *dir, cfgfs_hist_list_fn cb,
                       void *arg)
{
	git_tree *root = NULL, *parent = NULL, *t = NULL;
	const git_tree_entry *e = NULL;
	struct listing l = {0};

	pthread_mutex_lock(&h->lock);
	int rc = hist_tree_at(h, n, &root);
	if (rc == 0)
		rc = hist_resolve(h, root, dir, &parent, &e);
	if (rc == 0 && e && git_tree_entry_type(e) != GIT_OBJECT_TREE)
		rc = -ENOTDIR;
	if (rc == 0 && e && git_tree_lookup(&t, h->repo, git_tree_entry_id(e)) < 0)
		rc = -EIO;
	if (rc == 0)
		rc = collect_entries(t ? t : parent, &l);
	git_tree_free(t);
	git_tree_free(parent);
	git_tree_free(root);
	pthread_mutex_unlock(&h->lock);

	for (size_t i = 0; rc == 0 && i < l.n; i++)
		rc = cb(arg, l.names[i], l.types[i]);
	listing_free(&l);
	return rc;
}

int cfgfs_history_read(struct cfgfs_history *h, uint64_t n, const char *path, char **buf,
                       size_t *len)
{
	git_tree *root = NULL, *parent = NULL;
	const git_tree_entry *e = NULL;
	git_blob *b = NULL;

	*buf = NULL;
	*len = 0;
	pthread_mutex_lock(&h->lock);
	int rc = hist_tree_at(h, n, &root);
	if (rc == 0)
		rc = hist_resolve(h, root, path, &parent, &e);
	if (rc == 0 && (!e || git_tree_entry_type(e) != GIT_OBJECT_BLOB))
		rc = -EISDIR;
	if (rc == 0 && git_blob_lookup(&b, h->repo, git_tree_entry_id(e)) < 0)
		rc = -EIO;
	if (rc == 0) {
		size_t size = (size_t)git_blob_rawsize(b);
		*buf = malloc(size + 1);
		if (*buf) {
			memcpy(*buf, git_blob_rawcontent(b), size);
			(*buf)[size] = '\0';
			*len = size;
		} else {
			rc = -ENOMEM;
		}
	}
	git_blob_free(b);
	git_tree_free(parent);
	git_tree_free(root);
	pthread_mutex_unlock(&h->lock);
	return rc;
}

/* ---- changes ---- */

void cfgfs_hist_changes_free(struct cfgfs_hist_change *v, size_t count)
{
	for (size_t i = 0; v && i < count; i++) {
		free(v[i].path);
		free(v[i].from);
	}
	free(v);
}

int cfgfs_history_changes(struct cfgfs_history *h, uint64_t n, struct cfgfs_hist_change **out,
                          size_t *count)
{
	struct hist_changes c = {0};
	int rc = -ENOENT;

	*out = NULL;
	*count = 0;
	pthread_mutex_lock(&h->lock);
	if (n >= 1 && n <= h->nrevs)
		rc = hist_changes_compute(h, n, true, &c);
	pthread_mutex_unlock(&h->lock);
	if (rc < 0)
		return rc;
	struct cfgfs_hist_change *v = calloc(c.n + 1, sizeof(*v));
	if (!v) {
		hist_changes_clear(&c);
		return -ENOMEM;
	}
	for (size_t i = 0; i < c.n; i++) {
		/* the strings change hands */
		v[i].path = c.v[i].path;
		v[i].from = c.v[i].from;
		v[i].op = hist_op_name(c.v[i].op);
		c.v[i].path = c.v[i].from = NULL;
	}
	*out = v;
	*count = c.n;
	hist_changes_clear(&c);
	return 0;
}
