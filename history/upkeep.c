/* upkeep.c — see upkeep.h. */
#include "history/upkeep.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct cfgfs_upkeep {
	struct cfgfs_history *h;
	struct cfgfs_log *log;
	pthread_mutex_t lock; /* guards stop */
	pthread_cond_t wake;
	bool stop;
	pthread_t thread;
};

static void *upkeep_main(void *arg)
{
	struct cfgfs_upkeep *u = arg;
	pthread_mutex_lock(&u->lock);
	while (!u->stop) {
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += CFGFS_UPKEEP_INTERVAL_S;
		while (!u->stop && pthread_cond_timedwait(&u->wake, &u->lock, &until) == 0)
			;
		if (u->stop)
			break;
		pthread_mutex_unlock(&u->lock);
		int removed = cfgfs_history_repack(u->h, CFGFS_UPKEEP_LOOSE_MAX);
		if (removed < 0) {
			cfgfs_log(u->log, CFGFS_WARN, "repack", "error", strerror(-removed), NULL);
		} else if (removed > 0) {
			char n[24];
			snprintf(n, sizeof(n), "%d", removed);
			cfgfs_log(u->log, CFGFS_INFO, "repack", "packed_loose_objects", n, NULL);
		}
		pthread_mutex_lock(&u->lock);
	}
	pthread_mutex_unlock(&u->lock);
	return NULL;
}

int cfgfs_upkeep_start(struct cfgfs_upkeep **out, struct cfgfs_history *h, struct cfgfs_log *log)
{
	struct cfgfs_upkeep *u = calloc(1, sizeof(*u));
	pthread_condattr_t ca;
	int rc;
	if (!u)
		return -ENOMEM;
	u->h = h;
	u->log = log;
	if ((rc = pthread_mutex_init(&u->lock, NULL)) != 0)
		goto fail_free;
	if ((rc = pthread_condattr_init(&ca)) != 0)
		goto fail_mutex;
	rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (rc == 0)
		rc = pthread_cond_init(&u->wake, &ca);
	pthread_condattr_destroy(&ca);
	if (rc != 0)
		goto fail_mutex;
	if ((rc = pthread_create(&u->thread, NULL, upkeep_main, u)) != 0)
		goto fail_cond;
	*out = u;
	return 0;
fail_cond:
	pthread_cond_destroy(&u->wake);
fail_mutex:
	pthread_mutex_destroy(&u->lock);
fail_free:
	free(u);
	return -rc;
}

void cfgfs_upkeep_stop(struct cfgfs_upkeep *u)
{
	if (!u)
		return;
	pthread_mutex_lock(&u->lock);
	u->stop = true;
	pthread_cond_signal(&u->wake);
	pthread_mutex_unlock(&u->lock);
	pthread_join(u->thread, NULL);
	pthread_cond_destroy(&u->wake);
	pthread_mutex_destroy(&u->lock);
	free(u);
}
