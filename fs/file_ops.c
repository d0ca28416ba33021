/*
 * file_ops.c — open files and the save points.
 *
 * A writable handle on a tracked file stages its bytes in a private copy
 * (made at the first write, or empty at O_TRUNC/create); readers keep seeing
 * the live file. The staged copy is saved — validated, committed, published
 * — at a FLUSH by an owner that wrote since the last one, at FSYNC, and at
 * RELEASE when anything is still pending. Scratch files pass straight
 * through to SOURCE and are never committed.
 */
#include "fs/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct handle *handle_new(struct node *n, int flags)
{
	struct handle *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->link.prev = h->link.next = &h->link;
	if (pthread_mutex_init(&h->lock, NULL) != 0) {
		free(h);
		return NULL;
	}
	h->node = n;
	h->fd = -1;
	h->stage.fd = -1;
	h->flags = flags;
	return h;
}

struct handle *fs_fresh_writer(struct cfgfs_fs *fs, struct node *n, pid_t pid)
{
	struct handle *found = NULL;
	pthread_mutex_lock(&fs->tree_lock);
	for (struct handle *h = n->writers; h && !found; h = h->wnext)
		if (h->opener == pid && !h->wrote)
			found = h;
	pthread_mutex_unlock(&fs->tree_lock);
	return found;
}

static void writers_add(struct cfgfs_fs *fs, struct handle *h)
{
	pthread_mutex_lock(&fs->tree_lock);
	h->node->opens++;
	if ((h->flags & O_ACCMODE) != O_RDONLY && !h->scratch && h->node->kind == NODE_LIVE) {
		h->wnext = h->node->writers;
		h->node->writers = h;
	}
	pthread_mutex_unlock(&fs->tree_lock);
}

static void writers_remove(struct cfgfs_fs *fs, struct handle *h)
{
	pthread_mutex_lock(&fs->tree_lock);
	for (struct handle **pp = &h->node->writers; *pp; pp = &(*pp)->wnext)
		if (*pp == h) {
			*pp = h->wnext;
			break;
		}
	pthread_mutex_unlock(&fs->tree_lock);
}

static void handle_free(struct handle *h)
{
	if (h->fd >= 0)
		close(h->fd);
	pthread_mutex_destroy(&h->lock);
	free(h->buf);
	free(h);
}

/* Make sure H has a staging copy: empty, or a copy of the live file. */
int fs_handle_stage(struct cfgfs_fs *fs, struct handle *h, bool empty)
{
	if (h->stage.fd >= 0)
		return 0;
	struct stat st;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	if (h->fd >= 0 && fstat(h->fd, &st) == 0) {
		mode = st.st_mode;
		uid = st.st_uid;
		gid = st.st_gid;
	} else {
		pthread_mutex_lock(&fs->tree_lock);
		mode = h->node->pending_mode;
		uid = h->node->pending_uid;
		gid = h->node->pending_gid;
		pthread_mutex_unlock(&fs->tree_lock);
	}
	struct cfgfs_stage st_new = {.fd = -1};
	int rc = cfgfs_live_stage_new(fs->live, &st_new, empty ? -1 : h->fd, mode, uid, gid);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&fs->tree_lock);
	h->stage = st_new;
	pthread_mutex_unlock(&fs->tree_lock);
	return 0;
}

static void forget_owners(struct handle *h)
{
	h->nowners = 0;
	h->any_owner = false;
}

/* Save H's staged bytes under its node's current path. h->lock held. */
int fs_save_handle(struct cfgfs_fs *fs, struct handle *h, const struct cfgfs_who *who)
{
	struct node *n = h->node;
	char *path = fs_path(fs, n);
	if (!path)
		return -ENOMEM;
	bool detached;
	pthread_mutex_lock(&fs->tree_lock);
	detached = !n->attached && n != &fs->root;
	pthread_mutex_unlock(&fs->tree_lock);
	int rc;
	if (detached) {
		rc = 0; /* unlinked while open: nothing to publish */
	} else if (h->stage.fd < 0) {
		rc = 0;
	} else if (cfgfs_live_scratch(fs->live, path)) {
		rc = cfgfs_live_stage_place(fs->live, path, &h->stage); /* renamed to scratch */
	} else {
		rc = cfgfs_live_save(fs->live, path, &h->stage, who);
	}
	h->dirty = false;
	/* a refusal sticks until the next write: emacs ignores EINVAL from
	 * fsync (it reads it as "no fsync here") and trusts close */
	h->refused = rc == -EINVAL || rc == -EFBIG;
	forget_owners(h);
	if (rc == 0 && !detached && h->stage.fd >= 0 && h->stage.name[0] == '\0') {
		/* published: the staged file is now the live file */
		pthread_mutex_lock(&fs->tree_lock);
		if (h->fd >= 0)
			close(h->fd);
		h->fd = h->stage.fd;
		h->stage.fd = -1;
		n->pending = false;
		pthread_mutex_unlock(&fs->tree_lock);
	}
	free(path);
	fs_inval_inode(fs, n);
	return rc;
}

static int open_live(struct cfgfs_fs *fs, struct node *n, const char *path, struct handle *h,
		     struct fuse_file_info *fi)
{
	int rootfd = fs_rootfd(fs, n);
	int acc = h->flags & O_ACCMODE;
	if (n->kind == NODE_REJECTED && acc != O_RDONLY)
		return -EROFS;
	h->scratch = n->kind == NODE_LIVE && cfgfs_live_scratch(fs->live, path);
	if (h->scratch) {
		int fl = h->flags & ~(O_CREAT | O_EXCL | O_NOCTTY);
		h->fd = openat(rootfd, path, fl | O_CLOEXEC | O_NOFOLLOW);
		if (h->fd < 0)
			return -errno;
		fi->direct_io = acc != O_RDONLY;
		return 0;
	}
	bool pending;
	pthread_mutex_lock(&fs->tree_lock);
	pending = n->pending;
	pthread_mutex_unlock(&fs->tree_lock);
	h->fd = openat(rootfd, path[0] ? path : ".", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (h->fd < 0 && !(pending && errno == ENOENT))
		return -errno;
	if (acc == O_RDONLY) {
		/* while a save is being written, the kernel's size of this inode
		 * can be the writer's: read around the page cache, which it
		 * would clamp to that size */
		pthread_mutex_lock(&fs->tree_lock);
		bool busy = n->writers != NULL || n->pending;
		fi->direct_io = busy || n->kind != NODE_LIVE;
		fi->keep_cache = !fi->direct_io;
		h->cached = fi->keep_cache;
		if (h->cached)
			n->cached_readers++;
		pthread_mutex_unlock(&fs->tree_lock);
		fi->noflush = 1;
		return 0;
	}
	/* writes go to a private copy; direct_io keeps them out of the page
	 * cache that other readers share */
	fi->direct_io = 1;
	if (h->flags & O_TRUNC) {
		int rc = fs_handle_stage(fs, h, true);
		if (rc < 0)
			return rc;
		h->dirty = true;
	}
	return 0;
}

void fs_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct cfgfs_fs *fs = fuse_req_userdata(req);
	struct node *n = fs_node(fs, ino);
	struct handle *h = handle_new(n, fi->flags);
	if (!h) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	int rc;
	if (n->kind == NODE_CTL && n->ctl == CTL_EVENTS) {
		rc = fs_events_open(fs, h, fi);
	} else if (n->kind == NODE_CTL) {
		rc = fs_ctl_open(fs, n, h);
		fi->direct_io = 1;
	} else if (n->kind == NODE_HIST) {
		rc = fs_hist_open(fs, n, h, fi);
	} else {
		char *path = fs_path(fs, n);
		rc = path ? open_live(fs, n, path, h, fi) : -ENOMEM;
		free(path);
	}
	if (rc < 0) {
		cfgfs_live_stage_drop(fs->live, &h->stage);
		handle_free(h);
		fuse_reply_err(req, -rc);
		return;
	}
	h->opener = fuse_req_ctx(req)->pid;
	fs_who(req, &h->who);
	if ((h->flags & O_ACCMODE) != O_RDONLY && n->kind == NODE_LIVE && !h->scratch)
		cfgfs_who_remember(&h->who); /* a save at release outlives the process */
	writers_add(fs, h);
	fs_opened(fs, &h->link, false);
	fi->fh = (uint64_t)(uintptr_t)h;
	if (fuse_reply_open(req, fi) == -ENOENT) {
		/* the opener was interrupted: undo */
		fs_closed(fs, &h->link);
		writers_remove(fs, h);
		cfgfs_live_stage_drop(fs->live, &h->stage);
		fs_unref_open(fs, n);
		handle_free(h);
	}
}

void fs_op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		  struct fuse_file_info *fi)
{
	struct cfgfs_fs *fs = fuse_req_userdata(req);
	struct node *p = fs_node(fs, parent);
	struct cfgfs_who who;
	fs_who(req, &who);
	if (p->kind != NODE_LIVE) {
		fuse_reply_err(req, p->kind == NODE_CTL ? EACCES : EROFS);
		return;
	}
	if (p == &fs->root && strcmp(name, FS_HISTORY_DIR) == 0) {
		fuse_reply_err(req, EROFS);
		return;
	}
	char *path = fs_child_path(fs, p, name);
	struct handle *h = NULL;
	struct node *n = NULL;
	struct stat st;
	int rc = 0;
	if (!path) {
		rc = -ENOMEM;
		goto fail;
	}
	if (cfgfs_live_invisible(fs->live, path) || (p == &fs->root && strcmp(name, FS_CTL_DIR) == 0)) {
		rc = -EPERM;
		goto fail;
	}
	if (!S_ISREG(mode)) {
		rc = -EPERM;
		goto fail;
	}
	int rootfd = cfgfs_live_rootfd(fs->live);
	if (cfgfs_live_scratch(fs->live, path)) {
		int fd = openat(rootfd, path, (fi->flags & ~O_NOCTTY) | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
				mode & 07777);
		if (fd < 0) {
			rc = -errno;
			goto fail;
		}
		if (fchown(fd, who.uid, who.gid) < 0 || fstat(fd, &st) < 0) {
			rc = -errno;
			close(fd);
			goto fail;
		}
		n = fs_child_ref(fs, p, name, NODE_LIVE);
		h = handle_new(n, fi->flags);
		if (!n || !h) {
			close(fd);
			rc = -ENOMEM;
			goto fail;
		}
		h->scratch = true;
		h->fd = fd;
		fi->direct_io = 1;
	} else {
		if (fstatat(rootfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    !cfgfs_live_hidden(fs->live, path)) {
			rc = -EEXIST; /* raced with another creator */
			goto fail;
		}
		n = fs_child_ref(fs, p, name, NODE_LIVE);
		h = n ? handle_new(n, fi->flags) : NULL;
		if (!h) {
			rc = -ENOMEM;
			goto fail;
		}
		pthread_mutex_lock(&fs->tree_lock);
		n->pending = true;
		n->pending_mode = S_IFREG | (mode & 07777);
		n->pending_uid = who.uid;
		n->pending_gid = who.gid;
		pthread_mutex_unlock(&fs->tree_lock);
		rc = fs_handle_stage(fs, h, true);
		if (rc < 0)
			goto fail;
		/* `touch new` is a save too, made at release: a FLUSH before any
		 * write is bash closing a dup of its `>` before the command runs */
		h->dirty = true;
		if (fstat(h->stage.fd, &st) < 0) {
			rc = -errno;
			goto fail;
		}
		fi->direct_io = 1;
	}
	h->opener = who.pid;
	h->who = who;
	if (!h->scratch)
		cfgfs_who_remember(&h->who);
	writers_add(fs, h);
	fs_opened(fs, &h->link, false);
	fi->fh = (uint64_t)(uintptr_t)h;
	struct fuse_entry_param e;
	fs_entry(fs, n, &st, &e);
	e.attr_timeout = h->scratch ? FS_ATTR_TIMEOUT : 0.0;
	free(path);
	if (fuse_reply_create(req, &e, fi) == -ENOENT) {
		fs_closed(fs, &h->link);
		writers_remove(fs, h);
		cfgfs_live_stage_drop(fs->live, &h->stage);
		fs_unref_open(fs, n);
		fs_forget(fs, n, 1);
		handle_free(h);
	}
	return;
fail:
	if (h) {
		cfgfs_live_stage_drop(fs->live, &h->stage);
		handle_free(h);
	}
	if (n) {
		pthread_mutex_lock(&fs->tree_lock);
		bool drop = n->pending && !n->writers;
		pthread_mutex_unlock(&fs->tree_lock);
		if (drop)
			fs_detach(fs, n);
		fs_forget(fs, n, 1);
	}
	free(path);
	fuse_reply_err(req, -rc);
}

void fs_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct cfgfs_fs *fs = fuse_req_userdata(req);
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	(void)ino;
	if (h->node->kind == NODE_CTL && h->node->ctl == CTL_EVENTS) {
		fs_events_read(req, fs, h, size);
		return;
	}
	if (h->node->kind == NODE_CTL || h->node->kind == NODE_HIST) {
		/* The reader can return, close and have this handle released the
		 * moment the kernel has the reply, before fuse_reply_buf returns:
		 * reply from a copy, not from h->buf. */
		size_t o = (size_t)off;
		size_t n = o < h->len ? (h->len - o < size ? h->len - o : size) : 0;
		char *copy = n ? malloc(n) : NULL;
		if (n && !copy) {
			fuse_reply_err(req, ENOMEM);
			return;
		}
		if (n)
			memcpy(copy, h->buf + o, n);
		fuse_reply_buf(req, copy, n);
		free(copy);
		return;
	}
	pthread_mutex_lock(&h->lock);
	int fd = h->stage.fd >= 0 ? h->stage.fd : h->fd;
	if (fd < 0) {
		pthread_mutex_unlock(&h->lock);
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	struct fuse_bufvec buf = FUSE_BUFVEC_INIT(size);
	buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	buf.buf[0].fd = fd;
	buf.buf[0].pos = off;
	/* the reply copies from fd before returning, so the lock covers it */
	fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
	pthread_mutex_unlock(&h->lock);
	(void)fs;
}

/*
 * A writer's writes move the size the kernel keeps for the inode, and a
 * reader that opened before the writer reads through the page cache up to
 * that size: past the live file's end it would get zeros. Readers opening
 * while a writer exists read around the cache, so only the earlier ones
 * matter: let them finish (up to FS_WRITER_DRAIN_MS) before the first write.
 */
static void drain_cached_readers(struct cfgfs_fs *fs, struct handle *h)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += FS_WRITER_DRAIN_MS / 1000;
	until.tv_nsec += (FS_WRITER_DRAIN_MS % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&fs->tree_lock);
	while (h->node->cached_readers > 0)
		if (pthread_cond_timedwait(&fs->readers_gone, &fs->tree_lock, &until) != 0)
			break;
	h->drained = true;
	pthread_mutex_unlock(&fs->tree_lock);
}

static void note_owner(struct handle *h, struct fuse_file_info *fi)
{
	if (!fi->lock_owner) {
		h->any_owner = true;
		return;
	}
	for (unsigned i = 0; i < h->nowners; i++)
		if (h->owners[i] == fi->lock_owner)
			return;
	if (h->nowners < FS_MAX_OWNERS)
		h->owners[h->nowners++] = fi->lock_owner;
	else
		h->any_owner = true;
}

static bool owner_wrote(struct handle *h, uint64_t owner)
{
	if (h->any_owner)
		return true;
	for (unsigned i = 0; i < h->nowners; i++)
		if (h->owners[i] == owner)
			return true;
	return false;
}

void fs_op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		 struct fuse_file_info *fi)
{
	struct cfgfs_fs *fs = fuse_req_userdata(req);
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	(void)ino;
	if (h->node->kind == NODE_HIST) {
		struct cfgfs_who who;
		fs_who(req, &who);
		int r = fs_hist_write(fs, h->node, buf, size, &who);
		if (r < 0)
			fuse_reply_err(req, -r);
		else
			fuse_reply_write(req, size);
		return;
	}
	if (h->node->kind == NODE_CTL && h->node->ctl == CTL_EVENTS) {
		int r = fs_events_write(fs, h, buf, size);
		if (r < 0)
			fuse_reply_err(req, -r);
		else
			fuse_reply_write(req, size);
		return;
	}
	if (h->node->kind != NODE_LIVE) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if ((size_t)off + size > cfgfs_live_max_file_size(fs->live) && !h->scratch) {
		if (!h->too_big) {
			struct cfgfs_who who;
			char *path = fs_path(fs, h->node);
			fs_who(req, &who);
			if (path)
				cfgfs_live_refuse_size(fs->live, path, (uint64_t)off + size, &who);
			free(path);
			h->too_big = true;
		}
		fuse_reply_err(req, EFBIG);
		return;
	}
	if (!h->scratch && !h->drained)
		drain_cached_readers(fs, h);
	pthread_mutex_lock(&h->lock);
	int rc = 0;
	int fd = h->fd;
	if (!h->scratch) {
		rc = fs_handle_stage(fs, h, false);
		fd = h->stage.fd;
		if (rc == 0 && (h->flags & O_APPEND)) {
			struct stat st;
			if (fstat(fd, &st) < 0)
				rc = -errno;
			else
				off = st.st_size;
		}
	}
	ssize_t n = 0;
	if (rc == 0) {
		n = pwrite(fd, buf, size, off);
		if (n < 0)
			rc = -errno;
	}
	if (rc == 0 && !h->scratch) {
		h->dirty = h->wrote = true;
		h->refused = false;
		note_owner(h, fi);
	}
	pthread_mutex_unlock(&h->lock);
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_write(req, (size_t)n);
}

void fs_op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct cfgfs_fs *fs = fuse_req_userdata(req);
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	struct cfgfs_who who;
	(void)ino;
	int rc = 0;
	fs_who(req, &who);
	pthread_mutex_lock(&h->lock);
	if (!h->scratch && h->dirty && owner_wrote(h, fi->lock_owner))
		rc = fs_save_handle(fs, h, &who);
	else if (!h->scratch && h->refused)
		rc = -EINVAL;
	pthread_mutex_unlock(&h->lock);
	fuse_reply_err(req, -rc);
}

void fs_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct cfgfs_fs *fs = fuse_req_userdata(req);
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	struct cfgfs_who who;
	(void)ino;
	int rc = 0;
	fs_who(req, &who);
	pthread_mutex_lock(&h->lock);
	if (h->scratch) {
		if ((datasync ? fdatasync(h->fd) : fsync(h->fd)) < 0)
			rc = -errno;
	} else if (h->dirty) {
		rc = fs_save_handle(fs, h, &who);
	}
	pthread_mutex_unlock(&h->lock);
	fuse_reply_err(req, -rc);
}

void fs_op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct cfgfs_fs *fs = fuse_req_userdata(req);
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	struct node *n = h->node;
	(void)ino;
	pthread_mutex_lock(&h->lock);
	if (!h->scratch && h->dirty) {
		/* what is still pending (a bare O_TRUNC): nobody sees this error.
		 * RELEASE carries no process: the save is the opener's. */
		int rc = fs_save_handle(fs, h, &h->who);
		(void)rc; /* a refusal is already logged and kept in .cfgfs/rejected */
	}
	writers_remove(fs, h);
	cfgfs_live_stage_drop(fs->live, &h->stage);
	pthread_mutex_unlock(&h->lock);
	if (n->kind == NODE_CTL && n->ctl == CTL_EVENTS)
		fs_events_release(fs, h);
	/* a file created here whose save never committed does not exist */
	pthread_mutex_lock(&fs->tree_lock);
	if (h->cached && --n->cached_readers == 0)
		pthread_cond_broadcast(&fs->readers_gone);
	bool vanish = n->pending && n->attached && n->writers == NULL;
	struct node *parent = n->parent;
	char *name = vanish ? strdup(n->name) : NULL;
	if (vanish)
		n->pending = false;
	pthread_mutex_unlock(&fs->tree_lock);
	if (vanish) {
		fs_detach(fs, n);
		if (name)
			fs_inval_entry(fs, parent, name);
	}
	free(name);
	fs_unref_open(fs, n);
	fs_closed(fs, &h->link);
	handle_free(h);
	fuse_reply_err(req, 0);
}

void fs_handle_abandon(struct cfgfs_fs *fs, struct handle *h)
{
	if (h->node->kind == NODE_CTL && h->node->ctl == CTL_EVENTS && h->ph)
		fuse_pollhandle_destroy(h->ph);
	cfgfs_live_stage_drop(fs->live, &h->stage);
	handle_free(h);
}
