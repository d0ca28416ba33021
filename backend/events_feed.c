/*
 * events_feed.c — what happens after a revision is committed and published:
 * counters, the commit-latency histogram, one line in the event log, and a
 * notice to the hook runner. Also the glue the hook runner calls back when
 * a hook gives up and its change is reverted, and .cfgfs/metrics.
 */
#include "backend/live_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mountopts/cmdline.h"
#include "mountopts/policy.h"

void cfgfs_live_set_changes(struct cfgfs_live *l, cfgfs_live_changes_fn fn, void *arg)
{
	l->changes = fn;
	l->changes_arg = arg;
}

struct cfgfs_events *cfgfs_live_events(struct cfgfs_live *l)
{
	return l->events;
}

static void paths_free(struct cfgfs_event_path *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].path);
		free(v[i].from);
	}
	free(v);
}

static const char *op_of(const char *verb, const struct cfgfs_edit *e)
{
	switch (e->kind) {
	case CFGFS_EDIT_REMOVE:
		return "delete";
	case CFGFS_EDIT_MOVE:
		return "rename";
	case CFGFS_EDIT_META:
		return "mode";
	case CFGFS_EDIT_PUT:
		break;
	}
	return strcmp(verb, "modify") == 0 || strcmp(verb, "revert") == 0 ? "modify" : "create";
}

/* The changed paths of a revision: from the store's history when known,
 * else from the edits that made it. */
static int changed_paths(struct cfgfs_live *l, uint64_t rev, const char *verb,
			 const struct cfgfs_edit *edits, size_t n, struct cfgfs_event_path **out,
			 size_t *count)
{
	if (l->changes)
		return l->changes(l->changes_arg, rev, out, count);
	struct cfgfs_event_path *v = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		v[i].path = strdup(edits[i].path);
		v[i].from = edits[i].from ? strdup(edits[i].from) : NULL;
		v[i].op = op_of(verb, &edits[i]);
		if (!v[i].path || (edits[i].from && !v[i].from)) {
			paths_free(v, n);
			return -ENOMEM;
		}
	}
	*out = v;
	*count = n;
	return 0;
}

static void announce(struct cfgfs_live *l, const struct cfgfs_revision *rev, const char *author,
		     struct cfgfs_event_path *paths, size_t np)
{
	struct cfgfs_event ev = {.revision = rev->number, .time = rev->time,
				 .author = (char *)author, .paths = paths, .npaths = np};
	snprintf(ev.commit, sizeof(ev.commit), "%s", rev->commit);
	if (ev.time == 0)
		ev.time = (int64_t)time(NULL);
	if (l->events && cfgfs_events_append(l->events, &ev) < 0)
		cfgfs_log(l->log, CFGFS_ERROR, "events", "error", "cannot record a revision", NULL);
	if (!l->hooks)
		return;
	/* hooks match either name of a rename */
	const char **names = calloc(2 * np + 1, sizeof(*names));
	if (!names)
		return;
	size_t k = 0;
	for (size_t i = 0; i < np; i++) {
		names[k++] = paths[i].path;
		if (paths[i].from)
			names[k++] = paths[i].from;
	}
	struct cfgfs_hook_change c = {.revision = rev->number, .commit = rev->commit,
				      .previous_commit = rev->parent, .paths = names,
				      .npaths = k};
	cfgfs_hooks_notify(l->hooks, &c);
	free(names);
}

void live_committed(struct cfgfs_live *l, const struct cfgfs_revision *rev, const char *author,
		    const char *verb, const struct cfgfs_edit *edits, size_t n)
{
	pthread_mutex_lock(&l->stats_lock);
	l->stats.saves++;
	l->stats.head = *rev;
	pthread_mutex_unlock(&l->stats_lock);
	struct cfgfs_event_path *paths = NULL;
	size_t np = 0;
	if (changed_paths(l, rev->number, verb, edits, n, &paths, &np) < 0) {
		cfgfs_log(l->log, CFGFS_ERROR, "events", "error", "cannot list a revision's changes",
			  NULL);
		return;
	}
	announce(l, rev, author, paths, np);
	paths_free(paths, np);
}

/* The hook runner gave up on a hook with on_failure: revert. */
static int revert_for_hook(void *arg, const struct cfgfs_hook *hook, const char *good_commit,
			   const char *const *paths, size_t npaths, uint64_t *new_revision,
			   char new_commit[CFGFS_HOOKS_COMMIT_LEN])
{
	struct cfgfs_live *l = arg;
	uint64_t n;
	int rc = cfgfs_store_revision_of(l->store, good_commit, &n);
	if (rc < 0)
		return rc;
	char why[256];
	snprintf(why, sizeof(why), "hook %s failed", hook->match);
	struct cfgfs_revision rev;
	rc = cfgfs_live_restore(l, n, paths, npaths, why, &rev);
	if (rc < 0)
		return rc;
	*new_revision = rev.number;
	snprintf(new_commit, CFGFS_HOOKS_COMMIT_LEN, "%s", rev.commit);
	return 0;
}

int live_feed_start(struct cfgfs_live *l)
{
	/* replay the revisions made before this mount, so a reader can ask
	 * for everything after any N */
	struct cfgfs_revision head;
	cfgfs_store_head(l->store, &head);
	for (uint64_t r = 1; l->changes && r <= head.number; r++) {
		struct cfgfs_event_path *paths = NULL;
		size_t np = 0;
		struct cfgfs_revision rev = {.number = r};
		char author[64] = "";
		if (cfgfs_store_revision_info(l->store, r, &rev, author, sizeof(author)) < 0 ||
		    l->changes(l->changes_arg, r, &paths, &np) < 0)
			return -EIO;
		struct cfgfs_event ev = {.revision = r, .time = rev.time, .author = author,
					 .paths = paths, .npaths = np};
		snprintf(ev.commit, sizeof(ev.commit), "%s", rev.commit);
		int rc = cfgfs_events_append(l->events, &ev);
		paths_free(paths, np);
		if (rc < 0)
			return rc;
	}
	return cfgfs_hooks_start(&l->hooks, l->policy, l->cfg->mountpoint, l->log, revert_for_hook,
				 l);
}

size_t cfgfs_live_hook_states(struct cfgfs_live *l, struct cfgfs_hook_state *out, size_t max)
{
	return l->hooks ? cfgfs_hooks_states(l->hooks, out, max) : 0;
}

static uint64_t dir_size(int dfd, int depth)
{
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return 0;
	}
	uint64_t total = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode) && depth < 8) {
			int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (sub >= 0)
				total += dir_size(sub, depth + 1);
		} else if (S_ISREG(st.st_mode)) {
			total += (uint64_t)st.st_blocks * 512;
		}
	}
	closedir(d);
	return total;
}

int cfgfs_live_metrics_text(struct cfgfs_live *l, uint64_t events_readers, char **out,
			    size_t *len)
{
	struct cfgfs_live_stats s;
	cfgfs_live_stats(l, &s);
	struct cfgfs_hook_state states[64];
	size_t nh = cfgfs_live_hook_states(l, states, 64);
	struct cfgfs_metrics_input in = {
		.saves_committed = s.saves,
		.commit_latency = &l->commit_latency,
		.hooks = states,
		.nhooks = nh < 64 ? nh : 64,
		.head_revision = s.head.number,
		.events_readers = events_readers,
	};
	in.saves_rejected[CFGFS_REJECT_SYNTAX] = s.rejected_syntax;
	in.saves_rejected[CFGFS_REJECT_SIZE] = s.rejected_size;
	in.saves_rejected[CFGFS_REJECT_SCHEMA] = s.rejected_schema;
	in.saves_rejected[CFGFS_REJECT_CHECK] = s.rejected_check;
	char *objects = NULL;
	if (asprintf(&objects, "%s/objects", l->cfg->gitdir) >= 0) {
		int fd = open(objects, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0)
			in.store_size_bytes = dir_size(fd, 0);
		free(objects);
	}
	return cfgfs_metrics_render(out, len, &in);
}
