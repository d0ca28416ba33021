/*
 * main.c — the cfgfs command: `cfgfs check ...`, --help, --version, and the
 * mount itself. Order matters: the policy is loaded and SOURCE reconciled
 * with the store before the mount exists, so a bad argument never mounts
 * anything and the first request already sees a tree equal to HEAD.
 */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/live.h"
#include "backend/log.h"
#include "backend/store.h"
#include "backend/verdict.h"
#include "fs/fs.h"
#include "fs/ops.h"
#include "history/history.h"
#include "history/upkeep.h"
#include "mountopts/check.h"
#include "mountopts/cmdline.h"
#include "mountopts/policy.h"

#define MAIN_MAX_THREADS 64
#define MAIN_ERR_MAX 1024
#define MAIN_DEAD_MOUNTS 2 /* SOURCE and MOUNTPOINT */

static int build_fuse_args(struct fuse_args *args, const struct cfgfs_config *cfg,
			   const char *argv0)
{
	char *base = NULL;
	const char *fsname = strchr(cfg->source, ',') ? "cfgfs" : cfg->source;
	if (asprintf(&base, "default_permissions,subtype=cfgfs,fsname=%s", fsname) < 0)
		return -ENOMEM;
	int rc = 0;
	if (fuse_opt_add_arg(args, argv0) < 0 || fuse_opt_add_arg(args, "-o") < 0 ||
	    fuse_opt_add_arg(args, base) < 0)
		rc = -ENOMEM;
	if (rc == 0 && cfg->debug && fuse_opt_add_arg(args, "-odebug") < 0)
		rc = -ENOMEM;
	for (size_t i = 0; rc == 0 && i < cfg->n_fuse_opts; i++)
		if (fuse_opt_add_arg(args, "-o") < 0 ||
		    fuse_opt_add_arg(args, cfg->fuse_opts[i]) < 0)
			rc = -ENOMEM;
	free(base);
	return rc;
}

/* Is PATH at or below DIR? */
static bool inside(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/' || n == 1);
}

/*
 * Stop mount events in this namespace from reaching the users' one. "/"
 * first; in a chroot "/" is not a mount point, so then the mount that
 * holds MOUNTPOINT (the longest other mount point above it).
 */
static int make_private(const char *mountpoint)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0)
		return 0;
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -1;
	char line[4096], best[PATH_MAX] = "";
	while (fgets(line, sizeof(line), f)) {
		char mp[PATH_MAX];
		/* id parent major:minor root mount-point ... */
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
			continue;
		if (strcmp(mp, mountpoint) != 0 && inside(mountpoint, mp) && strlen(mp) > strlen(best))
			snprintf(best, sizeof(best), "%s", mp);
	}
	fclose(f);
	if (!best[0])
		return -1;
	return mount(NULL, best, NULL, MS_REC | MS_PRIVATE, NULL);
}

/*
 * Mounted over the directory that holds the store, the daemon would reach
 * its own store through its own mount, where .git is hidden. So it steps
 * into a private copy of the mount namespace and detaches the FUSE mount
 * there only: users see the mount, the daemon sees the disk. Must run
 * while the process has one thread. *orig_ns keeps the users' namespace,
 * for the unmount at the end.
 */
static int private_view(const struct cfgfs_config *cfg, int *orig_ns)
{
	*orig_ns = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	if (*orig_ns < 0)
		return -errno;
	if (unshare(CLONE_NEWNS) < 0 || make_private(cfg->mountpoint) < 0 ||
	    umount2(cfg->mountpoint, MNT_DETACH) < 0) {
		int e = errno;
		close(*orig_ns);
		*orig_ns = -1;
		return -e;
	}
	return 0;
}

/* Unmount in the users' namespace, from a child that can switch to it. */
static void unmount_in(int ns, const char *mountpoint)
{
	pid_t pid = fork();
	if (pid == 0) {
		if (setns(ns, CLONE_NEWNS) < 0)
			_exit(1);
		_exit(umount2(mountpoint, MNT_DETACH) < 0 && errno != EINVAL ? 1 : 0);
	}
	int status;
	if (pid > 0)
		(void)waitpid(pid, &status, 0);
}

static int serve(struct cfgfs_config *cfg, struct cfgfs_policy *policy, const char *argv0)
{
	char err[MAIN_ERR_MAX] = "";
	struct cfgfs_log log;
	struct cfgfs_live *live = NULL;
	struct cfgfs_fs fs;
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_session *se = NULL;
	struct fuse_loop_config *loop = NULL;
	bool fs_ready = false, mounted = false, handlers = false, events_ready = false;
	int status = 1, orig_ns = -1;
	struct cfgfs_upkeep *upkeep = NULL;

	memset(&fs, 0, sizeof(fs));
	if (cfgfs_log_init(&log, cfg->log_format == CFGFS_LOG_JSON, !cfg->foreground) < 0) {
		fprintf(stderr, "cfgfs: cannot start logging\n");
		return 1;
	}
	/* FUSE options first: a bad one must not touch the store */
	if (build_fuse_args(&args, cfg, argv0) < 0)
		goto out;
	se = fuse_session_new(&args, &cfgfs_fs_ops, sizeof(cfgfs_fs_ops), &fs);
	if (!se) {
		status = 2; /* libfuse printed which option it refused */
		goto out;
	}
	if (cfgfs_store_global_init(cfg->fsync) < 0) {
		fprintf(stderr, "cfgfs: cannot initialise libgit2\n");
		goto out;
	}
	if (cfgfs_live_open(&live, cfg, policy, &log, err, sizeof(err)) < 0) {
		fprintf(stderr, "cfgfs: %s\n", err[0] ? err : "cannot open the tree");
		goto out;
	}
	if (fs_init(&fs, live, &log) < 0)
		goto out;
	fs_ready = true;
	if (cfgfs_history_open(&fs.history, cfg->gitdir, err, sizeof(err)) < 0) {
		fprintf(stderr, "cfgfs: %s\n", err[0] ? err : "cannot read the store's history");
		goto out;
	}
	cfgfs_live_set_changes(live, fs_events_changes, fs.history);
	cfgfs_live_on_publish(live, fs_published, &fs);
	if (fs_events_init(&fs) < 0)
		goto out;
	events_ready = true;
	fs.se = se;
	if (fuse_set_signal_handlers(se) < 0)
		goto out;
	handlers = true;
	if (fuse_session_mount(se, cfg->mountpoint) < 0) {
		fprintf(stderr, "cfgfs: cannot mount on %s\n", cfg->mountpoint);
		goto out;
	}
	mounted = true;
	if (fuse_daemonize(cfg->foreground) < 0)
		goto out;
	if (inside(cfg->gitdir, cfg->mountpoint)) {
		int rc = private_view(cfg, &orig_ns);
		if (rc < 0) {
			cfgfs_log(&log, CFGFS_ERROR, "mount", "error",
				  "the store is under the mount point and cannot be reached "
				  "(needs root); use -o gitdir= outside it",
				  "errno", strerror(-rc), NULL);
			goto out;
		}
	}
	if (cfgfs_live_start(live) < 0)
		goto out;
	if (cfgfs_upkeep_start(&upkeep, fs.history, &log) < 0)
		goto out;
	struct cfgfs_live_stats st;
	cfgfs_live_stats(live, &st);
	char head[32];
	snprintf(head, sizeof(head), "%llu", (unsigned long long)st.head.number);
	cfgfs_log(&log, CFGFS_INFO, "mount", "source", cfg->source, "mountpoint", cfg->mountpoint,
		  "gitdir", cfg->gitdir, "head", head, NULL);
	loop = fuse_loop_cfg_create();
	if (!loop)
		goto out;
	fuse_loop_cfg_set_max_threads(loop, MAIN_MAX_THREADS);
	fuse_loop_cfg_set_clone_fd(loop, 0);
	/* a positive result is the signal that ended the session: a clean stop */
	status = fuse_session_loop_mt(se, loop) < 0 ? 1 : 0;
	cfgfs_log(&log, CFGFS_INFO, "unmount", "mountpoint", cfg->mountpoint, NULL);
out:
	if (loop)
		fuse_loop_cfg_destroy(loop);
	cfgfs_upkeep_stop(upkeep);
	/* in a private view the mount to remove is in the users' namespace;
	 * libfuse then only finds the connection gone and frees its state */
	if (mounted && orig_ns >= 0)
		unmount_in(orig_ns, cfg->mountpoint);
	if (mounted)
		fuse_session_unmount(se);
	if (orig_ns >= 0)
		close(orig_ns);
	if (events_ready)
		fs_events_destroy(&fs);
	if (handlers)
		fuse_remove_signal_handlers(se);
	if (se)
		fuse_session_destroy(se);
	fuse_opt_free_args(&args);
	/* handles the kernel never released still hold staged files */
	if (fs_ready)
		fs_destroy(&fs);
	/* commits every delete still settling: an unmount loses nothing */
	cfgfs_live_close(live);
	if (fs.history)
		cfgfs_history_close(fs.history);
	cfgfs_store_global_shutdown();
	cfgfs_log_destroy(&log);
	return status;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "check") == 0)
		return cfgfs_check_main(argc - 1, argv + 1);
	struct cfgfs_config cfg;
	char err[MAIN_ERR_MAX];
	int prc = cfgfs_cmdline_parse(&cfg, argc, argv, err, sizeof(err));
	for (int tries = 0; prc == -ENOTCONN && tries < MAIN_DEAD_MOUNTS; tries++) {
		/* a daemon killed mid-save leaves its mount behind, dead: clear
		 * it (the store and SOURCE are reconciled at this mount) */
		if (umount2(err, MNT_DETACH) < 0) {
			fprintf(stderr, "cfgfs: %s is the dead mount of an earlier cfgfs and cannot be "
					"unmounted here (%s); run: fusermount3 -u -z %s\n",
				err, strerror(errno), err);
			return 2;
		}
		fprintf(stderr, "cfgfs: cleared the dead mount at %s\n", err);
		prc = cfgfs_cmdline_parse(&cfg, argc, argv, err, sizeof(err));
	}
	if (prc < 0) {
		fprintf(stderr, "cfgfs: %s\n", err);
		return 2;
	}
	if (cfg.cmd == CFGFS_CMD_HELP) {
		cfgfs_cmdline_usage("cfgfs");
		return 0;
	}
	if (cfg.cmd == CFGFS_CMD_VERSION) {
		printf("cfgfs %s (libfuse %d)\n", CFGFS_VERSION, fuse_version());
		return 0;
	}
	struct cfgfs_policy *policy = NULL;
	if (cfg.policy) {
		if (cfgfs_policy_load(&policy, cfg.policy, err, sizeof(err)) < 0) {
			fprintf(stderr, "cfgfs: %s\n", err);
			cfgfs_cmdline_free(&cfg);
			return 2;
		}
	} else if (!(policy = cfgfs_policy_default())) {
		fprintf(stderr, "cfgfs: out of memory\n");
		cfgfs_cmdline_free(&cfg);
		return 1;
	}
	/* a schema the policy names must load before anything is mounted */
	struct cfgfs_verdict *verdict = NULL;
	if (cfgfs_verdict_new(&verdict, policy, cfg.max_file_size, err, sizeof(err)) < 0) {
		fprintf(stderr, "cfgfs: %s\n", err);
		cfgfs_policy_free(policy);
		cfgfs_cmdline_free(&cfg);
		return 2;
	}
	cfgfs_verdict_free(verdict);
	int status = serve(&cfg, policy, argv[0]);
	cfgfs_policy_free(policy);
	cfgfs_cmdline_free(&cfg);
	return status;
}
