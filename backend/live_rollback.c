/*
 * live_rollback.c — restoring the whole tree to revision N as one new
 * revision: every file of N is validated against today's policy first; then
 * N's tree is committed unchanged, and SOURCE is made equal to it (files
 * published by atomic renames, extra entries removed). Pending deletes are
 * superseded by the rollback.
 */
#include "backend/live_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mountopts/cmdline.h"
#include "mountopts/policy.h"

struct rb_entry {
	char *path;
	struct cfgfs_meta meta;
	char *data;
	size_t len;
};

struct rb_tree {
	struct rb_entry *v;
	size_t n, cap;
};

static int collect(void *arg, const char *path, const struct cfgfs_meta *meta, const void *data,
		   size_t len)
{
	struct rb_tree *t = arg;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct rb_entry *v = realloc(t->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		t->v = v;
		t->cap = cap;
	}
	struct rb_entry *e = &t->v[t->n];
	memset(e, 0, sizeof(*e));
	e->path = strdup(path);
	if (!e->path)
		return -ENOMEM;
	e->meta = *meta;
	if (data) {
		e->data = malloc(len + 1);
		if (!e->data) {
			free(e->path);
			return -ENOMEM;
		}
		memcpy(e->data, data, len);
		e->data[len] = '\0';
		e->len = len;
	}
	t->n++;
	return 0;
}

static void tree_free(struct rb_tree *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].path);
		free(t->v[i].data);
	}
	free(t->v);
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct rb_entry *)a)->path, ((const struct rb_entry *)b)->path);
}

static bool in_tree(const struct rb_tree *t, const char *path)
{
	struct rb_entry key = {.path = (char *)path};
	return bsearch(&key, t->v, t->n, sizeof(*t->v), cmp_entry) != NULL;
}

static const char *at(const char *path)
{
	return path[0] ? path : ".";
}

/* Call FN for every entry of directory DIR ("" = the root) with its tree
 * path and d_type; a nonzero return stops and is returned. */
static int each_child(int rootfd, const char *dir,
		      int (*fn)(void *arg, const char *path, unsigned char type), void *arg)
{
	int fd = openat(rootfd, at(dir), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		char *p = NULL;
		if (asprintf(&p, "%s%s%s", dir, dir[0] ? "/" : "", de->d_name) < 0) {
			rc = -ENOMEM;
			break;
		}
		rc = fn(arg, p, de->d_type);
		free(p);
	}
	closedir(d);
	return rc;
}

static int remove_any(int rootfd, const char *path);

static int remove_child(void *arg, const char *path, unsigned char type)
{
	(void)type;
	return remove_any(*(int *)arg, path);
}

/* rm -r of a SOURCE entry */
static int remove_any(int rootfd, const char *path)
{
	struct stat st;
	if (fstatat(rootfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(rootfd, path, 0) < 0 ? -errno : 0;
	int rc = each_child(rootfd, path, remove_child, &rootfd);
	if (rc == 0 && unlinkat(rootfd, path, AT_REMOVEDIR) < 0)
		rc = -errno;
	return rc;
}

static int set_meta(int rootfd, const char *path, const struct cfgfs_meta *m)
{
	if (fchownat(rootfd, at(path), m->uid, m->gid, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (!S_ISLNK(m->mode) && fchmodat(rootfd, at(path), m->mode & 07777, 0) < 0)
		return -errno;
	struct timespec tv[2] = {{0, UTIME_OMIT}, {m->mtime_sec, m->mtime_nsec}};
	if (!S_ISDIR(m->mode) && utimensat(rootfd, at(path), tv, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return 0;
}

static int place_entry(struct cfgfs_live *l, const struct rb_entry *e)
{
	int rootfd = l->rootfd;
	struct stat st;
	bool exists = fstatat(rootfd, at(e->path), &st, AT_SYMLINK_NOFOLLOW) == 0;
	if (S_ISDIR(e->meta.mode)) {
		if (exists && !S_ISDIR(st.st_mode)) {
			int rc = remove_any(rootfd, e->path);
			if (rc < 0)
				return rc;
			exists = false;
		}
		if (!exists && mkdirat(rootfd, e->path, e->meta.mode & 07777) < 0)
			return -errno;
		return set_meta(rootfd, e->path, &e->meta);
	}
	if (exists && S_ISDIR(st.st_mode)) {
		int rc = remove_any(rootfd, e->path);
		if (rc < 0)
			return rc;
	}
	struct cfgfs_stage stage = {.fd = -1};
	int rc;
	if (S_ISLNK(e->meta.mode)) {
		/* a symlink is placed like a file: made aside, renamed over */
		rc = cfgfs_live_stage_new(l, &stage, -1, 0600, e->meta.uid, e->meta.gid);
		if (rc < 0)
			return rc;
		close(stage.fd);
		stage.fd = -1;
		if (unlinkat(rootfd, stage.name, 0) < 0 || symlinkat(e->data, rootfd, stage.name) < 0) {
			rc = -errno;
			cfgfs_live_stage_drop(l, &stage);
			return rc;
		}
	} else {
		rc = cfgfs_live_stage_new(l, &stage, -1, e->meta.mode, e->meta.uid, e->meta.gid);
		if (rc < 0)
			return rc;
		for (size_t done = 0; done < e->len;) {
			ssize_t w = write(stage.fd, e->data + done, e->len - done);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				rc = -errno;
				cfgfs_live_stage_drop(l, &stage);
				return rc;
			}
			done += (size_t)w;
		}
		if (l->cfg->fsync && fsync(stage.fd) < 0) {
			rc = -errno;
			cfgfs_live_stage_drop(l, &stage);
			return rc;
		}
	}
	if (renameat(rootfd, stage.name, rootfd, e->path) < 0) {
		rc = -errno;
		cfgfs_live_stage_drop(l, &stage);
		return rc;
	}
	stage.name[0] = '\0';
	cfgfs_live_stage_drop(l, &stage);
	return set_meta(rootfd, e->path, &e->meta);
}

struct prune_arg {
	struct cfgfs_live *l;
	const struct rb_tree *t;
	cfgfs_live_path_fn touched;
	void *arg;
};

/* Remove what SOURCE has below DIR and revision N has not. */
static int prune_child(void *arg, const char *p, unsigned char type)
{
	struct prune_arg *a = arg;
	if (cfgfs_live_invisible(a->l, p) || cfgfs_live_scratch(a->l, p))
		return 0;
	if (!in_tree(a->t, p)) {
		int rc = remove_any(a->l->rootfd, p);
		if (rc == 0 && a->touched)
			a->touched(a->arg, p);
		return rc;
	}
	return type == DT_DIR ? each_child(a->l->rootfd, p, prune_child, a) : 0;
}

static int prune(struct cfgfs_live *l, const struct rb_tree *t, const char *dir,
		 cfgfs_live_path_fn touched, void *arg)
{
	struct prune_arg a = {l, t, touched, arg};
	return each_child(l->rootfd, dir, prune_child, &a);
}

static int validate_all(struct cfgfs_live *l, const struct rb_tree *t, uint64_t n,
			const struct cfgfs_who *who)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct rb_entry *e = &t->v[i];
		if (!S_ISREG(e->meta.mode))
			continue;
		struct stat st = {.st_mode = e->meta.mode, .st_uid = e->meta.uid,
				  .st_gid = e->meta.gid};
		int rc = live_check_content(l, e->path, e->data, e->len, &st, who);
		if (rc < 0) {
			char num[24];
			snprintf(num, sizeof(num), "%" PRIu64, n);
			cfgfs_log(l->log, CFGFS_WARN, "rollback-refused", "revision", num, "path",
				  e->path, NULL);
			return -EINVAL;
		}
	}
	return 0;
}

int cfgfs_live_rollback(struct cfgfs_live *l, uint64_t n, const struct cfgfs_who *who,
			cfgfs_live_path_fn touched, void *arg)
{
	struct rb_tree t = {0};
	struct cfgfs_revision head;
	cfgfs_store_head(l->store, &head);
	if (n == 0 || n > head.number)
		return -EINVAL;
	int rc = cfgfs_store_walk_revision(l->store, n, collect, &t);
	if (rc < 0)
		goto out;
	qsort(t.v, t.n, sizeof(*t.v), cmp_entry);
	rc = validate_all(l, &t, n, who);
	if (rc < 0)
		goto out;
	struct cfgfs_author a;
	cfgfs_who_resolve(&a, who);
	char msg[128], err[512] = "";
	snprintf(msg, sizeof(msg), "rollback to %" PRIu64 " (%s, pid %d)\n", n, a.program,
		 who->pid);
	pthread_mutex_lock(&l->save_lock);
	struct cfgfs_revision rev;
	rc = cfgfs_store_commit_revision(l->store, &rev, n, a.name, a.email, msg, err,
					 sizeof(err));
	if (rc < 0) {
		cfgfs_log(l->log, CFGFS_ERROR, "rollback", "error", err, NULL);
		rc = -EIO;
		goto unlock;
	}
	/* the rollback supersedes every pending delete */
	while (l->nsettles > 0)
		(void)live_settle_take(l, l->settles[0].path);
	/* entries are sorted, so every directory comes before what it holds */
	for (size_t i = 0; rc == 0 && i < t.n; i++) {
		rc = place_entry(l, &t.v[i]);
		if (rc == 0 && touched && t.v[i].path[0])
			touched(arg, t.v[i].path);
	}
	if (rc == 0)
		rc = prune(l, &t, "", touched, arg);
	if (rc < 0) {
		cfgfs_log(l->log, CFGFS_ERROR, "rollback", "error",
			  "SOURCE could not be made equal to the revision; remount to reconcile",
			  "errno", strerror(-rc), NULL);
		goto unlock;
	}
	if (rev.number) {
		live_committed(l, &rev, a.name, "rollback", NULL, 0);
		char num[24], to[24];
		snprintf(num, sizeof(num), "%" PRIu64, rev.number);
		snprintf(to, sizeof(to), "%" PRIu64, n);
		cfgfs_log(l->log, CFGFS_INFO, "rollback", "revision", num, "to", to, "commit",
			  rev.commit, "author", a.name, NULL);
	}
unlock:
	pthread_mutex_unlock(&l->save_lock);
out:
	tree_free(&t);
	return rc;
}

int cfgfs_live_restore(struct cfgfs_live *l, uint64_t n, const char *const *paths, size_t np,
		       const char *why, struct cfgfs_revision *out)
{
	struct rb_tree t = {0};
	struct cfgfs_edit *edits = calloc(np ? np : 1, sizeof(*edits));
	bool *present = calloc(np ? np : 1, sizeof(*present));
	struct cfgfs_who system = {.program = "cfgfs"};
	int rc = edits && present ? 0 : -ENOMEM;
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; rc == 0 && i < np; i++) {
		struct cfgfs_meta m;
		char *buf = NULL;
		size_t len = 0;
		int r = cfgfs_store_read_at(l->store, n, paths[i], &m, &buf, &len);
		if (r == -ENOENT || r == -EISDIR) {
			/* absent at N: deleted, unless it is absent now too */
			edits[i].kind = CFGFS_EDIT_REMOVE;
			edits[i].path = cfgfs_store_has(l->store, paths[i], NULL) ? paths[i] : NULL;
			continue;
		}
		if (r < 0) {
			rc = r;
			break;
		}
		rc = collect(&t, paths[i], &m, buf, len);
		free(buf);
		present[i] = true;
	}
	if (rc < 0)
		goto out;
	rc = validate_all(l, &t, n, &system);
	if (rc < 0)
		goto out;
	for (size_t i = 0, k = 0; i < np; i++) {
		if (!present[i])
			continue;
		struct rb_entry *e = &t.v[k++];
		edits[i] = (struct cfgfs_edit){.kind = CFGFS_EDIT_PUT, .path = e->path,
					       .data = e->data, .len = e->len, .meta = e->meta};
	}
	/* drop removals of paths absent at both ends */
	size_t ne = 0;
	for (size_t i = 0; i < np; i++)
		if (edits[i].path)
			edits[ne++] = edits[i];
	char *msg = NULL;
	size_t mlen = 0;
	FILE *f = open_memstream(&msg, &mlen);
	if (!f) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < ne; i++)
		fprintf(f, "%s%s", i ? ", " : "", edits[i].path);
	fprintf(f, " to revision %" PRIu64 " (%s)", n, why);
	if (fclose(f) != 0) {
		rc = -ENOMEM;
		goto out;
	}
	pthread_mutex_lock(&l->save_lock);
	for (size_t i = 0; i < np; i++)
		(void)live_settle_take(l, paths[i]);
	rc = ne ? live_commit(l, edits, ne, NULL, "revert", msg, out) : 0;
	free(msg);
	for (size_t i = 0; rc == 0 && out->number && i < ne; i++) {
		if (edits[i].kind == CFGFS_EDIT_REMOVE) {
			rc = remove_any(l->rootfd, edits[i].path);
		} else {
			struct rb_entry e = {.path = (char *)edits[i].path, .meta = edits[i].meta,
					     .data = (char *)edits[i].data, .len = edits[i].len};
			rc = place_entry(l, &e);
		}
	}
	pthread_mutex_unlock(&l->save_lock);
	if (rc == 0 && out->number && l->on_publish)
		for (size_t i = 0; i < np; i++)
			l->on_publish(l->on_publish_arg, paths[i]);
out:
	tree_free(&t);
	free(edits);
	free(present);
	return rc;
}

void cfgfs_live_on_publish(struct cfgfs_live *l, cfgfs_live_path_fn fn, void *arg)
{
	l->on_publish = fn;
	l->on_publish_arg = arg;
}
