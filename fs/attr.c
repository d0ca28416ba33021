/*
 * attr.c — names and attributes: lookup, forget, getattr, setattr,
 * readlink, statfs, and the kernel cache invalidations that follow a publish.
 */
#include "fs/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

void fs_entry(struct cfgfs_fs *fs, struct node *n, const struct stat *st,
	      struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = fs_ino(fs, n);
	e->generation = 1;
	e->attr = *st;
	e->attr.st_ino = e->ino;
	/* control files and the refused-content tree change on their own */
	bool changing = (n->kind == NODE_CTL && n->ctl != CTL_DIR) || n->kind == NODE_REJECTED;
	e->attr_timeout = changing ? FS_CTL_ATTR_TIMEOUT : FS_ATTR_TIMEOUT;
	e->entry_timeout = n->kind == NODE_REJECTED ? 0.0 : FS_ENTRY_TIMEOUT;
}

int fs_stat(struct cfgfs_fs *fs, struct node *n, struct handle *h, struct stat *st)
{
	if (n->kind == NODE_HIST)
		return fs_hist_stat(fs, n, st);
	if (n->kind == NODE_CTL)
		return fs_ctl_stat(fs, n, st);
	if (n == &fs->ctl_rejected)
		return fstat(cfgfs_live_rejected_fd(fs->live), st) < 0 ? -errno : 0;
	int fd = -1;
	/* The kernel keeps one size per inode, shared by every reader: it is
	 * always the live file's. Only a file being created, which has no live
	 * version, shows its staged copy (with a zero timeout). */
	pthread_mutex_lock(&fs->tree_lock);
	if (n->pending) {
		if (!h || h->stage.fd < 0)
			for (h = n->writers; h && h->stage.fd < 0; h = h->wnext)
				;
		if (h && h->stage.fd >= 0)
			fd = dup(h->stage.fd);
	}
	bool pending = n->pending;
	mode_t pmode = n->pending_mode;
	uid_t puid = n->pending_uid;
	gid_t pgid = n->pending_gid;
	pthread_mutex_unlock(&fs->tree_lock);
	if (fd >= 0) {
		int rc = fstat(fd, st) < 0 ? -errno : 0;
		close(fd);
		return rc;
	}
	if (pending) {
		memset(st, 0, sizeof(*st));
		st->st_mode = S_IFREG | (pmode & 07777);
		st->st_uid = puid;
		st->st_gid = pgid;
		st->st_nlink = 1;
		clock_gettime(CLOCK_REALTIME, &st->st_mtim);
		st->st_ctim = st->st_atim = st->st_mtim;
		return 0;
	}
	char *path = fs_path(fs, n);
	if (!path)
		return -ENOMEM;
	int rc = fstatat(fs_rootfd(fs, n), path[0] ? path : ".", st, AT_SYMLINK_NOFOLLOW) < 0
			 ? -errno
			 : 0;
	free(path);
	/* unlinked while open: the open file still answers fstat */
	if (rc == -ENOENT && h && h->fd >= 0 && fstat(h->fd, st) == 0)
		rc = 0;
	return rc;
}

double fs_attr_timeout(struct cfgfs_fs *fs, struct node *n, struct handle *h)
{
	if (n->kind == NODE_HIST && (n->hk == HK_REV || n->hk == HK_TREE || n->hk == HK_FVER))
		return FS_HIST_TIMEOUT;
	if (n->kind != NODE_LIVE)
		return FS_CTL_ATTR_TIMEOUT;
	(void)h;
	/* a file being created shows its staged copy: never cached */
	pthread_mutex_lock(&fs->tree_lock);
	bool pending = n->pending;
	pthread_mutex_unlock(&fs->tree_lock);
	return pending ? 0.0 : FS_ATTR_TIMEOUT;
}

int fs_do_lookup(struct cfgfs_fs *fs, struct node *parent, const char *name,
		 struct fuse_entry_param *e)
{
	struct stat st;
	struct node *n = NULL;
	int rc;
	if (parent->kind == NODE_HIST ||
	    (parent == &fs->root && strcmp(name, FS_HISTORY_DIR) == 0))
		return fs_hist_lookup(fs, parent, name, e);
	if (parent->kind == NODE_CTL || (parent == &fs->root && strcmp(name, FS_CTL_DIR) == 0)) {
		rc = fs_ctl_lookup(fs, parent, name, &n);
		if (rc < 0)
			return rc;
		rc = fs_stat(fs, n, NULL, &st);
		if (rc < 0)
			return rc;
		pthread_mutex_lock(&fs->tree_lock);
		n->nlookup++;
		pthread_mutex_unlock(&fs->tree_lock);
		fs_entry(fs, n, &st, e);
		return 0;
	}
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -ENOENT;
	char *path = fs_child_path(fs, parent, name);
	if (!path)
		return -ENOMEM;
	enum node_kind kind = parent->kind == NODE_REJECTED ? NODE_REJECTED : NODE_LIVE;
	if (kind == NODE_LIVE) {
		if (cfgfs_live_invisible(fs->live, path)) {
			rc = -ENOENT;
			goto out;
		}
		pthread_mutex_lock(&fs->tree_lock);
		struct node *c = fs_child(fs, parent, name);
		bool pending = c && c->pending;
		pthread_mutex_unlock(&fs->tree_lock);
		if (!pending && cfgfs_live_hidden(fs->live, path)) {
			rc = -ENOENT;
			goto out;
		}
		if (pending) {
			n = fs_child_ref(fs, parent, name, kind);
			if (!n) {
				rc = -ENOMEM;
				goto out;
			}
			rc = fs_stat(fs, n, NULL, &st);
			if (rc < 0) {
				fs_forget(fs, n, 1);
				goto out;
			}
			fs_entry(fs, n, &st, e);
			e->attr_timeout = 0.0;
			goto out;
		}
	}
	if (fstatat(fs_rootfd(fs, parent), path, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		rc = -errno;
		goto out;
	}
	n = fs_child_ref(fs, parent, name, kind);
	if (!n) {
		rc = -ENOMEM;
		goto out;
	}
	fs_entry(fs, n, &st, e);
	if (kind == NODE_LIVE)
		e->attr_timeout = fs_attr_timeout(fs, n, NULL);
	rc = 0;
out:
	free(path);
	return rc;
}

void fs_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct cfgfs_fs *fs = fuse_req_userdata(req);
	struct fuse_entry_param e;
	struct node *p = fs_node(fs, parent);
	int rc = fs_do_lookup(fs, p, name, &e);
	if (rc == -ENOENT) {
		/* a negative entry: absorbs editors' probes; every create in the
		 * live tree goes through us, so it is never stale there */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = p->kind == NODE_LIVE ? FS_ENTRY_TIMEOUT : 0.0;
		fuse_reply_entry(req, &e);
		return;
	}
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_entry(req, &e);
}

void fs_op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct cfgfs_fs *fs = fuse_req_userdata(req);
	fs_forget(fs, fs_node(fs, ino), nlookup);
	fuse_reply_none(req);
}

void fs_op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	struct cfgfs_fs *fs = fuse_req_userdata(req);
	for (size_t i = 0; i < count; i++)
		fs_forget(fs, fs_node(fs, forgets[i].ino), forgets[i].nlookup);
	fuse_reply_none(req);
}

void fs_op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct cfgfs_fs *fs = fuse_req_userdata(req);
	struct node *n = fs_node(fs, ino);
	struct handle *h = fi && n->kind != NODE_CTL ? (struct handle *)(uintptr_t)fi->fh : NULL;
	struct stat st;
	int rc = fs_stat(fs, n, h, &st);
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	st.st_ino = ino;
	fuse_reply_attr(req, &st, fs_attr_timeout(fs, n, h));
}

/* Apply mode/owner/times to every staged writer of N. 1 when N had one
 * (the change then travels with the save), 0 when none, <0 on error. */
static int setattr_staged(struct cfgfs_fs *fs, struct node *n, struct stat *attr, int to_set)
{
	int fds[16], nfds = 0, rc = 0;
	pthread_mutex_lock(&fs->tree_lock);
	for (struct handle *h = n->writers; h && nfds < 16; h = h->wnext)
		if (h->stage.fd >= 0 && (fds[nfds] = dup(h->stage.fd)) >= 0)
			nfds++;
	if (n->pending && nfds == 0) {
		if (to_set & FUSE_SET_ATTR_MODE)
			n->pending_mode = attr->st_mode;
		if (to_set & FUSE_SET_ATTR_UID)
			n->pending_uid = attr->st_uid;
		if (to_set & FUSE_SET_ATTR_GID)
			n->pending_gid = attr->st_gid;
		rc = 1;
	}
	pthread_mutex_unlock(&fs->tree_lock);
	for (int i = 0; i < nfds; i++) {
		int fd = fds[i];
		if ((to_set & FUSE_SET_ATTR_MODE) && fchmod(fd, attr->st_mode & 07777) < 0)
			rc = -errno;
		if ((to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) &&
		    fchown(fd, (to_set & FUSE_SET_ATTR_UID) ? attr->st_uid : (uid_t)-1,
			   (to_set & FUSE_SET_ATTR_GID) ? attr->st_gid : (gid_t)-1) < 0)
			rc = -errno;
		if (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)) {
			struct timespec tv[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
			if (to_set & FUSE_SET_ATTR_ATIME_NOW)
				tv[0].tv_nsec = UTIME_NOW;
			else if (to_set & FUSE_SET_ATTR_ATIME)
				tv[0] = attr->st_atim;
			if (to_set & FUSE_SET_ATTR_MTIME_NOW)
				tv[1].tv_nsec = UTIME_NOW;
			else if (to_set & FUSE_SET_ATTR_MTIME)
				tv[1] = attr->st_mtim;
			if (futimens(fd, tv) < 0)
				rc = -errno;
		}
		close(fd);
	}
	if (rc < 0)
		return rc;
	return nfds > 0 || rc == 1;
}

static int setattr_size(struct cfgfs_fs *fs, struct node *n, struct handle *h, off_t size,
			const struct cfgfs_who *who)
{
	if ((size_t)size > cfgfs_live_max_file_size(fs->live))
		return -EFBIG;
	if (h && h->scratch)
		return ftruncate(h->fd, size) < 0 ? -errno : 0;
	bool at_open = false;
	if (!h && size == 0) {
		h = fs_fresh_writer(fs, n, (pid_t)who->pid); /* open(O_TRUNC) */
		at_open = h != NULL;
	}
	if (h && h->node == n) {
		pthread_mutex_lock(&h->lock);
		int rc = fs_handle_stage(fs, h, size == 0);
		if (rc == 0 && ftruncate(h->stage.fd, size) < 0)
			rc = -errno;
		/* a bare O_TRUNC is saved at release, unless written to before */
		if (rc == 0)
			h->dirty = h->wrote = true;
		if (rc == 0 && !at_open)
			h->any_owner = true;
		pthread_mutex_unlock(&h->lock);
		return rc;
	}
	/* truncate(2) by name: a save of its own */
	char *path = fs_path(fs, n);
	if (!path)
		return -ENOMEM;
	int rc;
	if (cfgfs_live_scratch(fs->live, path)) {
		int fd = openat(cfgfs_live_rootfd(fs->live), path, O_WRONLY | O_NOFOLLOW);
		rc = fd < 0 ? -errno : (ftruncate(fd, size) < 0 ? -errno : 0);
		if (fd >= 0)
			close(fd);
		free(path);
		return rc;
	}
	int src = openat(cfgfs_live_rootfd(fs->live), path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (src < 0 || fstat(src, &st) < 0) {
		rc = -errno;
		goto out;
	}
	struct cfgfs_stage stage = {.fd = -1};
	rc = cfgfs_live_stage_new(fs->live, &stage, src, st.st_mode, st.st_uid, st.st_gid);
	if (rc == 0 && ftruncate(stage.fd, size) < 0)
		rc = -errno;
	if (rc == 0)
		rc = cfgfs_live_save(fs->live, path, &stage, who);
	cfgfs_live_stage_drop(fs->live, &stage);
	fs_inval_inode(fs, n);
out:
	if (src >= 0)
		close(src);
	free(path);
	return rc;
}

void fs_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		   struct fuse_file_info *fi)
{
	struct cfgfs_fs *fs = fuse_req_userdata(req);
	struct node *n = fs_node(fs, ino);
	struct handle *h = fi ? (struct handle *)(uintptr_t)fi->fh : NULL;
	struct cfgfs_who who;
	int rc = 0;
	fs_who(req, &who);
	if (n->kind == NODE_HIST && n->hk == HK_ROLLBACK && !(to_set & ~FUSE_SET_ATTR_SIZE)) {
		/* `echo N > rollback` truncates first: nothing to truncate */
		struct stat st;
		int r = fs_hist_stat(fs, n, &st);
		if (r < 0)
			fuse_reply_err(req, -r);
		else
			fuse_reply_attr(req, &st, 0.0);
		return;
	}
	if (n->kind != NODE_LIVE) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (to_set & FUSE_SET_ATTR_SIZE) {
		rc = setattr_size(fs, n, h, attr->st_size, &who);
		if (rc < 0)
			goto out;
	}
	int meta = to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID |
			     FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_ATIME_NOW |
			     FUSE_SET_ATTR_MTIME_NOW);
	if (!meta)
		goto out;
	rc = setattr_staged(fs, n, attr, meta);
	if (rc != 0)
		goto out;
	char *path = fs_path(fs, n);
	if (!path) {
		rc = -ENOMEM;
		goto out;
	}
	if (meta & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID))
		rc = cfgfs_live_setmeta(
			fs->live, path,
			(meta & FUSE_SET_ATTR_MODE) ? (uint32_t)attr->st_mode : UINT32_MAX,
			(meta & FUSE_SET_ATTR_UID) ? (uint32_t)attr->st_uid : UINT32_MAX,
			(meta & FUSE_SET_ATTR_GID) ? (uint32_t)attr->st_gid : UINT32_MAX, &who);
	if (rc == 0 && (meta & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME))) {
		struct timespec tv[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
		if (meta & FUSE_SET_ATTR_ATIME_NOW)
			tv[0].tv_nsec = UTIME_NOW;
		else if (meta & FUSE_SET_ATTR_ATIME)
			tv[0] = attr->st_atim;
		if (meta & FUSE_SET_ATTR_MTIME_NOW)
			tv[1].tv_nsec = UTIME_NOW;
		else if (meta & FUSE_SET_ATTR_MTIME)
			tv[1] = attr->st_mtim;
		rc = cfgfs_live_utimens(fs->live, path, tv);
	}
	free(path);
out:
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	struct stat st;
	rc = fs_stat(fs, n, h, &st);
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	st.st_ino = ino;
	fuse_reply_attr(req, &st, fs_attr_timeout(fs, n, h));
}

void fs_op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct cfgfs_fs *fs = fuse_req_userdata(req);
	struct node *n = fs_node(fs, ino);
	char buf[4096];
	if (n->kind == NODE_HIST) {
		int r = fs_hist_readlink(fs, n, buf, sizeof(buf));
		if (r < 0)
			fuse_reply_err(req, -r);
		else
			fuse_reply_readlink(req, buf);
		return;
	}
	char *path = fs_path(fs, n);
	if (!path) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	ssize_t len = readlinkat(fs_rootfd(fs, n), path, buf, sizeof(buf) - 1);
	int e = errno;
	free(path);
	if (len < 0) {
		fuse_reply_err(req, e);
		return;
	}
	buf[len] = '\0';
	fuse_reply_readlink(req, buf);
}

void fs_op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct cfgfs_fs *fs = fuse_req_userdata(req);
	(void)ino;
	struct statvfs sv;
	if (fstatvfs(cfgfs_live_rootfd(fs->live), &sv) < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_statfs(req, &sv);
}

void fs_inval_inode(struct cfgfs_fs *fs, struct node *n)
{
	if (!fs->se)
		return;
	int rc = fuse_lowlevel_notify_inval_inode(fs->se, fs_ino(fs, n), 0, 0);
	if (rc < 0 && rc != -ENOENT)
		cfgfs_log(fs->log, CFGFS_WARN, "invalidate", "error", strerror(-rc), NULL);
}

void fs_inval_entry(struct cfgfs_fs *fs, struct node *parent, const char *name)
{
	if (!fs->se)
		return;
	int rc = fuse_lowlevel_notify_inval_entry(fs->se, fs_ino(fs, parent), name, strlen(name));
	if (rc < 0 && rc != -ENOENT)
		cfgfs_log(fs->log, CFGFS_WARN, "invalidate", "error", strerror(-rc), NULL);
}

struct later {
	struct cfgfs_fs *fs;
	struct node *parent;
	char *name;
};

static void *inval_later(void *arg)
{
	struct later *l = arg;
	fs_inval_entry(l->fs, l->parent, l->name);
	fs_unref_open(l->fs, l->parent);
	free(l->name);
	free(l);
	return NULL;
}

void fs_inval_entry_later(struct cfgfs_fs *fs, struct node *parent, const char *name)
{
	struct later *l = calloc(1, sizeof(*l));
	if (!l || !(l->name = strdup(name))) {
		free(l);
		return;
	}
	l->fs = fs;
	l->parent = parent;
	pthread_mutex_lock(&fs->tree_lock);
	parent->opens++; /* pinned until the notification is sent */
	pthread_mutex_unlock(&fs->tree_lock);
	pthread_t t;
	pthread_attr_t attr;
	if (pthread_attr_init(&attr) == 0 &&
	    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) == 0 &&
	    pthread_create(&t, &attr, inval_later, l) == 0) {
		pthread_attr_destroy(&attr);
		return;
	}
	pthread_attr_destroy(&attr);
	fs_unref_open(fs, parent);
	free(l->name);
	free(l);
}
