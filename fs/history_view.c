/*
 * history_view.c — .history/: every revision as a read-only directory,
 * each file's versions under files/, the log, HEAD, and the rollback file.
 *
 * Everything under .history/N is immutable, so it is cached by the kernel
 * for long and a blob is read from the store once per open. The parts that
 * grow (the .history listing, HEAD, log, files/) are never cached. The
 * only writable file is rollback: a revision number written to it restores
 * the whole tree through backend/live as a new revision.
 */
#include "fs/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "history/history.h"

#define HIST_NUM_MAX 24

bool fs_is_hist(const struct node *n)
{
	return n->kind == NODE_HIST;
}

/* Path of N below its revision (HK_REV) or below files/ (HK_FILES). */
static char *relpath(struct cfgfs_fs *fs, struct node *n)
{
	pthread_mutex_lock(&fs->tree_lock);
	size_t len = 0;
	struct node *p;
	for (p = n; p && p->hk != HK_REV && p->hk != HK_FILES; p = p->parent)
		len += strlen(p->name) + 1;
	char *buf = malloc(len + 1);
	if (buf) {
		size_t pos = len;
		buf[pos] = '\0';
		for (p = n; p && p->hk != HK_REV && p->hk != HK_FILES; p = p->parent) {
			size_t nl = strlen(p->name);
			pos -= nl;
			memcpy(buf + pos, p->name, nl);
			buf[--pos] = '/';
		}
		if (len > 0)
			memmove(buf, buf + 1, len);
	}
	pthread_mutex_unlock(&fs->tree_lock);
	return buf;
}

static bool parse_rev(const char *s, uint64_t *out)
{
	if (!*s || *s == '0' || strlen(s) >= HIST_NUM_MAX)
		return false;
	uint64_t v = 0;
	for (const char *c = s; *c; c++) {
		if (*c < '0' || *c > '9')
			return false;
		v = v * 10 + (uint64_t)(*c - '0');
	}
	*out = v;
	return true;
}

static struct node *hist_child(struct cfgfs_fs *fs, struct node *parent, const char *name,
			       enum hist_kind hk, uint64_t rev, bool fdir_file)
{
	struct node *n = fs_child_ref(fs, parent, name, NODE_HIST);
	if (!n)
		return NULL;
	pthread_mutex_lock(&fs->tree_lock);
	n->hk = hk;
	n->rev = rev;
	n->fdir_file = fdir_file;
	pthread_mutex_unlock(&fs->tree_lock);
	return n;
}

static bool has_version(const uint64_t *v, size_t n, uint64_t rev)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == rev)
			return true;
	return false;
}

struct find_arg {
	const char *name;
	unsigned char type;
	bool found;
};

static int find_cb(void *arg, const char *name, unsigned char type)
{
	struct find_arg *f = arg;
	if (strcmp(name, f->name) == 0) {
		f->found = true;
		f->type = type;
	}
	return 0;
}

static int lookup_fixed(struct cfgfs_fs *fs, const char *name, struct node **out)
{
	if (strcmp(name, "HEAD") == 0)
		*out = &fs->hist_head;
	else if (strcmp(name, "log") == 0)
		*out = &fs->hist_log;
	else if (strcmp(name, "rollback") == 0)
		*out = &fs->hist_rollback;
	else if (strcmp(name, "files") == 0)
		*out = &fs->hist_files;
	else
		return -ENOENT;
	pthread_mutex_lock(&fs->tree_lock);
	(*out)->nlookup++;
	pthread_mutex_unlock(&fs->tree_lock);
	return 0;
}

static int lookup_node(struct cfgfs_fs *fs, struct node *parent, const char *name,
		       struct node **out)
{
	struct cfgfs_history *h = fs->history;
	uint64_t rev = 0;
	char *path = NULL;
	int rc = -ENOENT;
	switch (parent->hk) {
	case HK_ROOT:
		if (lookup_fixed(fs, name, out) == 0)
			return 0;
		if (!parse_rev(name, &rev) || rev > cfgfs_history_head(h))
			return -ENOENT;
		*out = hist_child(fs, parent, name, HK_REV, rev, false);
		return *out ? 0 : -ENOMEM;
	case HK_REV:
	case HK_TREE: {
		char *dir = relpath(fs, parent);
		if (!dir)
			return -ENOMEM;
		rc = asprintf(&path, "%s%s%s", dir, dir[0] ? "/" : "", name) < 0 ? -ENOMEM : 0;
		free(dir);
		if (rc < 0)
			return rc;
		struct stat st;
		rc = cfgfs_history_stat(h, parent->rev, path, &st);
		free(path);
		if (rc < 0)
			return rc;
		*out = hist_child(fs, parent, name, HK_TREE, parent->rev, false);
		return *out ? 0 : -ENOMEM;
	}
	case HK_FILES:
	case HK_FDIR: {
		if (parent->fdir_file) {
			char *file = relpath(fs, parent);
			uint64_t *v = NULL;
			size_t nv = 0;
			if (!file)
				return -ENOMEM;
			rc = cfgfs_history_versions(h, file, &v, &nv);
			free(file);
			if (rc == 0 && !(parse_rev(name, &rev) && has_version(v, nv, rev)))
				rc = -ENOENT;
			free(v);
			if (rc < 0)
				return rc;
			*out = hist_child(fs, parent, name, HK_FVER, rev, false);
			return *out ? 0 : -ENOMEM;
		}
		char *dir = relpath(fs, parent);
		if (!dir)
			return -ENOMEM;
		struct find_arg f = {.name = name};
		rc = cfgfs_history_files_list(h, dir, find_cb, &f);
		free(dir);
		if (rc < 0)
			return rc;
		if (!f.found)
			return -ENOENT;
		*out = hist_child(fs, parent, name, HK_FDIR, 0, f.type != DT_DIR);
		return *out ? 0 : -ENOMEM;
	}
	default:
		return -ENOTDIR;
	}
}

int fs_hist_lookup(struct cfgfs_fs *fs, struct node *parent, const char *name,
		   struct fuse_entry_param *e)
{
	struct node *n = NULL;
	int rc;
	if (!fs->history)
		return -ENOENT;
	if (parent->hk != HK_REV && parent->hk != HK_TREE)
		fs_hist_refresh(fs); /* the growing parts: catch up with new commits */
	if (parent == &fs->root) {
		n = &fs->hist_root;
		pthread_mutex_lock(&fs->tree_lock);
		n->nlookup++;
		pthread_mutex_unlock(&fs->tree_lock);
	} else {
		rc = lookup_node(fs, parent, name, &n);
		if (rc < 0)
			return rc;
	}
	struct stat st;
	rc = fs_hist_stat(fs, n, &st);
	if (rc < 0) {
		fs_forget(fs, n, 1);
		return rc;
	}
	fs_entry(fs, n, &st, e);
	bool fixed = n->hk == HK_REV || n->hk == HK_TREE || n->hk == HK_FVER;
	e->entry_timeout = fixed ? FS_HIST_TIMEOUT : 0.0;
	e->attr_timeout = fixed ? FS_HIST_TIMEOUT : 0.0;
	return 0;
}

static void dir_attr(struct cfgfs_fs *fs, struct stat *st, mode_t mode)
{
	memset(st, 0, sizeof(*st));
	struct stat root;
	if (fstat(cfgfs_live_rootfd(fs->live), &root) == 0) {
		st->st_uid = root.st_uid;
		st->st_gid = root.st_gid;
		st->st_mtim = root.st_mtim;
	}
	st->st_mode = mode;
	st->st_nlink = S_ISDIR(mode) ? 2 : 1;
	st->st_atim = st->st_ctim = st->st_mtim;
}

/*
 * files/PATH/N shows a version outside the directories that held it, so it
 * takes their closure on: a class (owner, group, others) that could not
 * search every directory above PATH at revision N loses its bits on the
 * version too. Conservative: it may lock out someone who had access
 * through another class, never the reverse.
 */
static int close_like_parents(struct cfgfs_history *h, uint64_t rev, const char *path,
			      struct stat *st)
{
	char *dir = strdup(path);
	if (!dir)
		return -ENOMEM;
	mode_t keep = 07777;
	for (char *slash = strrchr(dir, '/'); slash; slash = strrchr(dir, '/')) {
		*slash = '\0';
		struct stat d;
		if (cfgfs_history_stat(h, rev, dir, &d) < 0)
			continue;
		bool other = d.st_mode & S_IXOTH;
		bool group = d.st_gid == st->st_gid ? (d.st_mode & S_IXGRP) : other;
		bool owner = d.st_uid == st->st_uid ? (d.st_mode & S_IXUSR) : other;
		if (!other)
			keep &= ~(mode_t)S_IRWXO;
		if (!group)
			keep &= ~(mode_t)S_IRWXG;
		if (!owner)
			keep &= ~(mode_t)S_IRWXU;
	}
	free(dir);
	st->st_mode = (st->st_mode & S_IFMT) | (st->st_mode & keep);
	return 0;
}

int fs_hist_stat(struct cfgfs_fs *fs, struct node *n, struct stat *st)
{
	struct cfgfs_history *h = fs->history;
	char *path;
	int rc;
	switch (n->hk) {
	case HK_ROOT:
	case HK_FILES:
		dir_attr(fs, st, S_IFDIR | 0555);
		return 0;
	case HK_HEAD: {
		char num[HIST_NUM_MAX];
		dir_attr(fs, st, S_IFLNK | 0777);
		st->st_size = snprintf(num, sizeof(num), "%" PRIu64, cfgfs_history_head(h));
		return 0;
	}
	case HK_LOG: {
		char *buf = NULL;
		size_t len = 0;
		rc = cfgfs_history_log_text(h, &buf, &len);
		free(buf);
		if (rc < 0)
			return rc;
		dir_attr(fs, st, S_IFREG | 0444);
		st->st_size = (off_t)len;
		return 0;
	}
	case HK_ROLLBACK: {
		/* writable exactly by those who may write the mount's root */
		struct stat root;
		if (fstat(cfgfs_live_rootfd(fs->live), &root) < 0)
			return -errno;
		dir_attr(fs, st, S_IFREG | (root.st_mode & 0222));
		return 0;
	}
	case HK_REV:
		return cfgfs_history_stat(h, n->rev, "", st);
	case HK_TREE:
		path = relpath(fs, n);
		if (!path)
			return -ENOMEM;
		rc = cfgfs_history_stat(h, n->rev, path, st);
		free(path);
		return rc;
	case HK_FDIR:
		dir_attr(fs, st, S_IFDIR | 0555);
		if (!n->fdir_file) {
			/* a directory of files/ is as closed as that directory is now */
			struct stat now;
			path = relpath(fs, n);
			if (!path)
				return -ENOMEM;
			if (cfgfs_history_stat(h, cfgfs_history_head(h), path, &now) == 0 &&
			    S_ISDIR(now.st_mode)) {
				st->st_mode = S_IFDIR | (now.st_mode & 0555);
				st->st_uid = now.st_uid;
				st->st_gid = now.st_gid;
			}
			free(path);
		}
		return 0;
	case HK_FVER:
		path = relpath(fs, n->parent);
		if (!path)
			return -ENOMEM;
		rc = cfgfs_history_stat(h, n->rev, path, st);
		if (rc == 0)
			rc = close_like_parents(h, n->rev, path, st);
		free(path);
		return rc;
	}
	return -ENOENT;
}

int fs_hist_open(struct cfgfs_fs *fs, struct node *n, struct handle *h, struct fuse_file_info *fi)
{
	struct cfgfs_history *hs = fs->history;
	int acc = h->flags & O_ACCMODE;
	char *path;
	int rc;
	if (n->hk == HK_ROLLBACK) {
		fi->direct_io = 1; /* reads as empty; a revision number written restores */
		return 0;
	}
	if (acc != O_RDONLY)
		return -EROFS;
	switch (n->hk) {
	case HK_LOG:
		fi->direct_io = 1;
		return cfgfs_history_log_text(hs, &h->buf, &h->len);
	case HK_TREE:
	case HK_FVER:
		path = relpath(fs, n->hk == HK_FVER ? n->parent : n);
		if (!path)
			return -ENOMEM;
		rc = cfgfs_history_read(hs, n->rev, path, &h->buf, &h->len);
		free(path);
		fi->keep_cache = 1;
		fi->noflush = 1;
		return rc;
	default:
		return -EISDIR;
	}
}

struct list_arg {
	struct dir_handle *d;
	size_t cap;
};

static int list_cb(void *arg, const char *name, unsigned char type)
{
	struct list_arg *a = arg;
	struct dir_handle *d = a->d;
	if (d->n == a->cap) {
		size_t c = a->cap ? a->cap * 2 : 32;
		struct dir_entry *v = realloc(d->v, c * sizeof(*v));
		if (!v)
			return -ENOMEM;
		d->v = v;
		a->cap = c;
	}
	d->v[d->n].name = strdup(name);
	if (!d->v[d->n].name)
		return -ENOMEM;
	d->v[d->n].type = type;
	d->n++;
	return 0;
}

int fs_hist_list(struct cfgfs_fs *fs, struct node *n, struct dir_handle *d)
{
	struct cfgfs_history *h = fs->history;
	struct list_arg a = {d, 0};
	if (n->hk != HK_REV && n->hk != HK_TREE)
		fs_hist_refresh(fs);
	int rc = list_cb(&a, ".", DT_DIR);
	if (rc == 0)
		rc = list_cb(&a, "..", DT_DIR);
	char *path = NULL;
	switch (n->hk) {
	case HK_ROOT: {
		static const char *const fixed[] = {"HEAD", "log", "rollback", "files"};
		for (size_t i = 0; rc == 0 && i < 4; i++)
			rc = list_cb(&a, fixed[i], i == 0 ? DT_LNK : i == 3 ? DT_DIR : DT_REG);
		uint64_t head = cfgfs_history_head(h);
		for (uint64_t r = 1; rc == 0 && r <= head; r++) {
			char num[HIST_NUM_MAX];
			snprintf(num, sizeof(num), "%" PRIu64, r);
			rc = list_cb(&a, num, DT_DIR);
		}
		return rc;
	}
	case HK_REV:
	case HK_TREE:
		path = relpath(fs, n);
		if (!path)
			return -ENOMEM;
		if (rc == 0)
			rc = cfgfs_history_list(h, n->rev, path, list_cb, &a);
		free(path);
		return rc;
	case HK_FILES:
	case HK_FDIR:
		path = relpath(fs, n);
		if (!path)
			return -ENOMEM;
		if (rc == 0 && n->fdir_file) {
			uint64_t *v = NULL;
			size_t nv = 0;
			rc = cfgfs_history_versions(h, path, &v, &nv);
			for (size_t i = 0; rc == 0 && i < nv; i++) {
				char num[HIST_NUM_MAX];
				snprintf(num, sizeof(num), "%" PRIu64, v[i]);
				rc = list_cb(&a, num, DT_REG);
			}
			free(v);
		} else if (rc == 0) {
			rc = cfgfs_history_files_list(h, path, list_cb, &a);
		}
		free(path);
		return rc;
	default:
		return -ENOTDIR;
	}
}

int fs_hist_readlink(struct cfgfs_fs *fs, struct node *n, char *buf, size_t size)
{
	if (n->hk == HK_HEAD) {
		snprintf(buf, size, "%" PRIu64, cfgfs_history_head(fs->history));
		return 0;
	}
	if (n->hk != HK_TREE && n->hk != HK_FVER)
		return -EINVAL;
	char *path = relpath(fs, n->hk == HK_FVER ? n->parent : n);
	char *data = NULL;
	size_t len = 0;
	if (!path)
		return -ENOMEM;
	int rc = cfgfs_history_read(fs->history, n->rev, path, &data, &len);
	free(path);
	if (rc < 0)
		return rc;
	snprintf(buf, size, "%.*s", (int)len, data);
	free(data);
	return 0;
}

struct touched {
	char **v;
	size_t n, cap;
};

static void touched_cb(void *arg, const char *path)
{
	struct touched *t = arg;
	if (t->n == t->cap) {
		size_t c = t->cap ? t->cap * 2 : 64;
		char **v = realloc(t->v, c * sizeof(*v));
		if (!v)
			return;
		t->v = v;
		t->cap = c;
	}
	char *p = strdup(path);
	if (p)
		t->v[t->n++] = p;
}

int fs_hist_write(struct cfgfs_fs *fs, struct node *n, const char *buf, size_t size,
		  const struct cfgfs_who *who)
{
	if (n->hk != HK_ROLLBACK)
		return -EROFS;
	char text[HIST_NUM_MAX + 2];
	size_t len = size;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' ' || buf[len - 1] == '\r'))
		len--;
	uint64_t rev;
	if (len == 0 || len >= sizeof(text))
		return -EINVAL;
	memcpy(text, buf, len);
	text[len] = '\0';
	if (!parse_rev(text, &rev))
		return -EINVAL;
	struct touched t = {0};
	int rc = cfgfs_live_rollback(fs->live, rev, who, touched_cb, &t);
	/* invalidate with no lock held: the kernel may need locks that
	 * requests waiting on ours hold */
	for (size_t i = 0; i < t.n; i++) {
		fs_inval_path(fs, t.v[i]);
		free(t.v[i]);
	}
	free(t.v);
	if (rc == 0)
		fs_hist_refresh(fs);
	return rc;
}

void fs_hist_refresh(struct cfgfs_fs *fs)
{
	if (!fs->history)
		return;
	int rc = cfgfs_history_refresh(fs->history);
	if (rc < 0)
		cfgfs_log(fs->log, CFGFS_ERROR, "history", "error", "cannot read new revisions",
			  "errno", strerror(-rc), NULL);
}

void fs_published(void *arg, const char *path)
{
	struct cfgfs_fs *fs = arg;
	fs_inval_path(fs, path);
	fs_hist_refresh(fs);
}

void fs_inval_path(struct cfgfs_fs *fs, const char *path)
{
	char *copy = strdup(path);
	if (!copy)
		return;
	struct node *parent = &fs->root, *child = NULL;
	char *save = NULL, *name = NULL;
	pthread_mutex_lock(&fs->tree_lock);
	for (char *tok = strtok_r(copy, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		if (child)
			parent = child;
		name = tok;
		child = fs_child(fs, parent, tok);
		if (!child)
			break;
	}
	bool last = name && strtok_r(NULL, "/", &save) == NULL;
	/* pin both: the FORGETs these invalidations cause may come at once */
	if (last) {
		parent->opens++;
		if (child)
			child->opens++;
	}
	pthread_mutex_unlock(&fs->tree_lock);
	if (last && name) {
		struct stat st;
		bool gone = fstatat(cfgfs_live_rootfd(fs->live), path, &st, AT_SYMLINK_NOFOLLOW) < 0;
		if (child) {
			fs_inval_inode(fs, child);
			if (gone)
				fs_detach(fs, child);
		}
		fs_inval_entry(fs, parent, name);
		if (child)
			fs_unref_open(fs, child);
		fs_unref_open(fs, parent);
	}
	free(copy);
}
