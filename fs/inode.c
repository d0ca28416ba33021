/*
 * inode.c — the node table: named entries with kernel lookup counts.
 *
 * A node is found by (parent, name) through one hash; its FUSE inode number
 * is its address (the root is FUSE_ROOT_ID). Lookup counts rise with every
 * entry reply and fall with FORGET; a node nobody references any more
 * (nlookup 0, no open handle) is freed, unless it is permanent.
 */
#include "fs/fs.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static size_t bucket(const struct node *parent, const char *name)
{
	uint64_t h = (uint64_t)(uintptr_t)parent * 0x9e3779b97f4a7c15ull;
	for (const unsigned char *c = (const unsigned char *)name; *c; c++)
		h = (h ^ *c) * 0x100000001b3ull;
	return (size_t)(h % FS_HASH_BUCKETS);
}

static void init_fixed(struct node *n, struct node *parent, const char *name, enum node_kind kind,
		       enum ctl_id ctl)
{
	memset(n, 0, sizeof(*n));
	n->parent = parent;
	n->name = (char *)name;
	n->kind = kind;
	n->ctl = ctl;
	n->permanent = true;
}

int fs_init(struct cfgfs_fs *fs, struct cfgfs_live *live, struct cfgfs_log *log)
{
	memset(fs, 0, sizeof(*fs));
	fs->live = live;
	fs->log = log;
	init_fixed(&fs->root, NULL, "", NODE_LIVE, CTL_NONE);
	init_fixed(&fs->ctl_dir, &fs->root, FS_CTL_DIR, NODE_CTL, CTL_DIR);
	init_fixed(&fs->ctl_errors, &fs->ctl_dir, "errors", NODE_CTL, CTL_ERRORS);
	init_fixed(&fs->ctl_status, &fs->ctl_dir, "status", NODE_CTL, CTL_STATUS);
	init_fixed(&fs->ctl_metrics, &fs->ctl_dir, "metrics", NODE_CTL, CTL_METRICS);
	init_fixed(&fs->ctl_events, &fs->ctl_dir, "events", NODE_CTL, CTL_EVENTS);
	/* the rejected tree is a subtree root: paths below it start there */
	init_fixed(&fs->ctl_rejected, NULL, "rejected", NODE_REJECTED, CTL_REJECTED);
	init_fixed(&fs->hist_root, &fs->root, FS_HISTORY_DIR, NODE_HIST, CTL_NONE);
	init_fixed(&fs->hist_head, &fs->hist_root, "HEAD", NODE_HIST, CTL_NONE);
	init_fixed(&fs->hist_log, &fs->hist_root, "log", NODE_HIST, CTL_NONE);
	init_fixed(&fs->hist_rollback, &fs->hist_root, "rollback", NODE_HIST, CTL_NONE);
	init_fixed(&fs->hist_files, &fs->hist_root, "files", NODE_HIST, CTL_NONE);
	fs->hist_root.hk = HK_ROOT;
	fs->hist_head.hk = HK_HEAD;
	fs->hist_log.hk = HK_LOG;
	fs->hist_rollback.hk = HK_ROLLBACK;
	fs->hist_files.hk = HK_FILES;
	fs->opened.prev = fs->opened.next = &fs->opened;
	int rc = pthread_mutex_init(&fs->tree_lock, NULL);
	if (rc != 0)
		return -rc;
	if ((rc = pthread_cond_init(&fs->readers_gone, NULL)) != 0) {
		pthread_mutex_destroy(&fs->tree_lock);
		return -rc;
	}
	if ((rc = pthread_mutex_init(&fs->open_lock, NULL)) != 0) {
		pthread_cond_destroy(&fs->readers_gone);
		pthread_mutex_destroy(&fs->tree_lock);
	}
	return -rc;
}

void fs_opened(struct cfgfs_fs *fs, struct open_link *l, bool is_dir)
{
	l->is_dir = is_dir;
	pthread_mutex_lock(&fs->open_lock);
	l->next = fs->opened.next;
	l->prev = &fs->opened;
	fs->opened.next->prev = l;
	fs->opened.next = l;
	pthread_mutex_unlock(&fs->open_lock);
}

void fs_closed(struct cfgfs_fs *fs, struct open_link *l)
{
	pthread_mutex_lock(&fs->open_lock);
	l->prev->next = l->next;
	l->next->prev = l->prev;
	l->prev = l->next = l;
	pthread_mutex_unlock(&fs->open_lock);
}

static void free_node(struct node *n)
{
	if (n->permanent)
		return;
	free(n->name);
	free(n);
}

void fs_destroy(struct cfgfs_fs *fs)
{
	/* the session is over: nothing is released any more */
	while (fs->opened.next != &fs->opened) {
		struct open_link *l = fs->opened.next;
		fs_closed(fs, l);
		if (l->is_dir)
			fs_dir_abandon((struct dir_handle *)l);
		else
			fs_handle_abandon(fs, (struct handle *)l);
	}
	pthread_mutex_destroy(&fs->open_lock);
	for (size_t i = 0; i < FS_HASH_BUCKETS; i++) {
		struct node *n = fs->hash[i];
		while (n) {
			struct node *next = n->hnext;
			free_node(n);
			n = next;
		}
		fs->hash[i] = NULL;
	}
	pthread_cond_destroy(&fs->readers_gone);
	pthread_mutex_destroy(&fs->tree_lock);
}

struct node *fs_node(struct cfgfs_fs *fs, fuse_ino_t ino)
{
	return ino == FUSE_ROOT_ID ? &fs->root : (struct node *)(uintptr_t)ino;
}

fuse_ino_t fs_ino(struct cfgfs_fs *fs, struct node *n)
{
	return n == &fs->root ? FUSE_ROOT_ID : (fuse_ino_t)(uintptr_t)n;
}

struct node *fs_child(struct cfgfs_fs *fs, struct node *parent, const char *name)
{
	for (struct node *n = fs->hash[bucket(parent, name)]; n; n = n->hnext)
		if (n->parent == parent && strcmp(n->name, name) == 0)
			return n;
	return NULL;
}

static void hash_insert(struct cfgfs_fs *fs, struct node *n)
{
	size_t b = bucket(n->parent, n->name);
	n->hnext = fs->hash[b];
	fs->hash[b] = n;
	n->attached = true;
}

static void hash_remove(struct cfgfs_fs *fs, struct node *n)
{
	if (!n->attached)
		return;
	struct node **pp = &fs->hash[bucket(n->parent, n->name)];
	while (*pp && *pp != n)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = n->hnext;
	n->hnext = NULL;
	n->attached = false;
}

struct node *fs_child_ref(struct cfgfs_fs *fs, struct node *parent, const char *name,
			  enum node_kind kind)
{
	pthread_mutex_lock(&fs->tree_lock);
	struct node *n = fs_child(fs, parent, name);
	if (!n) {
		n = calloc(1, sizeof(*n));
		if (n)
			n->name = strdup(name);
		if (!n || !n->name) {
			free(n);
			n = NULL;
			goto out;
		}
		n->parent = parent;
		n->kind = kind;
		hash_insert(fs, n);
	}
	n->nlookup++;
out:
	pthread_mutex_unlock(&fs->tree_lock);
	return n;
}

static void maybe_free(struct cfgfs_fs *fs, struct node *n)
{
	if (n->permanent || n->nlookup > 0 || n->opens > 0)
		return;
	hash_remove(fs, n);
	free_node(n);
}

void fs_detach_locked(struct cfgfs_fs *fs, struct node *n)
{
	hash_remove(fs, n);
	maybe_free(fs, n);
}

void fs_detach(struct cfgfs_fs *fs, struct node *n)
{
	pthread_mutex_lock(&fs->tree_lock);
	fs_detach_locked(fs, n);
	pthread_mutex_unlock(&fs->tree_lock);
}

void fs_move(struct cfgfs_fs *fs, struct node *n, struct node *newparent, const char *newname)
{
	pthread_mutex_lock(&fs->tree_lock);
	struct node *old = fs_child(fs, newparent, newname);
	if (old && old != n)
		fs_detach_locked(fs, old);
	char *name = strdup(newname);
	if (name) {
		hash_remove(fs, n);
		free(n->name);
		n->name = name;
		n->parent = newparent;
		hash_insert(fs, n);
	} else {
		hash_remove(fs, n); /* out of memory: the kernel will look it up again */
	}
	pthread_mutex_unlock(&fs->tree_lock);
}

void fs_forget(struct cfgfs_fs *fs, struct node *n, uint64_t count)
{
	pthread_mutex_lock(&fs->tree_lock);
	assert(n->permanent || n->nlookup >= count);
	n->nlookup = n->nlookup >= count ? n->nlookup - count : 0;
	maybe_free(fs, n);
	pthread_mutex_unlock(&fs->tree_lock);
}

void fs_unref_open(struct cfgfs_fs *fs, struct node *n)
{
	pthread_mutex_lock(&fs->tree_lock);
	assert(n->opens > 0);
	n->opens--;
	maybe_free(fs, n);
	pthread_mutex_unlock(&fs->tree_lock);
}

static char *path_locked(struct node *n, const char *child)
{
	size_t len = child ? strlen(child) + 1 : 0;
	for (struct node *p = n; p && p->parent; p = p->parent)
		len += strlen(p->name) + 1;
	char *buf = malloc(len + 1);
	if (!buf)
		return NULL;
	/* fill from the end: "/a/b/child", then drop the leading slash */
	size_t pos = len;
	buf[pos] = '\0';
	if (child) {
		size_t cl = strlen(child);
		pos -= cl;
		memcpy(buf + pos, child, cl);
		buf[--pos] = '/';
	}
	for (struct node *p = n; p && p->parent; p = p->parent) {
		size_t nl = strlen(p->name);
		pos -= nl;
		memcpy(buf + pos, p->name, nl);
		buf[--pos] = '/';
	}
	if (len > 0)
		memmove(buf, buf + 1, len);
	return buf;
}

char *fs_path(struct cfgfs_fs *fs, struct node *n)
{
	pthread_mutex_lock(&fs->tree_lock);
	char *p = path_locked(n, NULL);
	pthread_mutex_unlock(&fs->tree_lock);
	return p;
}

char *fs_child_path(struct cfgfs_fs *fs, struct node *parent, const char *name)
{
	pthread_mutex_lock(&fs->tree_lock);
	char *p = path_locked(parent, name);
	pthread_mutex_unlock(&fs->tree_lock);
	return p;
}

int fs_rootfd(struct cfgfs_fs *fs, const struct node *n)
{
	return n->kind == NODE_REJECTED ? cfgfs_live_rejected_fd(fs->live)
					: cfgfs_live_rootfd(fs->live);
}

void fs_who(fuse_req_t req, struct cfgfs_who *who)
{
	const struct fuse_ctx *c = fuse_req_ctx(req);
	who->program[0] = '\0';
	who->uid = c->uid;
	who->gid = c->gid;
	who->pid = c->pid;
}
