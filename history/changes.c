/*
 * changes.c — what revision N changed, from a diff of its tree with N-1's.
 *
 * Blob deltas give creates, deletes, modifications and (exact) renames.
 * Mode, owner and mtime live in the meta blobs, so a changed meta blob is
 * compared line by line: each file whose effective meta differs and that no
 * blob delta already named is a "mode" change, and a meta blob that appears
 * or disappears with its directory is that directory's create or delete.
 * Callers hold h->lock.
 */
#include "history/history_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HIST_CHANGES_INITIAL 16
/* How the root directory is named in a change. */
#define HIST_ROOT_NAME "."

struct diff_ctx {
	struct cfgfs_history *h;
	uint64_t n;
	git_tree *old, *new; /* old is NULL for revision 1 */
	struct hist_changes *out;
};

const char *hist_op_name(enum hist_op op)
{
	switch (op) {
	case HIST_CREATE:
		return "create";
	case HIST_MODIFY:
		return "modify";
	case HIST_DELETE:
		return "delete";
	case HIST_RENAME:
		return "rename";
	case HIST_MODE:
		return "mode";
	}
	return "modify";
}

void hist_changes_clear(struct hist_changes *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].path);
		free(c->v[i].from);
	}
	free(c->v);
	memset(c, 0, sizeof(*c));
}

static int push(struct hist_changes *c, const char *path, const char *from, enum hist_op op,
                bool is_dir, bool version)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : HIST_CHANGES_INITIAL;
		struct hist_change *v = realloc(c->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		c->v = v;
		c->cap = cap;
	}
	struct hist_change *ch = &c->v[c->n];
	ch->path = strdup(path[0] ? path : HIST_ROOT_NAME);
	ch->from = from ? strdup(from[0] ? from : HIST_ROOT_NAME) : NULL;
	if (!ch->path || (from && !ch->from)) {
		free(ch->path);
		free(ch->from);
		return -ENOMEM;
	}
	ch->op = op;
	ch->is_dir = is_dir;
	ch->version = version;
	memset(&ch->id, 0, sizeof(ch->id));
	ch->filemode = 0;
	c->n++;
	return 0;
}

/* push() for a created or deleted blob, remembering what it held. */
static int push_blob(struct hist_changes *c, const git_diff_file *f, enum hist_op op)
{
	int rc = push(c, f->path, NULL, op, false, op == HIST_CREATE);
	if (rc == 0) {
		git_oid_cpy(&c->v[c->n - 1].id, &f->id);
		c->v[c->n - 1].filemode = f->mode;
	}
	return rc;
}

static int cmp_blob(const void *a, const void *b)
{
	const struct hist_change *x = *(struct hist_change *const *)a;
	const struct hist_change *y = *(struct hist_change *const *)b;
	int c = git_oid_cmp(&x->id, &y->id);
	return c ? c : (int)x->filemode - (int)y->filemode;
}

/* libgit2 pairs exact renames of regular files only: pair what is left (a
 * symlink moved, say) by blob and filemode, a delete with one create. */
static int pair_renames(struct hist_changes *c)
{
	struct hist_change **dels = calloc(c->n + 1, sizeof(*dels));
	size_t nd = 0, w = 0;
	if (!dels)
		return -ENOMEM;
	for (size_t i = 0; i < c->n; i++)
		if (c->v[i].op == HIST_DELETE && !c->v[i].is_dir)
			dels[nd++] = &c->v[i];
	qsort(dels, nd, sizeof(*dels), cmp_blob);
	for (size_t i = 0; nd > 0 && i < c->n; i++) {
		struct hist_change *cr = &c->v[i], *key = cr;
		if (cr->op != HIST_CREATE || cr->is_dir)
			continue;
		struct hist_change **hit = bsearch(&key, dels, nd, sizeof(*dels), cmp_blob);
		if (!hit)
			continue;
		/* take the first unpaired delete with this blob */
		while (hit > dels && cmp_blob(hit - 1, &key) == 0)
			hit--;
		while (hit < dels + nd && cmp_blob(hit, &key) == 0 && (*hit)->op != HIST_DELETE)
			hit++;
		if (hit == dels + nd || cmp_blob(hit, &key) != 0)
			continue;
		cr->op = HIST_RENAME;
		cr->from = (*hit)->path;
		(*hit)->path = NULL;
		(*hit)->op = HIST_RENAME; /* paired: dropped below */
	}
	free(dels);
	for (size_t i = 0; i < c->n; i++) {
		if (!c->v[i].path)
			continue;
		c->v[w++] = c->v[i];
	}
	c->n = w;
	return 0;
}

static int cmp_change(const void *a, const void *b)
{
	const struct hist_change *x = a, *y = b;
	return strcmp(x->path, y->path);
}

static bool reported(const struct hist_changes *c, size_t sorted, const char *path)
{
	struct hist_change key = {.path = (char *)path};
	return sorted > 0 && bsearch(&key, c->v, sorted, sizeof(*c->v), cmp_change) != NULL;
}

/* Whether PATH names a meta blob; *dir gets its directory (malloc'd). */
static int meta_dir_of(const char *path, char **dir)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	*dir = NULL;
	if (strcmp(base, CFGFS_META_NAME) != 0)
		return 0;
	*dir = slash ? strndup(path, (size_t)(slash - path)) : strdup("");
	return *dir ? 1 : -ENOMEM;
}

static bool is_dir_in(struct cfgfs_history *h, git_tree *root, const char *dir)
{
	git_tree *parent = NULL;
	const git_tree_entry *e = NULL;
	if (!root || hist_resolve(h, root, dir, &parent, &e) < 0)
		return false;
	bool yes = !e || git_tree_entry_type(e) == GIT_OBJECT_TREE;
	git_tree_free(parent);
	return yes;
}

static int subtree(struct cfgfs_history *h, git_tree *root, const char *dir, git_tree **out)
{
	git_tree *parent = NULL;
	const git_tree_entry *e = NULL;
	int rc = hist_resolve(h, root, dir, &parent, &e);
	if (rc < 0)
		return rc;
	if (!e) {
		*out = parent;
		return 0;
	}
	rc = git_tree_lookup(out, h->repo, git_tree_entry_id(e)) < 0 ? -EIO : 0;
	git_tree_free(parent);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

/* Names with a meta line in OLD's or NEW's meta blob, sorted (duplicates
 * adjacent). */
static int meta_names(struct cfgfs_history *h, git_tree *old, git_tree *new, char ***names,
                      size_t *count)
{
	const struct cfgfs_meta_dir *md = hist_meta_of(h, old);
	size_t n = 0;
	char **v = calloc(md->n + 1, sizeof(*v));
	int rc = -ENOMEM;

	if (!v)
		goto cleanup;
	/* the second hist_meta_of may evict the first: copy names in between */
	for (size_t i = 0; i < md->n; i++)
		if (!(v[n++] = strdup(md->v[i].name)))
			goto cleanup;
	md = hist_meta_of(h, new);
	char **grown = realloc(v, (n + md->n + 1) * sizeof(*v));
	if (!grown)
		goto cleanup;
	v = grown;
	for (size_t i = 0; i < md->n; i++)
		if (!(v[n++] = strdup(md->v[i].name)))
			goto cleanup;
	qsort(v, n, sizeof(*v), cmp_str);
	*names = v;
	*count = n;
	v = NULL;
	rc = 0;
cleanup:
	free_names(v, n);
	return rc;
}

static char *join(const char *dir, const char *name)
{
	char *p = NULL;
	if (asprintf(&p, "%s%s%s", dir, dir[0] ? "/" : "", name) < 0)
		return NULL;
	return p;
}

static bool owner_or_mode_differ(const struct cfgfs_meta *a, const struct cfgfs_meta *b)
{
	return a->mode != b->mode || a->uid != b->uid || a->gid != b->gid;
}

static bool meta_differ(const struct cfgfs_meta *a, const struct cfgfs_meta *b)
{
	return owner_or_mode_differ(a, b) || a->mtime_sec != b->mtime_sec ||
	       a->mtime_nsec != b->mtime_nsec;
}

/* One meta name of directory DIR present in both revisions: a "mode" change
 * when its effective meta differs and no blob delta named it. */
static int compare_entry(struct diff_ctx *d, size_t sorted, const char *dir, git_tree *ot,
                         git_tree *nt, const char *name)
{
	int64_t told = d->h->revs[d->n - 2].time, tnew = d->h->revs[d->n - 1].time;
	struct cfgfs_meta mo, mn;
	char *path = NULL;
	int rc = 0;

	if (strcmp(name, ".") == 0) {
		hist_effective_meta(d->h, ot, NULL, told, &mo);
		hist_effective_meta(d->h, nt, NULL, tnew, &mn);
		if (meta_differ(&mo, &mn) &&
		    !reported(d->out, sorted, dir[0] ? dir : HIST_ROOT_NAME))
			rc = push(d->out, dir, NULL, HIST_MODE, true, false);
		return rc;
	}
	const git_tree_entry *eo = git_tree_entry_byname(ot, name);
	const git_tree_entry *en = git_tree_entry_byname(nt, name);
	/* creates, deletes and directories are the blob deltas' business */
	if (!eo || !en || git_tree_entry_type(eo) != GIT_OBJECT_BLOB ||
	    git_tree_entry_type(en) != GIT_OBJECT_BLOB)
		return 0;
	path = join(dir, name);
	if (!path)
		return -ENOMEM;
	if (!reported(d->out, sorted, path)) {
		hist_effective_meta(d->h, ot, eo, told, &mo);
		hist_effective_meta(d->h, nt, en, tnew, &mn);
		if (meta_differ(&mo, &mn))
			rc = push(d->out, path, NULL, HIST_MODE, false,
			          owner_or_mode_differ(&mo, &mn));
	}
	free(path);
	return rc;
}

/* DIR's meta blob changed while DIR existed on both sides. */
static int compare_dir(struct diff_ctx *d, size_t sorted, const char *dir)
{
	git_tree *ot = NULL, *nt = NULL;
	char **names = NULL;
	size_t count = 0;
	int rc = subtree(d->h, d->old, dir, &ot);
	if (rc == 0)
		rc = subtree(d->h, d->new, dir, &nt);
	if (rc == 0)
		rc = meta_names(d->h, ot, nt, &names, &count);
	for (size_t i = 0; rc == 0 && i < count; i++)
		if (i == 0 || strcmp(names[i], names[i - 1]) != 0)
			rc = compare_entry(d, sorted, dir, ot, nt, names[i]);
	free_names(names, count);
	git_tree_free(nt);
	git_tree_free(ot);
	return rc;
}

/* A meta blob appeared (ADDED) or disappeared at DIR. */
static int meta_side(struct diff_ctx *d, size_t sorted, const char *dir, bool added)
{
	bool other = is_dir_in(d->h, added ? d->old : d->new, dir);
	if (other)
		return compare_dir(d, sorted, dir);
	if (!dir[0])
		return 0; /* the root always exists */
	return push(d->out, dir, NULL, added ? HIST_CREATE : HIST_DELETE, true, false);
}

static int meta_delta(struct diff_ctx *d, size_t sorted, const git_diff_delta *dl)
{
	char *od = NULL, *nd = NULL;
	int rc = 0;
	if (dl->status != GIT_DELTA_ADDED && (rc = meta_dir_of(dl->old_file.path, &od)) < 0)
		goto cleanup;
	if (dl->status != GIT_DELTA_DELETED && (rc = meta_dir_of(dl->new_file.path, &nd)) < 0)
		goto cleanup;
	switch (dl->status) {
	case GIT_DELTA_ADDED:
		rc = nd ? meta_side(d, sorted, nd, true) : 0;
		break;
	case GIT_DELTA_DELETED:
		rc = od ? meta_side(d, sorted, od, false) : 0;
		break;
	case GIT_DELTA_RENAMED:
		if (od && nd && !is_dir_in(d->h, d->old, nd) && !is_dir_in(d->h, d->new, od)) {
			rc = push(d->out, nd, od, HIST_RENAME, true, false);
			break;
		}
		rc = od ? meta_side(d, sorted, od, false) : 0;
		if (rc == 0 && nd)
			rc = meta_side(d, sorted, nd, true);
		break;
	default:
		rc = nd && od ? compare_dir(d, sorted, nd) : 0;
		break;
	}
cleanup:
	free(od);
	free(nd);
	return rc;
}

static bool is_meta_path(const char *path)
{
	const char *slash = strrchr(path, '/');
	return strcmp(slash ? slash + 1 : path, CFGFS_META_NAME) == 0;
}

/* A blob delta of a file or symlink (meta blobs are handled later). */
static int blob_delta(struct diff_ctx *d, const git_diff_delta *dl)
{
	bool om = dl->status != GIT_DELTA_ADDED && is_meta_path(dl->old_file.path);
	bool nm = dl->status != GIT_DELTA_DELETED && is_meta_path(dl->new_file.path);
	switch (dl->status) {
	case GIT_DELTA_ADDED:
		return nm ? 0 : push_blob(d->out, &dl->new_file, HIST_CREATE);
	case GIT_DELTA_DELETED:
		return om ? 0 : push_blob(d->out, &dl->old_file, HIST_DELETE);
	case GIT_DELTA_MODIFIED:
		if (nm)
			return 0;
		return push(d->out, dl->new_file.path, NULL,
		            git_oid_equal(&dl->old_file.id, &dl->new_file.id) ? HIST_MODE
		                                                              : HIST_MODIFY,
		            false, true);
	case GIT_DELTA_TYPECHANGE:
		return nm ? 0 : push(d->out, dl->new_file.path, NULL, HIST_MODIFY, false, true);
	case GIT_DELTA_RENAMED: {
		if (!om && !nm)
			return push(d->out, dl->new_file.path, dl->old_file.path, HIST_RENAME,
			            false, true);
		/* a meta blob paired with a file of the same bytes: two changes */
		int rc = om ? 0 : push(d->out, dl->old_file.path, NULL, HIST_DELETE, false, false);
		if (rc == 0 && !nm)
			rc = push(d->out, dl->new_file.path, NULL, HIST_CREATE, false, true);
		return rc;
	}
	default:
		return 0;
	}
}

static bool is_gitlink(const git_diff_delta *dl)
{
	return dl->old_file.mode == GIT_FILEMODE_COMMIT || dl->new_file.mode == GIT_FILEMODE_COMMIT;
}

static int walk_deltas(struct diff_ctx *d, git_diff *diff, bool renames)
{
	size_t nd = git_diff_num_deltas(diff);
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < nd; i++) {
		const git_diff_delta *dl = git_diff_get_delta(diff, i);
		if (!is_gitlink(dl))
			rc = blob_delta(d, dl);
	}
	if (rc == 0 && renames)
		rc = pair_renames(d->out);
	if (rc < 0)
		return rc;
	/* meta comparisons skip what a blob delta already named */
	size_t sorted = d->out->n;
	if (sorted > 1)
		qsort(d->out->v, sorted, sizeof(*d->out->v), cmp_change);
	for (size_t i = 0; rc == 0 && i < nd; i++) {
		const git_diff_delta *dl = git_diff_get_delta(diff, i);
		bool meta = (dl->status != GIT_DELTA_ADDED && is_meta_path(dl->old_file.path)) ||
		            (dl->status != GIT_DELTA_DELETED && is_meta_path(dl->new_file.path));
		if (meta && !is_gitlink(dl))
			rc = meta_delta(d, sorted, dl);
	}
	if (rc == 0 && d->out->n > 1)
		qsort(d->out->v, d->out->n, sizeof(*d->out->v), cmp_change);
	return rc;
}

int hist_changes_compute(struct cfgfs_history *h, uint64_t n, bool renames,
                         struct hist_changes *out)
{
	struct diff_ctx d = {.h = h, .n = n, .out = out};
	git_diff *diff = NULL;
	git_diff_options opts;
	git_diff_find_options find;
	int rc;

	memset(out, 0, sizeof(*out));
	if (n > 1 && (rc = hist_tree_at(h, n - 1, &d.old)) < 0)
		goto cleanup;
	if ((rc = hist_tree_at(h, n, &d.new)) < 0)
		goto cleanup;
	rc = -EIO;
	if (git_diff_options_init(&opts, GIT_DIFF_OPTIONS_VERSION) < 0)
		goto cleanup;
	opts.flags |= GIT_DIFF_INCLUDE_TYPECHANGE;
	if (git_diff_tree_to_tree(&diff, h->repo, d.old, d.new, &opts) < 0)
		goto cleanup;
	if (renames) {
		if (git_diff_find_options_init(&find, GIT_DIFF_FIND_OPTIONS_VERSION) < 0)
			goto cleanup;
		find.flags = GIT_DIFF_FIND_RENAMES | GIT_DIFF_FIND_EXACT_MATCH_ONLY;
		if (git_diff_find_similar(diff, &find) < 0)
			goto cleanup;
	}
	rc = walk_deltas(&d, diff, renames);
cleanup:
	if (rc < 0)
		hist_changes_clear(out);
	git_diff_free(diff);
	git_tree_free(d.new);
	git_tree_free(d.old);
	return rc;
}
