/*
 * store_import.c — build a tree from a directory on disk and commit it when
 * it differs from HEAD: the first import of an existing tree, and the
 * reconcile at every mount (edits made while unmounted, a crash between
 * two steps of a save).
 *
 * An entry whose content, mode and owner equal HEAD's keeps HEAD's recorded
 * mtime, so a tree that only saw `touch` while unmounted gives no revision.
 */
#include "backend/store_internal.h"
#include "backend/reserved.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IMPORT_MAX_DEPTH 256

struct importer {
	git_repository *repo;
	git_tree *head_tree;
	int rootfd;
	cfgfs_store_skip_fn skip;
	void *skip_arg;
	char *err;
	size_t errlen;
};

static int read_fd(int fd, size_t size, char **out)
{
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return -ENOMEM;
	size_t got = 0;
	while (got < size) {
		ssize_t r = read(fd, buf + got, size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			free(buf);
			return r < 0 ? -errno : -EIO;
		}
		got += (size_t)r;
	}
	*out = buf;
	return 0;
}

static void meta_from_stat(struct cfgfs_meta *m, const struct stat *st)
{
	m->mode = st->st_mode;
	m->uid = st->st_uid;
	m->gid = st->st_gid;
	m->mtime_sec = st->st_mtim.tv_sec;
	m->mtime_nsec = (int32_t)st->st_mtim.tv_nsec;
}

/* Keep HEAD's mtime for an entry that did not otherwise change. */
static void keep_old_mtime(struct cfgfs_meta *m, const struct cfgfs_meta_dir *old,
			   const char *name, git_tree *old_tree, const git_oid *id)
{
	const struct cfgfs_meta *o = cfgfs_meta_get(old, name);
	if (!o || o->mode != m->mode || o->uid != m->uid || o->gid != m->gid)
		return;
	if (id && old_tree) {
		const git_tree_entry *e = git_tree_entry_byname(old_tree, name);
		if (!e || !git_oid_equal(git_tree_entry_id(e), id))
			return;
	}
	m->mtime_sec = o->mtime_sec;
	m->mtime_nsec = o->mtime_nsec;
}

static int import_dir(struct importer *im, const char *rel, git_tree *old_tree, int depth,
		      git_oid *out);

static int import_entry(struct importer *im, git_treebuilder *tb, struct cfgfs_meta_dir *md,
			const struct cfgfs_meta_dir *old_md, git_tree *old_tree, const char *rel,
			const char *name, int dfd, int depth)
{
	struct stat st;
	char *path = NULL;
	char *buf = NULL;
	git_tree *sub_old = NULL;
	int rc = 0;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (asprintf(&path, "%s%s%s", rel, rel[0] ? "/" : "", name) < 0)
		return -ENOMEM;
	if (im->skip && im->skip(im->skip_arg, path))
		goto out;
	git_oid id;
	struct cfgfs_meta m;
	meta_from_stat(&m, &st);
	if (S_ISDIR(st.st_mode)) {
		const git_tree_entry *e = old_tree ? git_tree_entry_byname(old_tree, name) : NULL;
		if (e && git_tree_entry_type(e) == GIT_OBJECT_TREE)
			(void)git_tree_lookup(&sub_old, im->repo, git_tree_entry_id(e));
		rc = import_dir(im, path, sub_old, depth + 1, &id);
		if (rc == 0 && git_treebuilder_insert(NULL, tb, name, &id, GIT_FILEMODE_TREE) < 0)
			rc = store_git_fail(im->err, im->errlen, "build a tree");
		goto out;
	}
	if (S_ISREG(st.st_mode)) {
		int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			rc = -errno;
			goto out;
		}
		rc = read_fd(fd, (size_t)st.st_size, &buf);
		close(fd);
		if (rc < 0)
			goto out;
		if (git_blob_create_from_buffer(&id, im->repo, buf, (size_t)st.st_size) < 0) {
			rc = store_git_fail(im->err, im->errlen, "write a blob");
			goto out;
		}
	} else if (S_ISLNK(st.st_mode)) {
		char target[4096];
		ssize_t n = readlinkat(dfd, name, target, sizeof(target));
		if (n < 0) {
			rc = -errno;
			goto out;
		}
		if (git_blob_create_from_buffer(&id, im->repo, target, (size_t)n) < 0) {
			rc = store_git_fail(im->err, im->errlen, "write a blob");
			goto out;
		}
	} else {
		goto out; /* devices, FIFOs and sockets are not configuration */
	}
	keep_old_mtime(&m, old_md, name, old_tree, &id);
	git_filemode_t fm = S_ISLNK(st.st_mode)	 ? GIT_FILEMODE_LINK
			    : (st.st_mode & 0111) ? GIT_FILEMODE_BLOB_EXECUTABLE
						  : GIT_FILEMODE_BLOB;
	if (git_treebuilder_insert(NULL, tb, name, &id, fm) < 0) {
		rc = store_git_fail(im->err, im->errlen, "build a tree");
		goto out;
	}
	rc = cfgfs_meta_set(md, name, &m);
out:
	git_tree_free(sub_old);
	free(buf);
	free(path);
	return rc;
}

static int import_dir(struct importer *im, const char *rel, git_tree *old_tree, int depth,
		      git_oid *out)
{
	git_treebuilder *tb = NULL;
	struct cfgfs_meta_dir md = {0}, old_md = {0};
	DIR *d = NULL;
	char *metabuf = NULL;
	int rc = 0;
	if (depth > IMPORT_MAX_DEPTH) {
		snprintf(im->err, im->errlen, "%s: directories nested too deep", rel);
		return -ELOOP;
	}
	int dfd = rel[0] ? openat(im->rootfd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
			 : openat(im->rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		snprintf(im->err, im->errlen, "%s: %s", rel[0] ? rel : ".", strerror(errno));
		return -errno;
	}
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return -errno;
	}
	if (git_treebuilder_new(&tb, im->repo, NULL) < 0) {
		rc = store_git_fail(im->err, im->errlen, "build a tree");
		goto out;
	}
	if (old_tree) {
		rc = store_meta_load(im->repo, old_tree, "", &old_md);
		if (rc < 0)
			goto out;
	}
	struct stat st;
	if (fstat(dfd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	struct cfgfs_meta self;
	meta_from_stat(&self, &st);
	keep_old_mtime(&self, &old_md, ".", NULL, NULL);
	rc = cfgfs_meta_set(&md, ".", &self);
	struct dirent *de;
	while (rc == 0 && (errno = 0, de = readdir(d)) != NULL) {
		const char *name = de->d_name;
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		if (rel[0] == '\0' && strcmp(name, ".git") == 0)
			continue;
		if (cfgfs_reserved_name(name)) {
			if (cfgfs_stage_name(name))
				(void)unlinkat(dfd, name, 0); /* a save cut short by a crash */
			continue;
		}
		rc = import_entry(im, tb, &md, &old_md, old_tree, rel, name, dfd, depth);
	}
	if (rc == 0 && errno != 0)
		rc = -errno;
	if (rc < 0)
		goto out;
	size_t len;
	rc = cfgfs_meta_format(&metabuf, &len, &md);
	if (rc < 0)
		goto out;
	git_oid mid;
	if (git_blob_create_from_buffer(&mid, im->repo, metabuf, len) < 0 ||
	    git_treebuilder_insert(NULL, tb, CFGFS_META_NAME, &mid, GIT_FILEMODE_BLOB) < 0 ||
	    git_treebuilder_write(out, tb) < 0)
		rc = store_git_fail(im->err, im->errlen, "write a tree");
out:
	free(metabuf);
	cfgfs_meta_dir_free(&md);
	cfgfs_meta_dir_free(&old_md);
	git_treebuilder_free(tb);
	if (d)
		closedir(d);
	return rc;
}

int cfgfs_store_import(struct cfgfs_store *s, struct cfgfs_revision *out, int rootfd,
		       cfgfs_store_skip_fn skip, void *skip_arg, const char *author_name,
		       const char *author_email, const char *message, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->lock);
	git_oid head, tree_id;
	bool has_head;
	git_tree *base = NULL;
	int rc = store_read_head(s, &head, &has_head, &base, err, errlen);
	if (rc < 0)
		goto out;
	struct importer im = {s->repo, base, rootfd, skip, skip_arg, err, errlen};
	rc = import_dir(&im, "", base, 0, &tree_id);
	if (rc < 0 || (base && git_oid_equal(&tree_id, git_tree_id(base))))
		goto out;
	rc = store_commit_tree(s, &tree_id, has_head ? &head : NULL, author_name, author_email,
			       message, err, errlen);
	if (rc == 1) {
		snprintf(err, errlen, "the store's branch moved during the import");
		rc = -EAGAIN;
	}
	if (rc == 0) {
		struct cfgfs_revision r;
		memset(&r, 0, sizeof(r));
		r.number = s->nrevs;
		git_oid_tostr(r.commit, sizeof(r.commit), &s->revs[s->nrevs - 1]);
		if (s->nrevs > 1)
			git_oid_tostr(r.parent, sizeof(r.parent), &s->revs[s->nrevs - 2]);
		*out = r;
	}
out:
	git_tree_free(base);
	pthread_mutex_unlock(&s->lock);
	return rc;
}
