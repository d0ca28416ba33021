/*
 * live.h — the live tree: SOURCE on disk plus its git store, changed only
 * through the save path.
 *
 * Every change that reaches SOURCE goes through here, as one straight line:
 * classify the path (scratch names pass straight through, never committed)
 * -> parse and validate -> commit -> publish into SOURCE by an atomic rename.
 * A refused save leaves SOURCE and the store untouched and is recorded in
 * the rejects module. Callers speak tree paths ("dir/app.yaml", "" = root),
 * never FUSE.
 *
 * Settling: a tracked file that vanishes (unlinked, or renamed to a scratch
 * name as vim and emacs do) is hidden at once but stays in SOURCE; its
 * delete is committed only when the settle window passes without a new save
 * of the same path. A save within the window is one `modify` revision.
 *
 * Locks: save_lock serializes commit+publish and guards the settle list; it
 * is never held while parsing or validating, and never while calling back
 * into FUSE (this module has no callbacks into fs/).
 */
#ifndef CFGFS_LIVE_H
#define CFGFS_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "backend/log.h"
#include "backend/store.h"
#include "backend/who.h"

struct cfgfs_config;
struct cfgfs_policy;
struct cfgfs_live;

/* A staging file of a save in flight: a hidden file in SOURCE's root, so
 * publishing it is one rename on the same filesystem. */
#define CFGFS_STAGE_NAME_MAX 48
struct cfgfs_stage {
	int fd;                          /* read-write */
	char name[CFGFS_STAGE_NAME_MAX]; /* "" once published or dropped */
};

/* Counters for status and metrics; read with cfgfs_live_stats. */
struct cfgfs_live_stats {
	uint64_t saves;
	uint64_t rejected;
	uint64_t rejected_syntax, rejected_size, rejected_schema, rejected_check;
	struct cfgfs_revision head;
};

/* Open SOURCE and the store and reconcile them (committing what differs as
 * one revision) before anything is served. policy and log are borrowed and
 * must outlive the result. */
int cfgfs_live_open(struct cfgfs_live **out, const struct cfgfs_config *cfg,
		    const struct cfgfs_policy *policy, struct cfgfs_log *log, char *err,
		    size_t errlen);
/* Start the settle timer thread; call after daemonizing. */
int cfgfs_live_start(struct cfgfs_live *l);
/* Commit every pending delete, stop the thread, free everything. */
void cfgfs_live_close(struct cfgfs_live *l);

int cfgfs_live_rootfd(const struct cfgfs_live *l);
/* Directory fd of the refused-content tree (.cfgfs/rejected). */
int cfgfs_live_rejected_fd(const struct cfgfs_live *l);
size_t cfgfs_live_max_file_size(const struct cfgfs_live *l);

/* .git, the store, reserved names: never shown, never created. */
bool cfgfs_live_invisible(const struct cfgfs_live *l, const char *path);

/* Scratch or ignored: behaves as an ordinary file, never committed. */
bool cfgfs_live_scratch(const struct cfgfs_live *l, const char *path);
/* Deleted in the mount's view but still in SOURCE while it settles. */
bool cfgfs_live_hidden(struct cfgfs_live *l, const char *path);

int cfgfs_live_stage_new(struct cfgfs_live *l, struct cfgfs_stage *out, int copy_from,
			 mode_t mode, uid_t uid, gid_t gid);
void cfgfs_live_stage_drop(struct cfgfs_live *l, struct cfgfs_stage *st);

/* Validate, commit and publish the staged content as PATH. On success the
 * stage is consumed (st->name is ""), st->fd now refers to the live file.
 * -EINVAL when refused, -EFBIG when too large. */
int cfgfs_live_save(struct cfgfs_live *l, const char *path, struct cfgfs_stage *st,
		    const struct cfgfs_who *who);

/* Put staged bytes at a scratch PATH as they are (no check, no commit). */
int cfgfs_live_stage_place(struct cfgfs_live *l, const char *path, struct cfgfs_stage *st);

int cfgfs_live_rename(struct cfgfs_live *l, const char *from, const char *to, unsigned flags,
		      const struct cfgfs_who *who);
int cfgfs_live_unlink(struct cfgfs_live *l, const char *path, const struct cfgfs_who *who);
int cfgfs_live_rmdir(struct cfgfs_live *l, const char *path, const struct cfgfs_who *who);
int cfgfs_live_mkdir(struct cfgfs_live *l, const char *path, mode_t mode,
		     const struct cfgfs_who *who);
int cfgfs_live_symlink(struct cfgfs_live *l, const char *target, const char *path,
		       const struct cfgfs_who *who);
int cfgfs_live_link(struct cfgfs_live *l, const char *from, const char *to,
		    const struct cfgfs_who *who);
/* chmod/chown of a live entry; (uint32_t)-1 leaves a field alone. */
int cfgfs_live_setmeta(struct cfgfs_live *l, const char *path, uint32_t mode, uint32_t uid,
		       uint32_t gid, const struct cfgfs_who *who);
/* utimens of a live entry: applied, committed with the next save. */
int cfgfs_live_utimens(struct cfgfs_live *l, const char *path, const struct timespec tv[2]);

/* Called for each tree path a rollback created, changed or removed. */
typedef void (*cfgfs_live_path_fn)(void *arg, const char *path);

/* Make the tree equal to revision N as one new revision, after validating
 * every file of N against today's policy. -EINVAL for no such revision or a
 * refused file (its reason is in .cfgfs/errors). */
int cfgfs_live_rollback(struct cfgfs_live *l, uint64_t n, const struct cfgfs_who *who,
			cfgfs_live_path_fn touched, void *arg);

/* Restore PATHS to their state at revision N (absent there: deleted) as
 * one revision by the system, message "revert to N: WHY". Used when a
 * hook with on_failure=revert gave up. out->number is 0 when nothing
 * changed. */
int cfgfs_live_restore(struct cfgfs_live *l, uint64_t n, const char *const *paths, size_t np,
		       const char *why, struct cfgfs_revision *out);

/* Told of every path changed in SOURCE by a background change (a revert),
 * with no lock held, so the caller can drop its caches. Set before start. */
void cfgfs_live_on_publish(struct cfgfs_live *l, cfgfs_live_path_fn fn, void *arg);

struct cfgfs_event_path;
struct cfgfs_events;
struct cfgfs_hook_state;

/* What revision N changed, for events and hooks (the history module knows,
 * from the store). *out is freed by the caller: each path and from, then
 * the array. */
typedef int (*cfgfs_live_changes_fn)(void *arg, uint64_t revision,
				     struct cfgfs_event_path **out, size_t *n);
/* Set once before start; without it events are derived from the edits. */
void cfgfs_live_set_changes(struct cfgfs_live *l, cfgfs_live_changes_fn fn, void *arg);

/* The event log behind .cfgfs/events (owned by the live tree). */
struct cfgfs_events *cfgfs_live_events(struct cfgfs_live *l);

/* .cfgfs/metrics text, with EVENTS_READERS open event streams. */
int cfgfs_live_metrics_text(struct cfgfs_live *l, uint64_t events_readers, char **out,
			    size_t *len);
/* Hook states for .cfgfs/status: up to MAX, returns the count. */
size_t cfgfs_live_hook_states(struct cfgfs_live *l, struct cfgfs_hook_state *out, size_t max);

/* A write that would take PATH past max_file_size (the writer gets EFBIG):
 * counted and reported like any refusal. */
void cfgfs_live_refuse_size(struct cfgfs_live *l, const char *path, uint64_t size,
			    const struct cfgfs_who *who);

/* The .cfgfs/errors text; caller frees. */
int cfgfs_live_errors_text(struct cfgfs_live *l, char **out, size_t *len);
void cfgfs_live_stats(struct cfgfs_live *l, struct cfgfs_live_stats *out);

#endif
