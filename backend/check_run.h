/*
 * check_run.h — a policy rule's external check command: `check: [nginx,
 * -t, -c, "{}"]` runs with "{}" replaced by the path of a private copy of
 * the new content (same base name, in a fresh directory), never through a
 * shell, in its own process group, killed with that group at its timeout.
 * Exit 0 passes; anything else refuses the save with the command's first
 * output line as the reason.
 *
 * No locks, no threads of its own: it runs in the caller's thread.
 */
#ifndef CFGFS_CHECK_RUN_H
#define CFGFS_CHECK_RUN_H

#include <stddef.h>
#include <stdint.h>

#define CFGFS_CHECK_OUTPUT_MAX 4096
#define CFGFS_CHECK_KILL_GRACE_MS 200

/* 0 passed; -EINVAL refused (MSG says why: exit status or timeout, and
 * the first line of output); other -errno when it could not run at all
 * (MSG says why; the save is refused too). */
int cfgfs_check_run(const char *const *argv, uint64_t timeout_ms, const char *path,
		    const char *buf, size_t len, char *msg, size_t msglen);

#endif
