/*
 * fs.h — the FUSE side of a mount: one context handed to libfuse as
 * userdata, the node (inode) table, and open handles.
 *
 * Knows FUSE and nothing about git: every change to the live tree is a call
 * into backend/live.h with tree paths. Nodes are named entries (a parent and
 * a name), so a node's tree path is always current after renames; the
 * kernel's inode number for a node is its address. A node is freed when the
 * kernel has forgotten it and no handle holds it.
 *
 * Lock order: handle->lock, then fs->tree_lock; fs->tree_lock is never held
 * while calling into backend/ or sending a notification to the kernel.
 */
#ifndef CFGFS_FS_H
#define CFGFS_FS_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "backend/live.h"
#include "backend/log.h"

#define FS_ENTRY_TIMEOUT 86400.0 /* every change passes through us */
#define FS_ATTR_TIMEOUT 86400.0
#define FS_CTL_ATTR_TIMEOUT 0.0 /* control files change on their own */
#define FS_HASH_BUCKETS 4096
#define FS_MAX_OWNERS 8
/* How long a writer's first write waits for readers that opened before it
 * and read through the page cache, whose size its writes would move. Their
 * releases reach the daemon asynchronously: on a loaded machine (a
 * sanitizer build in CI) 50 ms was seen to be too short. */
#define FS_WRITER_DRAIN_MS 1000

#define FS_CTL_DIR ".cfgfs"
#define FS_HISTORY_DIR ".history"
#define FS_HIST_TIMEOUT 86400.0 /* .history/N never changes */

enum node_kind {
	NODE_LIVE,     /* under the mount root: SOURCE */
	NODE_REJECTED, /* under .cfgfs/rejected: the refused-content tree */
	NODE_CTL,      /* a fixed control file or directory */
	NODE_HIST,     /* under .history: read-only past revisions */
};

/* What a NODE_HIST node is. */
enum hist_kind {
	HK_ROOT,     /* .history */
	HK_HEAD,     /* .history/HEAD -> N */
	HK_LOG,      /* .history/log */
	HK_ROLLBACK, /* .history/rollback */
	HK_REV,      /* .history/N: the tree at N */
	HK_TREE,     /* an entry below .history/N */
	HK_FILES,    /* .history/files */
	HK_FDIR,     /* a directory below files/, or a file's versions (fdir_file) */
	HK_FVER,     /* files/PATH/N */
};

enum ctl_id { CTL_NONE, CTL_DIR, CTL_ERRORS, CTL_STATUS, CTL_METRICS, CTL_EVENTS, CTL_REJECTED };

struct handle;
struct cfgfs_history;

struct node {
	struct node *parent; /* NULL for the root and subtree roots */
	char *name;
	enum node_kind kind;
	enum ctl_id ctl;
	enum hist_kind hk; /* NODE_HIST only */
	uint64_t rev;      /* NODE_HIST: the revision a tree entry or version shows */
	bool fdir_file;    /* HK_FDIR: PATH is a file, listing its versions */
	uint64_t nlookup; /* kernel references; guarded by tree_lock */
	unsigned opens;   /* handles holding this node */
	bool attached;    /* reachable by (parent, name) in the hash */
	bool permanent;   /* root and control nodes: never freed */
	bool pending;     /* created, nothing committed yet: no SOURCE file of ours */
	mode_t pending_mode;
	uid_t pending_uid;
	gid_t pending_gid;
	struct handle *writers; /* handles with staging; guarded by tree_lock */
	unsigned cached_readers; /* open read handles using the page cache */
	struct node *hnext;
};

/* Every open file and directory is on one list, so that what the kernel
 * never released (an unmount with releases in flight) is freed at the end. */
struct open_link {
	struct open_link *prev, *next;
	bool is_dir;
};

struct handle {
	struct open_link link; /* first: the list holds handles and dir handles */
	pthread_mutex_t lock; /* serializes staging, save and release */
	struct node *node;
	int fd;                  /* live file (reads, copy source), or a scratch file */
	struct cfgfs_stage stage; /* fd -1 when none */
	int flags;
	pid_t opener;   /* the thread that opened it */
	struct cfgfs_who who; /* who opened it: the author of a save at release */
	bool wrote;     /* any write or truncate reached it */
	bool cached;    /* a reader using the page cache (counted in the node) */
	bool refused;   /* its last save was refused and nothing was written since */
	bool too_big;   /* a write past max_file_size was already reported */
	bool drained;   /* a writer that waited for cached readers to finish */
	bool scratch;   /* passthrough, never committed */
	bool dirty;     /* staged bytes not committed */
	bool any_owner; /* a write without a lock owner: any FLUSH commits */
	uint64_t owners[FS_MAX_OWNERS];
	unsigned nowners;
	struct handle *wnext;
	char *buf; /* control file snapshot; events: bytes not yet read */
	size_t len;
	size_t off;             /* events: how much of buf was read */
	uint64_t cursor;        /* events: the last revision handed out */
	struct fuse_pollhandle *ph; /* events: a poll waiting for data */
	struct handle *ev_next; /* events: the fs's list of event streams */
};

struct dir_entry {
	char *name;
	unsigned char type;
};

struct dir_handle {
	struct open_link link;
	struct dir_entry *v;
	size_t n;
};

struct cfgfs_fs {
	struct fuse_session *se;
	struct cfgfs_live *live;
	struct cfgfs_log *log;
	pthread_mutex_t tree_lock; /* nodes, hash, lookup counts, writer lists */
	pthread_cond_t readers_gone; /* a node's cached_readers fell; with tree_lock */
	struct node root;
	struct node ctl_dir, ctl_errors, ctl_status, ctl_metrics, ctl_events, ctl_rejected;
	pthread_mutex_t open_lock; /* the open list */
	struct open_link opened;   /* list head */
	pthread_mutex_t ev_lock;    /* event streams, waiting reads, polls */
	struct handle *ev_handles;  /* open .cfgfs/events streams */
	struct ev_wait *ev_waiters; /* reads waiting for the next revision */
	uint64_t ev_readers;
	struct node hist_root, hist_head, hist_log, hist_rollback, hist_files;
	struct cfgfs_history *history;
	struct node *hash[FS_HASH_BUCKETS];
};

/* inode.c: the open list */
void fs_opened(struct cfgfs_fs *fs, struct open_link *l, bool is_dir);
void fs_closed(struct cfgfs_fs *fs, struct open_link *l);
/* Free what is still open at the end: set by file_ops.c and dir_ops.c. */
void fs_handle_abandon(struct cfgfs_fs *fs, struct handle *h);
void fs_dir_abandon(struct dir_handle *d);

/* inode.c */
int fs_init(struct cfgfs_fs *fs, struct cfgfs_live *live, struct cfgfs_log *log);
void fs_destroy(struct cfgfs_fs *fs);
struct node *fs_node(struct cfgfs_fs *fs, fuse_ino_t ino);
fuse_ino_t fs_ino(struct cfgfs_fs *fs, struct node *n);
/* The attached child NAME of PARENT or NULL; tree_lock held. */
struct node *fs_child(struct cfgfs_fs *fs, struct node *parent, const char *name);
/* Find or make the child and take one lookup reference. */
struct node *fs_child_ref(struct cfgfs_fs *fs, struct node *parent, const char *name,
			  enum node_kind kind);
void fs_detach(struct cfgfs_fs *fs, struct node *n);
void fs_detach_locked(struct cfgfs_fs *fs, struct node *n);
void fs_move(struct cfgfs_fs *fs, struct node *n, struct node *newparent, const char *newname);
void fs_forget(struct cfgfs_fs *fs, struct node *n, uint64_t count);
void fs_unref_open(struct cfgfs_fs *fs, struct node *n);
/* malloc'd path of N below its subtree root ("" for the root). NULL: ENOMEM. */
char *fs_path(struct cfgfs_fs *fs, struct node *n);
char *fs_child_path(struct cfgfs_fs *fs, struct node *parent, const char *name);
int fs_rootfd(struct cfgfs_fs *fs, const struct node *n);
void fs_who(fuse_req_t req, struct cfgfs_who *who);

/* attr.c */
int fs_stat(struct cfgfs_fs *fs, struct node *n, struct handle *h, struct stat *st);
void fs_entry(struct cfgfs_fs *fs, struct node *n, const struct stat *st,
	      struct fuse_entry_param *e);
/* Look up NAME in PARENT: 0 and *out referenced, or -errno. */
int fs_do_lookup(struct cfgfs_fs *fs, struct node *parent, const char *name,
		 struct fuse_entry_param *e);
void fs_inval_inode(struct cfgfs_fs *fs, struct node *n);
double fs_attr_timeout(struct cfgfs_fs *fs, struct node *n, struct handle *h);
void fs_inval_entry(struct cfgfs_fs *fs, struct node *parent, const char *name);
/* The same from another thread, for handlers that run under the kernel's
 * directory locks (rename): the notification would wait for them. */
void fs_inval_entry_later(struct cfgfs_fs *fs, struct node *parent, const char *name);

/* ctl.c */
int fs_ctl_lookup(struct cfgfs_fs *fs, struct node *parent, const char *name, struct node **out);
int fs_ctl_stat(struct cfgfs_fs *fs, struct node *n, struct stat *st);
int fs_ctl_open(struct cfgfs_fs *fs, struct node *n, struct handle *h);
int fs_ctl_list(struct cfgfs_fs *fs, struct node *n, struct dir_handle *d);

/* history_view.c */
bool fs_is_hist(const struct node *n);
int fs_hist_lookup(struct cfgfs_fs *fs, struct node *parent, const char *name,
		   struct fuse_entry_param *e);
int fs_hist_stat(struct cfgfs_fs *fs, struct node *n, struct stat *st);
int fs_hist_open(struct cfgfs_fs *fs, struct node *n, struct handle *h, struct fuse_file_info *fi);
int fs_hist_list(struct cfgfs_fs *fs, struct node *n, struct dir_handle *d);
int fs_hist_readlink(struct cfgfs_fs *fs, struct node *n, char *buf, size_t size);
int fs_hist_write(struct cfgfs_fs *fs, struct node *n, const char *buf, size_t size,
		  const struct cfgfs_who *who);
/* After a commit: catch the history index up. */
void fs_hist_refresh(struct cfgfs_fs *fs);
/* Drop the kernel's cached view of tree PATH (after a rollback). */
void fs_inval_path(struct cfgfs_fs *fs, const char *path);
/* backend/live's publish callback (a hook's revert): drop PATH's cache. */
void fs_published(void *arg, const char *path);

/* events_view.c: .cfgfs/events, a stream of committed revisions */
struct ev_wait;
int fs_events_init(struct cfgfs_fs *fs);
void fs_events_destroy(struct cfgfs_fs *fs); /* answers every waiting read */
int fs_events_open(struct cfgfs_fs *fs, struct handle *h, struct fuse_file_info *fi);
void fs_events_read(fuse_req_t req, struct cfgfs_fs *fs, struct handle *h, size_t size);
int fs_events_write(struct cfgfs_fs *fs, struct handle *h, const char *buf, size_t size);
void fs_events_release(struct cfgfs_fs *fs, struct handle *h);
void fs_op_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		struct fuse_pollhandle *ph);
/* The history-backed list of a revision's changes, for backend/live. */
int fs_events_changes(void *arg, uint64_t revision, struct cfgfs_event_path **out, size_t *n);

/* file_ops.c */
void fs_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		  struct fuse_file_info *fi);
void fs_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		struct fuse_file_info *fi);
void fs_op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		 struct fuse_file_info *fi);
void fs_op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi);
void fs_op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
/* The writable handle of N that PID opened and nothing has written to
 * yet: where the truncate half of its open(O_TRUNC) belongs. */
struct handle *fs_fresh_writer(struct cfgfs_fs *fs, struct node *n, pid_t pid);
/* Stage/truncate helpers shared with setattr. */
int fs_handle_stage(struct cfgfs_fs *fs, struct handle *h, bool empty);
int fs_save_handle(struct cfgfs_fs *fs, struct handle *h, const struct cfgfs_who *who);

/* dir_ops.c */
void fs_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		   struct fuse_file_info *fi);
void fs_op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi);
void fs_op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode);
void fs_op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void fs_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void fs_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		  const char *newname, unsigned int flags);
void fs_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name);
void fs_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname);
void fs_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev);

/* attr.c ops */
void fs_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
void fs_op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup);
void fs_op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets);
void fs_op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		   struct fuse_file_info *fi);
void fs_op_readlink(fuse_req_t req, fuse_ino_t ino);
void fs_op_statfs(fuse_req_t req, fuse_ino_t ino);

#endif
