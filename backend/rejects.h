/*
 * rejects.h — what was refused and why: the reasons behind .cfgfs/errors and
 * the refused bytes behind .cfgfs/rejected/PATH, so nothing typed is lost.
 *
 * Refused content is kept on disk in CFGFS_REJECTED_DIR inside the git
 * directory (never in the store's history), with the target's mode and
 * owner. Reasons are kept in memory, the newest CFGFS_REJECTS_KEPT of them.
 * A later valid save of a path clears both. All functions take the module's
 * mutex.
 */
#ifndef CFGFS_REJECTS_H
#define CFGFS_REJECTS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define CFGFS_REJECTED_DIR "cfgfs-rejected"
#define CFGFS_REJECTS_KEPT 100

struct cfgfs_reject {
	time_t when;
	char *user;
	char *path;
	char *message; /* "PATH:LINE:COL: what is wrong" */
};

struct cfgfs_rejects {
	pthread_mutex_t lock;
	int dirfd; /* the rejected/ tree */
	struct cfgfs_reject ring[CFGFS_REJECTS_KEPT];
	size_t next, count;
	uint64_t total;
};

int cfgfs_rejects_open(struct cfgfs_rejects *r, const char *gitdir, char *err, size_t errlen);
void cfgfs_rejects_close(struct cfgfs_rejects *r);

/* Record one refusal and keep its content. 0 or -errno (the reason is
 * recorded even when the content could not be written). */
int cfgfs_rejects_add(struct cfgfs_rejects *r, const char *path, const char *user,
		      const char *message, const void *buf, size_t len, uint32_t mode,
		      uint32_t uid, uint32_t gid);

/* PATH was saved validly: forget its refusals and its refused content. */
void cfgfs_rejects_clear(struct cfgfs_rejects *r, const char *path);

/* The .cfgfs/errors text, newest first, one line each: TIME USER PATH MESSAGE.
 * Caller frees *out. 0 or -ENOMEM. */
int cfgfs_rejects_text(struct cfgfs_rejects *r, char **out, size_t *len);

#endif
