/*
 * live_open.c — bringing a live tree up and down: open SOURCE and the store,
 * reconcile them before the first request, run the settle thread, and at
 * the end commit every pending delete so an unmount loses nothing.
 */
#include "backend/live_internal.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/reserved.h"
#include "backend/verdict.h"
#include "mountopts/cmdline.h"
#include "mountopts/policy.h"

bool cfgfs_live_invisible(const struct cfgfs_live *l, const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (cfgfs_reserved_name(base))
		return true;
	if (strcmp(path, ".git") == 0)
		return true;
	return l->gitdir_rel && strcmp(path, l->gitdir_rel) == 0;
}

static bool import_skip(void *arg, const char *path)
{
	const struct cfgfs_live *l = arg;
	return cfgfs_live_invisible(l, path) || cfgfs_live_scratch(l, path);
}

static int decode_publish(char *out, size_t size, const char *name)
{
	const char *c = name + strlen(CFGFS_PUBLISH_PREFIX);
	size_t pos = 0;
	for (; *c; c++) {
		char ch = *c;
		if (ch == '%') {
			if (strncmp(c, "%2F", 3) == 0)
				ch = '/';
			else if (strncmp(c, "%25", 3) == 0)
				ch = '%';
			else
				return -EINVAL;
			c += 2;
		}
		if (pos + 1 >= size)
			return -ENAMETOOLONG;
		out[pos++] = ch;
	}
	out[pos] = '\0';
	return pos ? 0 : -EINVAL;
}

/* A save whose commit may have happened but whose publish did not: when
 * HEAD has exactly its content, finish the publish; otherwise it was never
 * committed nor acknowledged, and its bytes go to .cfgfs/rejected. */
static int recover_one(struct cfgfs_live *l, const char *name)
{
	char path[PATH_MAX];
	char *buf = NULL;
	int rc = decode_publish(path, sizeof(path), name);
	if (rc < 0)
		return unlinkat(l->rootfd, name, 0) < 0 ? -errno : 0;
	int fd = openat(l->rootfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	ssize_t got = pread(fd, buf, (size_t)st.st_size, 0);
	if (got != st.st_size) {
		rc = got < 0 ? -errno : -EIO;
		goto out;
	}
	rc = cfgfs_store_head_blob_is(l->store, path, buf, (size_t)st.st_size);
	if (rc == 1) {
		rc = renameat(l->rootfd, name, l->rootfd, path) < 0 ? -errno : 0;
		cfgfs_log(l->log, CFGFS_INFO, "recover", "path", path, "action",
			  "published a save committed just before a crash", NULL);
	} else if (rc == 0) {
		char msg[PATH_MAX + 128];
		snprintf(msg, sizeof(msg), "%s: a save cut short before its commit; its content is kept here",
			 path);
		(void)cfgfs_rejects_add(&l->rejects, path, "cfgfs", msg, buf, (size_t)st.st_size,
					st.st_mode, st.st_uid, st.st_gid);
		rc = unlinkat(l->rootfd, name, 0) < 0 ? -errno : 0;
		cfgfs_log(l->log, CFGFS_WARN, "recover", "path", path, "action",
			  "kept an uncommitted save in .cfgfs/rejected", NULL);
	}
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}

static int recover_publishes(struct cfgfs_live *l)
{
	int fd = openat(l->rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (de = readdir(d)) != NULL)
		if (cfgfs_publish_name(de->d_name))
			rc = recover_one(l, de->d_name);
	closedir(d);
	return rc;
}

static int reconcile(struct cfgfs_live *l, char *err, size_t errlen)
{
	struct cfgfs_revision head, rev;
	cfgfs_store_head(l->store, &head);
	const char *msg = head.number == 0 ? "import the existing tree\n"
					   : "reconcile: SOURCE differed from the store at mount "
					     "(edited while unmounted, or a save cut short)\n";
	int rc = cfgfs_store_import(l->store, &rev, l->rootfd, import_skip, l, "cfgfs",
				    "cfgfs@localhost", msg, err, errlen);
	if (rc < 0)
		return rc;
	if (rev.number) {
		char num[24];
		snprintf(num, sizeof(num), "%" PRIu64, rev.number);
		cfgfs_log(l->log, CFGFS_INFO, head.number ? "reconcile" : "import", "revision", num,
			  "commit", rev.commit, NULL);
	}
	return 0;
}

static char *inside(const char *source, const char *gitdir)
{
	size_t n = strlen(source);
	if (strncmp(gitdir, source, n) != 0 || gitdir[n] != '/')
		return NULL;
	return strdup(gitdir + n + 1);
}

int cfgfs_live_open(struct cfgfs_live **out, const struct cfgfs_config *cfg,
		    const struct cfgfs_policy *policy, struct cfgfs_log *log, char *err,
		    size_t errlen)
{
	struct cfgfs_live *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	int rc = 0;
	l->cfg = cfg;
	l->policy = policy;
	l->log = log;
	l->rejects.dirfd = -1;
	pthread_condattr_t ca;
	if (pthread_mutex_init(&l->save_lock, NULL) != 0 ||
	    pthread_mutex_init(&l->stats_lock, NULL) != 0 || pthread_condattr_init(&ca) != 0 ||
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&l->settle_cond, &ca) != 0) {
		free(l);
		return -ENOMEM;
	}
	pthread_condattr_destroy(&ca);
	l->rootfd = open(cfg->source, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (l->rootfd < 0) {
		rc = -errno;
		snprintf(err, errlen, "SOURCE '%s': %s", cfg->source, strerror(errno));
		goto fail;
	}
	l->gitdir_rel = inside(cfg->source, cfg->gitdir);
	rc = cfgfs_verdict_new(&l->verdict, policy, cfg->max_file_size, err, errlen);
	if (rc < 0)
		goto fail;
	rc = cfgfs_store_open(&l->store, cfg->gitdir, err, errlen);
	if (rc < 0)
		goto fail;
	rc = cfgfs_rejects_open(&l->rejects, cfg->gitdir, err, errlen);
	if (rc < 0)
		goto fail;
	rc = recover_publishes(l);
	if (rc < 0) {
		snprintf(err, errlen, "recovering interrupted saves: %s", strerror(-rc));
		goto fail;
	}
	rc = reconcile(l, err, errlen);
	if (rc < 0)
		goto fail;
	cfgfs_store_head(l->store, &l->stats.head);
	cfgfs_histogram_init(&l->commit_latency);
	rc = cfgfs_events_init(&l->events);
	if (rc < 0)
		goto fail;
	*out = l;
	return 0;
fail:
	cfgfs_live_close(l);
	return rc;
}

int cfgfs_live_start(struct cfgfs_live *l)
{
	int rc = live_feed_start(l);
	if (rc < 0)
		return rc;
	rc = pthread_create(&l->settle_thread, NULL, live_settle_thread, l);
	if (rc != 0)
		return -rc;
	pthread_mutex_lock(&l->save_lock);
	l->thread_started = true;
	pthread_mutex_unlock(&l->save_lock);
	return 0;
}

void cfgfs_live_close(struct cfgfs_live *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->save_lock);
	l->stopping = true;
	bool joined = l->thread_started;
	pthread_cond_signal(&l->settle_cond);
	pthread_mutex_unlock(&l->save_lock);
	if (joined)
		pthread_join(l->settle_thread, NULL);
	/* the runner finishes the try in progress; later revisions (the
	 * deletes committed below) are not run */
	cfgfs_hooks_stop(l->hooks);
	l->hooks = NULL;
	pthread_mutex_lock(&l->save_lock);
	while (l->nsettles > 0)
		(void)live_settle_finish(l, l->settles[0].path);
	pthread_mutex_unlock(&l->save_lock);
	free(l->settles);
	if (l->events)
		cfgfs_events_shutdown(l->events);
	cfgfs_events_free(l->events);
	cfgfs_rejects_close(&l->rejects);
	cfgfs_store_close(l->store);
	if (l->rootfd >= 0)
		close(l->rootfd);
	free(l->gitdir_rel);
	cfgfs_verdict_free(l->verdict);
	pthread_cond_destroy(&l->settle_cond);
	pthread_mutex_destroy(&l->save_lock);
	pthread_mutex_destroy(&l->stats_lock);
	free(l);
}

int live_rename_dir_in(struct cfgfs_live *l, const char *from, const char *to,
		       const struct cfgfs_who *who)
{
	(void)l;
	(void)from;
	(void)to;
	(void)who;
	/* A scratch directory renamed onto a tracked name would publish a whole
	 * tree unchecked. EXDEV makes mv(1) and friends copy it file by file,
	 * and each file is then an ordinary validated save. */
	return -EXDEV;
}
