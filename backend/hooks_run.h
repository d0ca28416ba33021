/*
 * hooks_run.h — internal to the hook runner (hooks.c): one try of one hook
 * as a process, and the environment it gets. See hooks.h for the contract
 * (process group, timeout, output logging); nothing here keeps state
 * between calls or takes a lock of its own (cfgfs_log takes the logger's).
 */
#ifndef CFGFS_HOOKS_RUN_H
#define CFGFS_HOOKS_RUN_H

#include <stdint.h>

#include "backend/log.h"
#include "mountopts/policy.h"

enum cfgfs_hooks_result {
	CFGFS_HOOKS_OK,
	CFGFS_HOOKS_FAILED,
	CFGFS_HOOKS_TIMEOUT,
};

struct cfgfs_hooks_try {
	enum cfgfs_hooks_result result;
	int exit_code;   /* -1 when it did not exit normally */
	int signal;      /* the signal that ended it, or 0 */
	int spawn_error; /* errno from posix_spawnp when it never ran, or 0 */
	int64_t duration_ms;
};

/*
 * Run HOOK once with environment ENVP (from cfgfs_hooks_env), in directory
 * WORKDIR (NULL: the daemon's), waiting at
 * most its timeout (then killing its process group), logging its output.
 * Fills *OUT and returns 0 when the hook was tried (whatever its result,
 * an argv[0] that cannot be run included), or <0 for an internal failure
 * (pipe, fork, memory), already logged at error level; *OUT then says
 * FAILED.
 */
int cfgfs_hooks_run_try(struct cfgfs_hooks_try *out, const struct cfgfs_hook *hook,
                        char *const *envp, const char *workdir, struct cfgfs_log *log);

/*
 * A NULL-terminated environment in *OUT: the daemon's environment without
 * any CFGFS_* variable the runner sets, then the NVARS "NAME=value" strings
 * of VARS. Free with cfgfs_hooks_env_free. 0 or -ENOMEM.
 */
int cfgfs_hooks_env(char ***out, const char *const *vars, size_t nvars);
void cfgfs_hooks_env_free(char **env);

#endif
