/*
 * hooks.h — the hook runner: the policy's `hooks`, run after a revision is
 * committed and published (SPEC.md, "The policy file").
 *
 * Owns one worker thread per mount and every hook process it starts. The
 * commit path hands each published revision to cfgfs_hooks_notify, which
 * only records it (a few glob matches and copies under a mutex) and never
 * waits for a hook. The worker does the rest:
 *
 *   - Matching: a hook matches a revision when its glob matches any changed
 *     path. Its matching paths join the hook's pending burst.
 *   - Debounce: a burst runs when DEBOUNCE has passed since its newest
 *     revision, or CFGFS_HOOKS_DEBOUNCE_MAX_FACTOR x DEBOUNCE since its
 *     first (so a steady stream of saves cannot starve the hook). One run
 *     per burst, with CFGFS_REVISION/CFGFS_COMMIT of the newest revision,
 *     CFGFS_PREVIOUS_COMMIT the commit before the burst's first revision
 *     ("" before revision 1), CFGFS_PATHS the union of the burst's matching
 *     paths, one per line (a path holding a newline cannot be told apart;
 *     past CFGFS_HOOKS_MAX_PATHS_ENV bytes the list is cut at a whole path
 *     and CFGFS_PATHS_TRUNCATED=1 is set), CFGFS_MOUNT the mountpoint, and
 *     the daemon's own environment.
 *   - Order: one worker runs one hook process at a time. Among the hooks
 *     whose burst is due, policy order decides; so hooks matching one change
 *     with equal debounces run one after the other, in policy order, each
 *     seeing the previous one finished. The price: a slow hook (up to
 *     timeout x (retries + 1) plus backoffs) delays the hooks after it.
 *     A burst that arrives while its hook runs is kept for the next run.
 *   - Process: argv exactly as written, through posix_spawnp (PATH search,
 *     never a shell, `{}` not expanded), in its own process group, with the
 *     policy file's directory as working directory (the SPEC makes paths in
 *     the policy relative to it, so `run: [./reload.sh]` works), stdin
 *     /dev/null, every other descriptor of the daemon closed. stdout and
 *     stderr are logged line by line ("hook-output", at most
 *     CFGFS_HOOKS_MAX_OUTPUT bytes a try). At TIMEOUT the group gets
 *     SIGTERM, then SIGKILL after CFGFS_HOOKS_KILL_GRACE_MS, children
 *     included. A hook that exits normally may leave background children
 *     running; its output pipes are then drained for at most
 *     CFGFS_HOOKS_DRAIN_MS.
 *   - Retries: RETRIES more tries after a failure, waiting backoff.initial,
 *     then twice as long each time, at most backoff.max.
 *   - Counting: every try is a run, counted once as ok, failed (non-zero
 *     exit, a signal, or argv[0] not runnable) or timeout; each try after
 *     the first also counts as a retry. Each try is logged ("hook" event):
 *     info when it succeeded, warn when it failed. Internal failures
 *     (fork, pipe, memory) are logged at error level.
 *   - on_failure: revert. When every try of a burst failed, the worker
 *     calls REVERT with GOOD_COMMIT = the CFGFS_COMMIT of this hook's last
 *     successful run, or, when it never succeeded since the mount, the
 *     burst's previous commit (the state before the changes that broke it);
 *     before revision 1 there is nothing to restore and no revert happens.
 *     PATHS are the burst's matching paths. When REVERT returns revision R,
 *     the worker itself runs the hook once more (a single try, no retries)
 *     for R with CFGFS_PREVIOUS_COMMIT the failed burst's commit and
 *     CFGFS_PATHS the reverted paths. That try is final: if it fails too the
 *     failure is logged and nothing else happens. The commit of R reaches
 *     cfgfs_hooks_notify like any other revision (from inside REVERT or
 *     after it, in any thread); for the reverting hook the notify of R is
 *     not a new burst (its final try covers it) so it can never start a
 *     revert loop; every other hook matching R runs for it as usual. A
 *     later user save starts a fresh burst, which may revert again.
 *   - Stop: cfgfs_hooks_stop lets the try in progress finish (bounded by its
 *     timeout), abandons its remaining retries and any revert, and drops
 *     the bursts still pending, logging each one (warn "hook-dropped").
 *
 * Locks: one mutex guards the pending bursts and the counters; it is never
 * held while a process runs, while logging hook output, or while REVERT is
 * called. The policy must outlive the runner (states point into it).
 * No globals.
 */
#ifndef CFGFS_HOOKS_H
#define CFGFS_HOOKS_H

#include <stddef.h>
#include <stdint.h>

#include "backend/log.h"
#include "mountopts/policy.h"

/* Commit ids are 40 hex digits and a NUL. */
#define CFGFS_HOOKS_COMMIT_LEN 41
/* A burst runs at most this many debounce periods after its first revision. */
#define CFGFS_HOOKS_DEBOUNCE_MAX_FACTOR 10
/* Between SIGTERM and SIGKILL to a timed-out hook's process group. */
#define CFGFS_HOOKS_KILL_GRACE_MS 500
/* How long to read output left by background children of a finished hook. */
#define CFGFS_HOOKS_DRAIN_MS 200
/* Output logged per try; the rest is read and dropped. */
#define CFGFS_HOOKS_MAX_OUTPUT (1024 * 1024)
/* Longest output line logged as one; longer lines are split. */
#define CFGFS_HOOKS_MAX_LINE 4096
/* Longest CFGFS_PATHS value (execve refuses single strings above 128 KiB). */
#define CFGFS_HOOKS_MAX_PATHS_ENV (64 * 1024)

/* What the commit path tells the runner about one published revision. */
struct cfgfs_hook_change {
	uint64_t revision;
	const char *commit;          /* 40 hex digits */
	const char *previous_commit; /* the commit before it; NULL or "" for the first */
	const char *const *paths;    /* changed paths (both names of a rename) */
	size_t npaths;
};

/*
 * Called from the hook thread, no lock of the runner held, when an
 * on_failure=revert hook failed every try: commit a revision restoring PATHS
 * to their content at GOOD_COMMIT (a path absent there is deleted). Returns
 * 0 and fills *NEW_REVISION and NEW_COMMIT, or <0 (logged at error level,
 * and the hook is left as it is). It may call cfgfs_hooks_notify.
 */
typedef int (*cfgfs_hook_revert_fn)(void *arg, const struct cfgfs_hook *hook,
                                    const char *good_commit, const char *const *paths,
                                    size_t npaths, uint64_t *new_revision,
                                    char new_commit[CFGFS_HOOKS_COMMIT_LEN]);

struct cfgfs_hooks;

/*
 * Start the runner for POLICY's hooks in *OUT (stop with cfgfs_hooks_stop).
 * MOUNTPOINT becomes CFGFS_MOUNT (copied); LOG must outlive the runner;
 * REVERT may be NULL when no hook has on_failure: revert (such a hook then
 * only logs an error instead of reverting). With no hooks no thread is
 * started. 0, -ENOMEM or -errno from pthread_create; *OUT NULL on failure.
 */
int cfgfs_hooks_start(struct cfgfs_hooks **out, const struct cfgfs_policy *policy,
                      const char *mountpoint, struct cfgfs_log *log, cfgfs_hook_revert_fn revert,
                      void *revert_arg);

/* Stop as described above, join the worker and free HK. NULL is allowed.
 * Must not be called from inside REVERT. */
void cfgfs_hooks_stop(struct cfgfs_hooks *hk);

/* Record a committed and published revision. Never waits for a hook;
 * revisions must be given in increasing order. Ignored after stop began
 * (and logged at error level if out of memory). */
void cfgfs_hooks_notify(struct cfgfs_hooks *hk, const struct cfgfs_hook_change *c);

/* One hook's state for .cfgfs/status and .cfgfs/metrics. */
struct cfgfs_hook_state {
	const char *match; /* the policy's glob */
	const char *run0;  /* argv[0] */
	uint64_t runs_ok, runs_failed, retries, reverts, timeouts;
	int64_t last_time;       /* seconds since the epoch the last try ended; 0: never */
	const char *last_result; /* "ok", "failed", "timeout" or "never" */
	uint64_t last_revision;  /* CFGFS_REVISION of the last try; 0: never */
};

/* Copy the state of up to MAX hooks, in policy order, into OUT; returns the
 * number of hooks (which may exceed MAX). Strings point into the policy. */
size_t cfgfs_hooks_states(struct cfgfs_hooks *hk, struct cfgfs_hook_state *out, size_t max);

#endif
