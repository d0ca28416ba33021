/*
 * live_settle.c — deletes that wait: a tracked file that vanishes is hidden
 * from the mount at once, but its delete is committed only after the settle
 * window, so that an editor's move-aside-then-write is one `modify`.
 * While it settles the file stays in SOURCE: a crash inside the window
 * leaves the last committed version in place.
 */
#include "backend/live_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mountopts/cmdline.h"

static ssize_t find(struct cfgfs_live *l, const char *path)
{
	for (size_t i = 0; i < l->nsettles; i++)
		if (strcmp(l->settles[i].path, path) == 0)
			return (ssize_t)i;
	return -1;
}

static void drop(struct cfgfs_live *l, size_t i)
{
	free(l->settles[i].path);
	l->settles[i] = l->settles[--l->nsettles];
}

bool live_settle_is(struct cfgfs_live *l, const char *path)
{
	return find(l, path) >= 0;
}

bool cfgfs_live_hidden(struct cfgfs_live *l, const char *path)
{
	pthread_mutex_lock(&l->save_lock);
	bool r = l->nsettles && find(l, path) >= 0;
	pthread_mutex_unlock(&l->save_lock);
	return r;
}

bool live_settle_take(struct cfgfs_live *l, const char *path)
{
	ssize_t i = find(l, path);
	if (i < 0)
		return false;
	drop(l, (size_t)i);
	return true;
}

static int finish_at(struct cfgfs_live *l, size_t i)
{
	struct live_settle s = l->settles[i];
	l->settles[i].path = NULL;
	l->settles[i] = l->settles[--l->nsettles];
	int rc = 0;
	if (unlinkat(l->rootfd, s.path, 0) < 0 && errno != ENOENT)
		rc = -errno;
	if (rc == 0) {
		struct cfgfs_edit e = {.kind = CFGFS_EDIT_REMOVE, .path = s.path};
		rc = live_commit(l, &e, 1, &s.who, "delete", s.path, NULL);
	}
	free(s.path);
	return rc;
}

int live_settle_finish(struct cfgfs_live *l, const char *path)
{
	ssize_t i = find(l, path);
	return i < 0 ? 0 : finish_at(l, (size_t)i);
}

int live_settle_flush_under(struct cfgfs_live *l, const char *dir)
{
	size_t n = strlen(dir);
	int rc = 0;
	for (size_t i = 0; i < l->nsettles;) {
		const char *p = l->settles[i].path;
		if (strncmp(p, dir, n) == 0 && (n == 0 || p[n] == '/')) {
			int r = finish_at(l, i);
			if (r < 0 && rc == 0)
				rc = r;
			continue; /* finish_at moved another entry into slot i */
		}
		i++;
	}
	return rc;
}

int live_settle_add(struct cfgfs_live *l, const char *path, const struct cfgfs_who *who)
{
	int rc = 0;
	pthread_mutex_lock(&l->save_lock);
	if (find(l, path) >= 0)
		goto out;
	if (l->nsettles == l->settle_cap) {
		size_t cap = l->settle_cap ? l->settle_cap * 2 : 16;
		struct live_settle *v = realloc(l->settles, cap * sizeof(*v));
		if (!v) {
			rc = -ENOMEM;
			goto out;
		}
		l->settles = v;
		l->settle_cap = cap;
	}
	struct live_settle *s = &l->settles[l->nsettles];
	s->path = strdup(path);
	if (!s->path) {
		rc = -ENOMEM;
		goto out;
	}
	s->who = *who;
	cfgfs_who_remember(&s->who); /* the delete is committed after it exits */
	clock_gettime(CLOCK_MONOTONIC, &s->deadline);
	s->deadline.tv_sec += l->cfg->settle_ms / 1000;
	s->deadline.tv_nsec += (long)(l->cfg->settle_ms % 1000) * 1000000L;
	if (s->deadline.tv_nsec >= 1000000000L) {
		s->deadline.tv_sec++;
		s->deadline.tv_nsec -= 1000000000L;
	}
	l->nsettles++;
	if (l->cfg->settle_ms == 0 || !l->thread_started)
		rc = finish_at(l, l->nsettles - 1);
	else
		pthread_cond_signal(&l->settle_cond);
out:
	pthread_mutex_unlock(&l->save_lock);
	return rc;
}

static bool before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

void *live_settle_thread(void *arg)
{
	struct cfgfs_live *l = arg;
	pthread_mutex_lock(&l->save_lock);
	while (!l->stopping) {
		if (l->nsettles == 0) {
			pthread_cond_wait(&l->settle_cond, &l->save_lock);
			continue;
		}
		size_t first = 0;
		for (size_t i = 1; i < l->nsettles; i++)
			if (before(&l->settles[i].deadline, &l->settles[first].deadline))
				first = i;
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (!before(&now, &l->settles[first].deadline)) {
			(void)finish_at(l, first);
			continue;
		}
		struct timespec until = l->settles[first].deadline;
		(void)pthread_cond_timedwait(&l->settle_cond, &l->save_lock, &until);
	}
	while (l->nsettles > 0)
		(void)finish_at(l, 0);
	pthread_mutex_unlock(&l->save_lock);
	return NULL;
}
