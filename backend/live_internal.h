/*
 * live_internal.h — state shared by live.c, live_settle.c and live_open.c.
 * Functions named live_settle_* expect l->save_lock held unless noted.
 */
#ifndef CFGFS_LIVE_INTERNAL_H
#define CFGFS_LIVE_INTERNAL_H

#include <pthread.h>
#include <time.h>

#include "backend/live.h"
#include "backend/events.h"
#include "backend/hooks.h"
#include "backend/metrics.h"
#include "backend/rejects.h"

struct cfgfs_verdict;

struct live_settle {
	char *path;
	struct timespec deadline; /* CLOCK_MONOTONIC */
	struct cfgfs_who who;
};

struct cfgfs_live {
	const struct cfgfs_config *cfg;
	const struct cfgfs_policy *policy;
	struct cfgfs_verdict *verdict; /* the policy's rules, schemas compiled */
	struct cfgfs_log *log;
	int rootfd;
	char *gitdir_rel; /* the store's path inside SOURCE, or NULL */
	struct cfgfs_store *store;
	struct cfgfs_rejects rejects;
	unsigned long stage_seq; /* atomic */

	pthread_mutex_t save_lock; /* commit+publish; guards settles and stopping */
	pthread_cond_t settle_cond;
	struct live_settle *settles;
	size_t nsettles, settle_cap;
	bool stopping;
	bool thread_started;
	pthread_t settle_thread;

	cfgfs_live_path_fn on_publish; /* set once before start */
	void *on_publish_arg;
	cfgfs_live_changes_fn changes; /* set once before start */
	void *changes_arg;
	struct cfgfs_events *events;
	struct cfgfs_hooks *hooks;
	struct cfgfs_histogram commit_latency;

	pthread_mutex_t stats_lock; /* guards stats */
	struct cfgfs_live_stats stats;
};

int live_commit(struct cfgfs_live *l, const struct cfgfs_edit *edits, size_t n,
		const struct cfgfs_who *who, const char *verb, const char *path,
		struct cfgfs_revision *rev);

/* Takes save_lock itself. Hide PATH and commit its delete when the window passes. */
int live_settle_add(struct cfgfs_live *l, const char *path, const struct cfgfs_who *who);
bool live_settle_is(struct cfgfs_live *l, const char *path);
/* PATH is being saved again: forget its pending delete. true if it had one. */
bool live_settle_take(struct cfgfs_live *l, const char *path);
/* Commit PATH's pending delete now. */
int live_settle_finish(struct cfgfs_live *l, const char *path);
/* Commit every pending delete at or under DIR now. */
int live_settle_flush_under(struct cfgfs_live *l, const char *dir);
void *live_settle_thread(void *arg);

/* After a revision is committed and published: stats, events, hooks. */
void live_committed(struct cfgfs_live *l, const struct cfgfs_revision *rev, const char *author,
		    const char *verb, const struct cfgfs_edit *edits, size_t n);
int live_check_content(struct cfgfs_live *l, const char *path, const char *buf, size_t len,
		       const struct stat *st, const struct cfgfs_who *who);

/* Replay past revisions into the event log and start the hook runner. */
int live_feed_start(struct cfgfs_live *l);

/* A refused save of PATH: a pending delete of it is cancelled. */
void live_keep_old(struct cfgfs_live *l, const char *path);

/* The journal name of a save of PATH between commit and publish. */
int live_publish_name(char *out, size_t size, const char *path);

int live_rename_dir_in(struct cfgfs_live *l, const char *from, const char *to,
		       const struct cfgfs_who *who);

#endif
