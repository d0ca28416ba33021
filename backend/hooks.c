/*
 * hooks.c — bursts, debounce, order, retries and revert; see hooks.h.
 * The process side of one try is in hooks_run.c.
 *
 * State of one hook (struct slot), all under hk->lock:
 *   pending   the burst collecting revisions, inactive when empty;
 *   reverting true while the worker is inside the revert callback: matching
 *             notifies then go to `held`, one burst per revision, so the
 *             revert's own revision can be told apart once it is known;
 *   skip_revision  the revert's revision: not a burst for this hook.
 * The worker moves a due `pending` out (the slot's pending is then empty
 * again and collects the next burst) and runs it without the lock.
 */
#include "backend/hooks.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/hooks_run.h"
#include "backend/names/glob.h"

#define NSEC_PER_SEC 1000000000L
#define NSEC_PER_MSEC 1000000L
/* First size of a path set's hash table (a power of two). */
#define PATHSET_INITIAL_SLOTS 16
/* Room for "NAME=" plus a decimal uint64. */
#define ENV_NUMBER_LEN 64
#define ENV_COMMIT_LEN (64 + CFGFS_HOOKS_COMMIT_LEN)
/* Variables given to a hook (see hooks.h). */
#define HOOK_ENV_VARS 6

/* Distinct paths in first-seen order, with a hash index over them. */
struct pathset {
	char **v;
	size_t n, cap;
	size_t *slots; /* index + 1 into v, 0 = empty; nslots a power of two */
	size_t nslots;
};

struct burst {
	bool active;
	uint64_t first_rev, last_rev;
	char prev_commit[CFGFS_HOOKS_COMMIT_LEN]; /* before first_rev; "" for none */
	char last_commit[CFGFS_HOOKS_COMMIT_LEN];
	struct pathset paths;
	int64_t first_ms, last_ms; /* CLOCK_MONOTONIC */
};

struct slot {
	const struct cfgfs_hook *hook;
	struct burst pending;
	bool reverting;
	struct burst *held;
	size_t nheld;
	uint64_t skip_revision;
	char good_commit[CFGFS_HOOKS_COMMIT_LEN]; /* last success; "" for none */
	uint64_t runs_ok, runs_failed, retries, reverts, timeouts;
	int64_t last_time;
	const char *last_result;
	uint64_t last_revision;
};

struct cfgfs_hooks {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* CLOCK_MONOTONIC: new burst, or stop */
	pthread_t thread;
	bool started, stopping;
	struct slot *slots;
	size_t nslots;
	char *mountpoint;
	char *workdir; /* the policy file's directory: hooks run there */
	struct cfgfs_log *log;
	cfgfs_hook_revert_fn revert;
	void *revert_arg;
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / NSEC_PER_MSEC;
}

static struct timespec mono_at(int64_t ms)
{
	return (struct timespec){.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * NSEC_PER_MSEC};
}

static void copy_commit(char dst[CFGFS_HOOKS_COMMIT_LEN], const char *src)
{
	snprintf(dst, CFGFS_HOOKS_COMMIT_LEN, "%s", src ? src : "");
}

/* ---- path sets ---- */

static uint64_t hash_path(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static int pathset_rehash(struct pathset *s, size_t nslots)
{
	size_t *slots = calloc(nslots, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < s->n; i++) {
		size_t j = hash_path(s->v[i]) & (nslots - 1);
		while (slots[j])
			j = (j + 1) & (nslots - 1);
		slots[j] = i + 1;
	}
	free(s->slots);
	s->slots = slots;
	s->nslots = nslots;
	return 0;
}

static int pathset_add(struct pathset *s, const char *path)
{
	int rc;
	if ((s->n + 1) * 2 > s->nslots &&
	    (rc = pathset_rehash(s, s->nslots ? s->nslots * 2 : PATHSET_INITIAL_SLOTS)) < 0)
		return rc;
	size_t j = hash_path(path) & (s->nslots - 1);
	for (; s->slots[j]; j = (j + 1) & (s->nslots - 1))
		if (strcmp(s->v[s->slots[j] - 1], path) == 0)
			return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : PATHSET_INITIAL_SLOTS;
		char **v = realloc(s->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	if (!(s->v[s->n] = strdup(path)))
		return -ENOMEM;
	s->slots[j] = ++s->n;
	return 0;
}

static void pathset_free(struct pathset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	free(s->slots);
	memset(s, 0, sizeof(*s));
}

/* ---- bursts ---- */

static void burst_free(struct burst *b)
{
	pathset_free(&b->paths);
	memset(b, 0, sizeof(*b));
}

/* Open B at revision REV if it is empty; then note REV as its newest. */
static void burst_touch(struct burst *b, uint64_t rev, const char *commit, const char *prev,
                        int64_t now)
{
	if (!b->active) {
		b->active = true;
		b->first_rev = rev;
		copy_commit(b->prev_commit, prev);
		b->first_ms = now;
	}
	b->last_rev = rev;
	copy_commit(b->last_commit, commit);
	b->last_ms = now;
}

/* Add C's paths matched by HOOK to B. Returns how many matched, or -ENOMEM. */
static int burst_add_change(struct burst *b, const struct cfgfs_hook *hook,
                            const struct cfgfs_hook_change *c, int64_t now)
{
	int matched = 0, rc;
	for (size_t i = 0; i < c->npaths; i++) {
		if (!c->paths[i] || !cfgfs_glob_match(hook->glob, c->paths[i], false))
			continue;
		if (!matched++)
			burst_touch(b, c->revision, c->commit, c->previous_commit, now);
		if ((rc = pathset_add(&b->paths, c->paths[i])) < 0)
			return rc;
	}
	return matched;
}

/* Fold the one-revision burst H into B (H is left as it was). */
static int burst_merge(struct burst *b, const struct burst *h, int64_t now)
{
	int rc;
	burst_touch(b, h->first_rev, h->last_commit, h->prev_commit, now);
	for (size_t i = 0; i < h->paths.n; i++)
		if ((rc = pathset_add(&b->paths, h->paths.v[i])) < 0)
			return rc;
	return 0;
}

static int64_t burst_due(const struct burst *b, const struct cfgfs_hook *hook)
{
	int64_t debounce = (int64_t)hook->debounce_ms;
	int64_t trailing = b->last_ms + debounce;
	int64_t cap = b->first_ms + debounce * CFGFS_HOOKS_DEBOUNCE_MAX_FACTOR;
	return trailing < cap ? trailing : cap;
}

/* ---- notify ---- */

/* A notify for a hook inside its revert callback: keep it apart. */
static int hold_change(struct slot *s, const struct cfgfs_hook_change *c, int64_t now)
{
	struct burst *held = realloc(s->held, (s->nheld + 1) * sizeof(*held));
	int rc;
	if (!held)
		return -ENOMEM;
	s->held = held;
	memset(&held[s->nheld], 0, sizeof(*held));
	rc = burst_add_change(&held[s->nheld], s->hook, c, now);
	if (rc > 0)
		s->nheld++;
	else
		burst_free(&held[s->nheld]);
	return rc < 0 ? rc : 0;
}

void cfgfs_hooks_notify(struct cfgfs_hooks *hk, const struct cfgfs_hook_change *c)
{
	int64_t now = mono_ms();
	bool wake = false, nomem = false;

	if (!hk || hk->nslots == 0)
		return;
	pthread_mutex_lock(&hk->lock);
	for (size_t i = 0; i < hk->nslots && !hk->stopping; i++) {
		struct slot *s = &hk->slots[i];
		int rc;
		if (s->skip_revision && c->revision == s->skip_revision)
			continue; /* the revert's own revision: its final try covers it */
		if (s->reverting)
			rc = hold_change(s, c, now);
		else if ((rc = burst_add_change(&s->pending, s->hook, c, now)) > 0)
			wake = true;
		if (rc < 0)
			nomem = true;
	}
	if (wake)
		pthread_cond_broadcast(&hk->cond);
	pthread_mutex_unlock(&hk->lock);
	if (nomem) {
		char rev[ENV_NUMBER_LEN];
		snprintf(rev, sizeof(rev), "%" PRIu64, c->revision);
		cfgfs_log(hk->log, CFGFS_ERROR, "hook-error", "revision", rev, "error",
		          strerror(ENOMEM), NULL);
	}
}

/* ---- running ---- */

static const char *result_name(enum cfgfs_hooks_result r)
{
	return r == CFGFS_HOOKS_OK ? "ok" : r == CFGFS_HOOKS_TIMEOUT ? "timeout" : "failed";
}

/* CFGFS_PATHS: the paths one per line, cut at a whole path past the limit. */
static char *paths_var(const struct pathset *p, bool *truncated)
{
	static const char name[] = "CFGFS_PATHS=";
	size_t len = sizeof(name) - 1, used = 0;
	char *var;

	*truncated = false;
	for (; used < p->n; used++) {
		size_t add = strlen(p->v[used]) + (used ? 1 : 0);
		if (len + add - (sizeof(name) - 1) > CFGFS_HOOKS_MAX_PATHS_ENV) {
			*truncated = true;
			break;
		}
		len += add;
	}
	if (!(var = malloc(len + 1)))
		return NULL;
	memcpy(var, name, sizeof(name) - 1);
	len = sizeof(name) - 1;
	for (size_t i = 0; i < used; i++) {
		if (i)
			var[len++] = '\n';
		size_t n = strlen(p->v[i]);
		memcpy(var + len, p->v[i], n);
		len += n;
	}
	var[len] = '\0';
	return var;
}

/* The environment for one run: REV/COMMIT the newest, PREV before it all. */
static int make_env(char ***envp, const struct cfgfs_hooks *hk, uint64_t rev, const char *commit,
                    const char *prev, const struct pathset *paths)
{
	char v_rev[ENV_NUMBER_LEN], v_commit[ENV_COMMIT_LEN], v_prev[ENV_COMMIT_LEN];
	char *v_mount = NULL, *v_paths = NULL;
	bool truncated;
	int rc = -ENOMEM;

	snprintf(v_rev, sizeof(v_rev), "CFGFS_REVISION=%" PRIu64, rev);
	snprintf(v_commit, sizeof(v_commit), "CFGFS_COMMIT=%s", commit);
	snprintf(v_prev, sizeof(v_prev), "CFGFS_PREVIOUS_COMMIT=%s", prev);
	if (asprintf(&v_mount, "CFGFS_MOUNT=%s", hk->mountpoint) < 0) {
		v_mount = NULL;
		goto cleanup;
	}
	if (!(v_paths = paths_var(paths, &truncated)))
		goto cleanup;
	const char *vars[HOOK_ENV_VARS] = {v_rev,   v_commit, v_prev,
	                                   v_mount, v_paths,  "CFGFS_PATHS_TRUNCATED=1"};
	rc = cfgfs_hooks_env(envp, vars, truncated ? HOOK_ENV_VARS : HOOK_ENV_VARS - 1);
cleanup:
	free(v_mount);
	free(v_paths);
	return rc;
}

/* Run one try, count it, log it. TRY is 1-based; TRIES 0 marks the final
 * try after a revert. */
static enum cfgfs_hooks_result try_once(struct cfgfs_hooks *hk, struct slot *s, char **envp,
                                        uint64_t rev, unsigned try, unsigned tries)
{
	const struct cfgfs_hook *hook = s->hook;
	struct cfgfs_hooks_try t;
	char v_rev[ENV_NUMBER_LEN], v_try[ENV_NUMBER_LEN], v_exit[ENV_NUMBER_LEN + 64];
	char v_ms[ENV_NUMBER_LEN];

	if (cfgfs_hooks_run_try(&t, hook, envp, hk->workdir, hk->log) < 0)
		t.result = CFGFS_HOOKS_FAILED; /* already logged as an internal error */
	pthread_mutex_lock(&hk->lock);
	if (t.result == CFGFS_HOOKS_OK)
		s->runs_ok++;
	else if (t.result == CFGFS_HOOKS_TIMEOUT)
		s->timeouts++;
	else
		s->runs_failed++;
	if (try > 1)
		s->retries++;
	s->last_time = (int64_t)time(NULL);
	s->last_result = result_name(t.result);
	s->last_revision = rev;
	pthread_mutex_unlock(&hk->lock);

	snprintf(v_rev, sizeof(v_rev), "%" PRIu64, rev);
	if (tries)
		snprintf(v_try, sizeof(v_try), "%u/%u", try, tries);
	else
		snprintf(v_try, sizeof(v_try), "final");
	if (t.spawn_error)
		snprintf(v_exit, sizeof(v_exit), "not run: %s", strerror(t.spawn_error));
	else if (t.signal)
		snprintf(v_exit, sizeof(v_exit), "signal %d", t.signal);
	else
		snprintf(v_exit, sizeof(v_exit), "%d", t.exit_code);
	snprintf(v_ms, sizeof(v_ms), "%" PRId64, t.duration_ms);
	cfgfs_log(hk->log, t.result == CFGFS_HOOKS_OK ? CFGFS_INFO : CFGFS_WARN, "hook", "hook",
	          hook->match, "revision", v_rev, "try", v_try, "result", result_name(t.result),
	          "exit", v_exit, "duration_ms", v_ms, NULL);
	return t.result;
}

/* Sleep MS unless the runner stops first; false when it stopped. */
static bool nap(struct cfgfs_hooks *hk, uint64_t ms)
{
	struct timespec until = mono_at(mono_ms() + (int64_t)ms);
	bool stopping;
	pthread_mutex_lock(&hk->lock);
	while (!hk->stopping && pthread_cond_timedwait(&hk->cond, &hk->lock, &until) != ETIMEDOUT)
		;
	stopping = hk->stopping;
	pthread_mutex_unlock(&hk->lock);
	return !stopping;
}

static bool stopping(struct cfgfs_hooks *hk)
{
	pthread_mutex_lock(&hk->lock);
	bool st = hk->stopping;
	pthread_mutex_unlock(&hk->lock);
	return st;
}

/* Leave revert mode: hand the held notifies back, except the revert's own
 * revision REV (0: the revert failed, keep them all). */
static void end_revert(struct cfgfs_hooks *hk, struct slot *s, uint64_t rev)
{
	int64_t now = mono_ms();
	bool nomem = false;

	pthread_mutex_lock(&hk->lock);
	s->reverting = false;
	if (rev) {
		s->skip_revision = rev;
		s->reverts++;
	}
	for (size_t i = 0; i < s->nheld; i++) {
		if (s->held[i].first_rev != rev && burst_merge(&s->pending, &s->held[i], now) < 0)
			nomem = true;
		burst_free(&s->held[i]);
	}
	free(s->held);
	s->held = NULL;
	s->nheld = 0;
	pthread_mutex_unlock(&hk->lock);
	if (nomem)
		cfgfs_log(hk->log, CFGFS_ERROR, "hook-error", "hook", s->hook->match, "error",
		          strerror(ENOMEM), NULL);
}

/* Every try of burst B failed and the hook says revert: see hooks.h. */
static void revert(struct cfgfs_hooks *hk, struct slot *s, const struct burst *b)
{
	const struct cfgfs_hook *hook = s->hook;
	char good[CFGFS_HOOKS_COMMIT_LEN], new_commit[CFGFS_HOOKS_COMMIT_LEN] = "";
	char v_rev[ENV_NUMBER_LEN];
	uint64_t new_rev = 0;
	char **envp = NULL;
	int rc;

	pthread_mutex_lock(&hk->lock);
	copy_commit(good, s->good_commit[0] ? s->good_commit : b->prev_commit);
	s->reverting = good[0] && hk->revert && !hk->stopping;
	bool go = s->reverting;
	pthread_mutex_unlock(&hk->lock);
	if (!go) {
		if (!good[0])
			cfgfs_log(hk->log, CFGFS_WARN, "hook-revert", "hook", hook->match, "result",
			          "skipped", "reason", "no earlier revision to restore", NULL);
		else if (!hk->revert)
			cfgfs_log(hk->log, CFGFS_ERROR, "hook-revert", "hook", hook->match,
			          "result", "failed", "reason", "no revert callback", NULL);
		return;
	}
	rc = hk->revert(hk->revert_arg, hook, good, (const char *const *)b->paths.v, b->paths.n,
	                &new_rev, new_commit);
	if (rc == 0 && new_rev == 0)
		rc = -EINVAL; /* a revision number is never 0 */
	end_revert(hk, s, rc == 0 ? new_rev : 0);
	if (rc < 0) {
		cfgfs_log(hk->log, CFGFS_ERROR, "hook-revert", "hook", hook->match, "result",
		          "failed", "good_commit", good, "error", strerror(-rc), NULL);
		return;
	}
	new_commit[CFGFS_HOOKS_COMMIT_LEN - 1] = '\0';
	snprintf(v_rev, sizeof(v_rev), "%" PRIu64, new_rev);
	cfgfs_log(hk->log, CFGFS_WARN, "hook-revert", "hook", hook->match, "result", "reverted",
	          "good_commit", good, "revision", v_rev, "commit", new_commit, NULL);
	if (stopping(hk))
		return;
	if ((rc = make_env(&envp, hk, new_rev, new_commit, b->last_commit, &b->paths)) < 0) {
		cfgfs_log(hk->log, CFGFS_ERROR, "hook-error", "hook", hook->match, "error",
		          strerror(-rc), NULL);
		return;
	}
	if (try_once(hk, s, envp, new_rev, 1, 0) == CFGFS_HOOKS_OK) {
		pthread_mutex_lock(&hk->lock);
		copy_commit(s->good_commit, new_commit);
		pthread_mutex_unlock(&hk->lock);
	} else {
		cfgfs_log(hk->log, CFGFS_WARN, "hook-revert-failed", "hook", hook->match,
		          "revision", v_rev, "action", "stopped", NULL);
	}
	cfgfs_hooks_env_free(envp);
}

/* One burst: tries with backoff, then maybe revert. */
static void run_burst(struct cfgfs_hooks *hk, struct slot *s, const struct burst *b)
{
	const struct cfgfs_hook *hook = s->hook;
	unsigned tries = hook->retries + 1;
	uint64_t delay = hook->backoff_initial_ms;
	char **envp = NULL;
	int rc;

	if ((rc = make_env(&envp, hk, b->last_rev, b->last_commit, b->prev_commit, &b->paths)) <
	    0) {
		cfgfs_log(hk->log, CFGFS_ERROR, "hook-error", "hook", hook->match, "error",
		          strerror(-rc), NULL);
		return;
	}
	for (unsigned t = 1; t <= tries; t++) {
		if (t > 1) {
			if (!nap(hk, delay))
				goto cleanup;
			delay = delay * 2 < hook->backoff_max_ms ? delay * 2 : hook->backoff_max_ms;
		}
		if (try_once(hk, s, envp, b->last_rev, t, tries) == CFGFS_HOOKS_OK) {
			pthread_mutex_lock(&hk->lock);
			copy_commit(s->good_commit, b->last_commit);
			pthread_mutex_unlock(&hk->lock);
			goto cleanup;
		}
		if (stopping(hk))
			goto cleanup;
	}
	if (hook->on_failure == CFGFS_HOOK_REVERT)
		revert(hk, s, b);
cleanup:
	cfgfs_hooks_env_free(envp);
}

/* The first slot in policy order whose burst is due at NOW, or NULL;
 * *NEXT gets the earliest due time of the others (INT64_MAX: none). */
static struct slot *next_due(struct cfgfs_hooks *hk, int64_t now, int64_t *next)
{
	struct slot *due = NULL;
	*next = INT64_MAX;
	for (size_t i = 0; i < hk->nslots; i++) {
		struct slot *s = &hk->slots[i];
		if (!s->pending.active)
			continue;
		int64_t at = burst_due(&s->pending, s->hook);
		if (at <= now && !due)
			due = s;
		else if (at < *next)
			*next = at;
	}
	return due;
}

/* Called at stop, with the lock held: say what will not run. */
static void drop_pending(struct cfgfs_hooks *hk)
{
	char first[ENV_NUMBER_LEN], last[ENV_NUMBER_LEN];
	for (size_t i = 0; i < hk->nslots; i++) {
		struct burst *b = &hk->slots[i].pending;
		if (!b->active)
			continue;
		snprintf(first, sizeof(first), "%" PRIu64, b->first_rev);
		snprintf(last, sizeof(last), "%" PRIu64, b->last_rev);
		cfgfs_log(hk->log, CFGFS_WARN, "hook-dropped", "hook", hk->slots[i].hook->match,
		          "first_revision", first, "last_revision", last, "reason", "unmounting",
		          NULL);
		burst_free(b);
	}
}

static void *worker(void *arg)
{
	struct cfgfs_hooks *hk = arg;

	pthread_mutex_lock(&hk->lock);
	while (!hk->stopping) {
		int64_t next;
		struct slot *s = next_due(hk, mono_ms(), &next);
		if (!s) {
			if (next == INT64_MAX) {
				pthread_cond_wait(&hk->cond, &hk->lock);
			} else {
				struct timespec at = mono_at(next);
				pthread_cond_timedwait(&hk->cond, &hk->lock, &at);
			}
			continue;
		}
		struct burst b = s->pending;
		memset(&s->pending, 0, sizeof(s->pending));
		pthread_mutex_unlock(&hk->lock);
		run_burst(hk, s, &b);
		burst_free(&b);
		pthread_mutex_lock(&hk->lock);
	}
	drop_pending(hk);
	pthread_mutex_unlock(&hk->lock);
	return NULL;
}

/* ---- lifetime ---- */

static void hooks_free(struct cfgfs_hooks *hk)
{
	for (size_t i = 0; i < hk->nslots; i++) {
		struct slot *s = &hk->slots[i];
		burst_free(&s->pending);
		for (size_t j = 0; j < s->nheld; j++)
			burst_free(&s->held[j]);
		free(s->held);
	}
	free(hk->slots);
	free(hk->mountpoint);
	free(hk->workdir);
	pthread_cond_destroy(&hk->cond);
	pthread_mutex_destroy(&hk->lock);
	free(hk);
}

static int hooks_sync_init(struct cfgfs_hooks *hk)
{
	pthread_condattr_t attr;
	int rc;
	if ((rc = pthread_condattr_init(&attr)) != 0)
		return -rc;
	if ((rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)) == 0 &&
	    (rc = pthread_mutex_init(&hk->lock, NULL)) == 0 &&
	    (rc = pthread_cond_init(&hk->cond, &attr)) != 0)
		pthread_mutex_destroy(&hk->lock);
	pthread_condattr_destroy(&attr);
	return -rc;
}

int cfgfs_hooks_start(struct cfgfs_hooks **out, const struct cfgfs_policy *policy,
                      const char *mountpoint, struct cfgfs_log *log, cfgfs_hook_revert_fn revert,
                      void *revert_arg)
{
	struct cfgfs_hooks *hk = NULL;
	size_t n = cfgfs_policy_hook_count(policy);
	const char *file = cfgfs_policy_file(policy);
	bool sync_ok = false;
	int rc = -ENOMEM;

	*out = NULL;
	if (!(hk = calloc(1, sizeof(*hk))))
		goto cleanup;
	if ((rc = hooks_sync_init(hk)) < 0)
		goto cleanup;
	sync_ok = true;
	rc = -ENOMEM;
	if (!(hk->mountpoint = strdup(mountpoint ? mountpoint : "")))
		goto cleanup;
	if (file && !(hk->workdir = strdup(file)))
		goto cleanup;
	if (hk->workdir)
		*strrchr(hk->workdir, '/') = '\0'; /* the file's path is absolute */
	if (hk->workdir && !hk->workdir[0])
		strcpy(hk->workdir, "/");
	if (n && !(hk->slots = calloc(n, sizeof(*hk->slots))))
		goto cleanup;
	for (; hk->nslots < n; hk->nslots++) {
		struct slot *s = &hk->slots[hk->nslots];
		s->hook = cfgfs_policy_hook(policy, hk->nslots);
		s->last_result = "never";
	}
	hk->log = log;
	hk->revert = revert;
	hk->revert_arg = revert_arg;
	if (n) {
		if ((rc = -pthread_create(&hk->thread, NULL, worker, hk)) < 0)
			goto cleanup;
		hk->started = true;
	}
	*out = hk;
	hk = NULL;
	rc = 0;
cleanup:
	if (hk) {
		if (sync_ok) {
			hooks_free(hk);
		} else {
			free(hk);
		}
	}
	return rc;
}

void cfgfs_hooks_stop(struct cfgfs_hooks *hk)
{
	if (!hk)
		return;
	pthread_mutex_lock(&hk->lock);
	hk->stopping = true;
	pthread_cond_broadcast(&hk->cond);
	pthread_mutex_unlock(&hk->lock);
	if (hk->started)
		pthread_join(hk->thread, NULL);
	hooks_free(hk);
}

size_t cfgfs_hooks_states(struct cfgfs_hooks *hk, struct cfgfs_hook_state *out, size_t max)
{
	pthread_mutex_lock(&hk->lock);
	for (size_t i = 0; i < hk->nslots && i < max; i++) {
		const struct slot *s = &hk->slots[i];
		out[i] = (struct cfgfs_hook_state){
		    .match = s->hook->match,
		    .run0 = s->hook->run[0],
		    .runs_ok = s->runs_ok,
		    .runs_failed = s->runs_failed,
		    .retries = s->retries,
		    .reverts = s->reverts,
		    .timeouts = s->timeouts,
		    .last_time = s->last_time,
		    .last_result = s->last_result,
		    .last_revision = s->last_revision,
		};
	}
	size_t n = hk->nslots;
	pthread_mutex_unlock(&hk->lock);
	return n;
}
