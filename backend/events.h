/*
 * events.h — the revision event log behind .cfgfs/events.
 *
 * Owns one in-memory list of committed revisions, each kept as the exact
 * JSON line a reader is given (SPEC.md, "Events"):
 *
 *   {"revision":42,"commit":"9fce...","time":"2026-11-25T16:20:01Z",
 *    "author":"alice","paths":[{"path":"app.yaml","op":"modify"}]}
 *
 * ("from" follows "path" on renames). Strings are JSON-escaped; a byte that
 * is not part of valid UTF-8 is written as \ufffd, so every line is valid
 * JSON even for odd file names.
 *
 * Promises:
 *   - revisions are appended in strictly increasing order and never change,
 *     so a reader is just a cursor (the last revision it has seen): a slow
 *     reader never blocks an append and never misses a revision;
 *   - every event is kept for the life of the mount (configs see thousands
 *     of revisions, not millions: about 200 bytes each); revisions from
 *     before the mount are appended by the integrator at mount time so that
 *     "replay from N" covers them too;
 *   - reads return whole lines only.
 *
 * Locks: one mutex per log guards the list; waiters sleep on its condition
 * variable. The append callback (cfgfs_events_on_append) is called with no
 * lock held, from the appending thread. No globals.
 */
#ifndef CFGFS_EVENTS_H
#define CFGFS_EVENTS_H

#include <stddef.h>
#include <stdint.h>

/* A commit id: 40 hex digits and a NUL. */
#define CFGFS_EVENTS_COMMIT_LEN 41

struct cfgfs_event_path {
	char *path;     /* relative to the tree root */
	char *from;     /* the old path for "rename", else NULL */
	const char *op; /* "create", "modify", "delete", "rename" or "mode" */
};

struct cfgfs_event {
	uint64_t revision;
	char commit[CFGFS_EVENTS_COMMIT_LEN];
	int64_t time; /* seconds since the epoch, shown as UTC ISO-8601 */
	char *author; /* NULL is shown as "" */
	struct cfgfs_event_path *paths;
	size_t npaths;
};

struct cfgfs_events;

/* A new, empty log in *OUT (free with cfgfs_events_free). 0 or -ENOMEM /
 * -errno from pthread initialisation; *OUT is NULL on failure. */
int cfgfs_events_init(struct cfgfs_events **out);

/* Frees the log. No thread may be inside any other function of EV: call
 * cfgfs_events_shutdown first and join the waiters. NULL is allowed. */
void cfgfs_events_free(struct cfgfs_events *ev);

/*
 * Append E (copied: the caller keeps ownership of E and its strings).
 * E->revision must be greater than every revision appended before
 * (-EINVAL otherwise, and for a missing op or a commit id that is not
 * NUL-terminated). Wakes every waiter, then calls the append callback.
 * Appending after cfgfs_events_shutdown still records the event.
 * 0, -EINVAL or -ENOMEM.
 */
int cfgfs_events_append(struct cfgfs_events *ev, const struct cfgfs_event *e);

/*
 * The JSON lines (each ending in '\n') of every revision greater than
 * AFTER, in order, as many as fit in MAX bytes but always whole lines, and
 * at least one line even when that line alone is longer than MAX.
 * *OUT (caller frees) and *LEN get the text, *NEXT the last revision
 * included: the reader's next cursor. When there is no such revision:
 * 0 with *OUT NULL, *LEN 0 and *NEXT = AFTER. 0 or -ENOMEM.
 */
int cfgfs_events_read(struct cfgfs_events *ev, uint64_t after, size_t max, char **out, size_t *len,
                      uint64_t *next);

/*
 * Block until a revision greater than AFTER exists (0), TIMEOUT_MS passes
 * (-ETIMEDOUT; a negative TIMEOUT_MS waits without limit) or the log is
 * shut down (-ESHUTDOWN). A revision that is already there wins over a
 * shutdown, so readers can drain what is left.
 */
int cfgfs_events_wait(struct cfgfs_events *ev, uint64_t after, int timeout_ms);

/* The newest revision appended, 0 when none. */
uint64_t cfgfs_events_last(struct cfgfs_events *ev);

/*
 * FN(ARG, revision) is called after each append, outside the lock, in the
 * appending thread (the FUSE layer uses it to notify poll waiters). One
 * callback per log; a later call replaces it; FN NULL removes it. FN must
 * not call cfgfs_events_append on the same log.
 */
void cfgfs_events_on_append(struct cfgfs_events *ev, void (*fn)(void *arg, uint64_t revision),
                            void *arg);

/* Wake every waiter with -ESHUTDOWN, now and from now on. */
void cfgfs_events_shutdown(struct cfgfs_events *ev);

#endif
