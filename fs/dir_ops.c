/*
 * dir_ops.c — directories and names: listing, mkdir, rmdir, unlink, rename,
 * symlink, link. Each handler resolves tree paths, asks backend/live to do
 * and commit the change, then mirrors it in the node table.
 */
#include "fs/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int dir_add(struct dir_handle *d, size_t *cap, const char *name, unsigned char type)
{
	if (d->n == *cap) {
		size_t c = *cap ? *cap * 2 : 32;
		struct dir_entry *v = realloc(d->v, c * sizeof(*v));
		if (!v)
			return -ENOMEM;
		d->v = v;
		*cap = c;
	}
	d->v[d->n].name = strdup(name);
	if (!d->v[d->n].name)
		return -ENOMEM;
	d->v[d->n].type = type;
	d->n++;
	return 0;
}

static void dir_free(struct dir_handle *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->v[i].name);
	free(d->v);
	free(d);
}

/* Snapshot a directory at opendir: SOURCE's entries less the invisible and
 * settling ones, plus files being created here. */
static int list_dir(struct cfgfs_fs *fs, struct node *n, struct dir_handle *d)
{
	size_t cap = 0;
	int rc = dir_add(d, &cap, ".", DT_DIR);
	if (rc == 0)
		rc = dir_add(d, &cap, "..", DT_DIR);
	if (rc < 0)
		return rc;
	char *path = fs_path(fs, n);
	if (!path)
		return -ENOMEM;
	int fd = openat(fs_rootfd(fs, n), path[0] ? path : ".",
			O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
	if (!dir) {
		rc = -errno;
		if (fd >= 0)
			close(fd);
		free(path);
		return rc;
	}
	bool live = n->kind == NODE_LIVE;
	struct dirent *de;
	while (rc == 0 && (errno = 0, de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (live) {
			char *cp = NULL;
			if (asprintf(&cp, "%s%s%s", path, path[0] ? "/" : "", de->d_name) < 0) {
				rc = -ENOMEM;
				break;
			}
			bool skip = cfgfs_live_invisible(fs->live, cp) ||
				    cfgfs_live_hidden(fs->live, cp);
			free(cp);
			if (skip)
				continue;
		}
		rc = dir_add(d, &cap, de->d_name, de->d_type);
	}
	closedir(dir);
	free(path);
	if (rc < 0 || !live)
		return rc;
	/* files created here and not yet saved */
	pthread_mutex_lock(&fs->tree_lock);
	for (size_t b = 0; b < FS_HASH_BUCKETS && rc == 0; b++)
		for (struct node *c = fs->hash[b]; c && rc == 0; c = c->hnext)
			if (c->parent == n && c->pending) {
				bool dup = false;
				for (size_t i = 0; i < d->n && !dup; i++)
					dup = strcmp(d->v[i].name, c->name) == 0;
				if (!dup)
					rc = dir_add(d, &cap, c->name, DT_REG);
			}
	pthread_mutex_unlock(&fs->tree_lock);
	if (rc == 0 && n == &fs->root)
		rc = dir_add(d, &cap, FS_CTL_DIR, DT_DIR);
	if (rc == 0 && n == &fs->root && fs->history)
		rc = dir_add(d, &cap, FS_HISTORY_DIR, DT_DIR);
	return rc;
}

void fs_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct cfgfs_fs *fs = fuse_req_userdata(req);
	struct node *n = fs_node(fs, ino);
	struct dir_handle *d = calloc(1, sizeof(*d));
	if (!d) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	int rc = n->kind == NODE_CTL    ? fs_ctl_list(fs, n, d)
		 : n->kind == NODE_HIST ? fs_hist_list(fs, n, d)
					: list_dir(fs, n, d);
	if (rc < 0) {
		dir_free(d);
		fuse_reply_err(req, -rc);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)d;
	fi->cache_readdir = 0;
	fs_opened(fs, &d->link, true);
	if (fuse_reply_open(req, fi) == -ENOENT) {
		fs_closed(fs, &d->link);
		dir_free(d);
	}
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi, bool plus)
{
	struct cfgfs_fs *fs = fuse_req_userdata(req);
	struct node *n = fs_node(fs, ino);
	struct dir_handle *d = (struct dir_handle *)(uintptr_t)fi->fh;
	char *buf = malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	size_t pos = 0;
	for (size_t i = (size_t)off; i < d->n; i++) {
		const char *name = d->v[i].name;
		size_t used;
		struct fuse_entry_param e;
		memset(&e, 0, sizeof(e));
		bool dot = strcmp(name, ".") == 0 || strcmp(name, "..") == 0;
		if (!plus || dot) {
			e.attr.st_ino = dot ? ino : 0xffffffffu; /* unknown: the kernel looks it up */
			e.attr.st_mode = (mode_t)d->v[i].type << 12;
			used = plus ? fuse_add_direntry_plus(req, buf + pos, size - pos, name, &e,
							     (off_t)i + 1)
				    : fuse_add_direntry(req, buf + pos, size - pos, name, &e.attr,
							(off_t)i + 1);
			if (used > size - pos)
				break;
			pos += used;
			continue;
		}
		if (fs_do_lookup(fs, n, name, &e) < 0)
			continue; /* vanished since opendir */
		used = fuse_add_direntry_plus(req, buf + pos, size - pos, name, &e, (off_t)i + 1);
		if (used > size - pos) {
			fs_forget(fs, fs_node(fs, e.ino), 1);
			break;
		}
		pos += used;
	}
	fuse_reply_buf(req, buf, pos);
	free(buf);
}

void fs_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, false);
}

void fs_op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, true);
}

void fs_dir_abandon(struct dir_handle *d)
{
	dir_free(d);
}

void fs_op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct cfgfs_fs *fs = fuse_req_userdata(req);
	struct dir_handle *d = (struct dir_handle *)(uintptr_t)fi->fh;
	(void)ino;
	fs_closed(fs, &d->link);
	dir_free(d);
	fuse_reply_err(req, 0);
}

/* Resolve PARENT/NAME for a change: a live path that may be created. */
static int change_path(struct cfgfs_fs *fs, struct node *parent, const char *name, char **out)
{
	if (parent->kind == NODE_CTL)
		return -EACCES;
	if (parent->kind != NODE_LIVE)
		return -EROFS;
	if (parent == &fs->root && strcmp(name, FS_CTL_DIR) == 0)
		return -EPERM;
	if (parent == &fs->root && strcmp(name, FS_HISTORY_DIR) == 0)
		return -EROFS;
	char *p = fs_child_path(fs, parent, name);
	if (!p)
		return -ENOMEM;
	if (cfgfs_live_invisible(fs->live, p)) {
		free(p);
		return -EPERM;
	}
	*out = p;
	return 0;
}

static void reply_new_entry(fuse_req_t req, struct cfgfs_fs *fs, struct node *parent,
			    const char *name)
{
	struct fuse_entry_param e;
	int rc = fs_do_lookup(fs, parent, name, &e);
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else if (fuse_reply_entry(req, &e) == -ENOENT)
		fs_forget(fs, fs_node(fs, e.ino), 1);
}

void fs_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct cfgfs_fs *fs = fuse_req_userdata(req);
	struct node *p = fs_node(fs, parent);
	struct cfgfs_who who;
	char *path = NULL;
	fs_who(req, &who);
	int rc = change_path(fs, p, name, &path);
	if (rc == 0)
		rc = cfgfs_live_mkdir(fs->live, path, mode & 07777, &who);
	free(path);
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		reply_new_entry(req, fs, p, name);
}

void fs_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	struct cfgfs_fs *fs = fuse_req_userdata(req);
	struct node *p = fs_node(fs, parent);
	struct cfgfs_who who;
	char *path = NULL;
	fs_who(req, &who);
	int rc = change_path(fs, p, name, &path);
	if (rc == 0)
		rc = cfgfs_live_symlink(fs->live, link, path, &who);
	free(path);
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		reply_new_entry(req, fs, p, name);
}

void fs_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	struct cfgfs_fs *fs = fuse_req_userdata(req);
	struct node *n = fs_node(fs, ino);
	struct node *p = fs_node(fs, newparent);
	struct cfgfs_who who;
	char *path = NULL, *from = NULL;
	fs_who(req, &who);
	int rc = change_path(fs, p, newname, &path);
	if (rc == 0 && (n->kind != NODE_LIVE || n->pending))
		rc = -EPERM;
	if (rc == 0 && !(from = fs_path(fs, n)))
		rc = -ENOMEM;
	if (rc == 0)
		rc = cfgfs_live_link(fs->live, from, path, &who);
	free(path);
	free(from);
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		reply_new_entry(req, fs, p, newname); /* a second file: its own node */
}

void fs_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	(void)parent;
	(void)name;
	(void)mode;
	(void)rdev;
	/* device nodes, FIFOs and sockets are not configuration; regular
	 * files come through create */
	fuse_reply_err(req, EPERM);
}

/* The attached child NAME of P (the kernel holds it for the call in progress). */
static struct node *child_of(struct cfgfs_fs *fs, struct node *p, const char *name, bool *pending)
{
	pthread_mutex_lock(&fs->tree_lock);
	struct node *c = fs_child(fs, p, name);
	*pending = c && c->pending;
	pthread_mutex_unlock(&fs->tree_lock);
	return c;
}

void fs_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct cfgfs_fs *fs = fuse_req_userdata(req);
	struct node *p = fs_node(fs, parent);
	struct cfgfs_who who;
	char *path = NULL;
	fs_who(req, &who);
	int rc = change_path(fs, p, name, &path);
	bool pending = false;
	struct node *c = rc == 0 ? child_of(fs, p, name, &pending) : NULL;
	if (rc == 0 && !pending)
		rc = cfgfs_live_unlink(fs->live, path, &who);
	free(path);
	if (rc == 0 && c) {
		pthread_mutex_lock(&fs->tree_lock);
		c->pending = false;
		pthread_mutex_unlock(&fs->tree_lock);
		fs_detach(fs, c);
	}
	fuse_reply_err(req, -rc);
}

void fs_op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct cfgfs_fs *fs = fuse_req_userdata(req);
	struct node *p = fs_node(fs, parent);
	struct cfgfs_who who;
	char *path = NULL;
	fs_who(req, &who);
	int rc = change_path(fs, p, name, &path);
	bool pending;
	struct node *c = rc == 0 ? child_of(fs, p, name, &pending) : NULL;
	if (rc == 0)
		rc = cfgfs_live_rmdir(fs->live, path, &who);
	free(path);
	if (rc == 0 && c)
		fs_detach(fs, c);
	fuse_reply_err(req, -rc);
}

void fs_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		  const char *newname, unsigned int flags)
{
	struct cfgfs_fs *fs = fuse_req_userdata(req);
	struct node *p = fs_node(fs, parent), *np = fs_node(fs, newparent);
	struct cfgfs_who who;
	char *from = NULL, *to = NULL;
	fs_who(req, &who);
	int rc = change_path(fs, p, name, &from);
	if (rc == 0)
		rc = change_path(fs, np, newname, &to);
	bool from_pending = false, to_pending = false;
	struct node *c = rc == 0 ? child_of(fs, p, name, &from_pending) : NULL;
	if (rc == 0)
		(void)child_of(fs, np, newname, &to_pending);
	if (rc == 0 && (flags & RENAME_NOREPLACE) && to_pending)
		rc = -EEXIST;
	if (rc == 0 && from_pending) {
		/* a file created and not yet saved: it saves under its new name */
		if (flags & ~RENAME_NOREPLACE)
			rc = -EINVAL;
	} else if (rc == 0) {
		rc = cfgfs_live_rename(fs->live, from, to, flags, &who);
	}
	if (rc == 0 && c)
		fs_move(fs, c, np, newname);
	else if (rc == -EINVAL || rc == -EFBIG)
		/* refused: a version of NEWNAME whose delete was pending is back,
		 * and the kernel may hold a negative entry for it */
		fs_inval_entry_later(fs, np, newname);
	free(from);
	free(to);
	fuse_reply_err(req, -rc);
}
