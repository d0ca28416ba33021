/*
 * store_edit.c — turn a list of edits into a new tree: blobs, git tree
 * updates, and the meta blob of every directory an edit touched.
 * Removals are applied in a first pass and insertions in a second, since
 * libgit2 cannot turn a blob into a tree (or back) in one update.
 */
#include "backend/store_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct dirmeta {
	char *dir; /* "" = root */
	struct cfgfs_meta_dir md;
	bool dropped; /* the directory is removed by this batch */
};

struct editor {
	git_repository *repo;
	git_tree *base;
	git_tree_update *removes, *upserts;
	size_t nremoves, nupserts, capupserts;
	char **owned; /* path strings the updates point at */
	size_t nowned, capowned;
	struct dirmeta *dirs;
	size_t ndirs, capdirs;
	char **removed; /* paths this batch removes: their old meta is gone */
	size_t nremoved, capremoved;
};

static int grow(void **v, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return 0;
	size_t c = *cap ? *cap : 16;
	while (c < need)
		c *= 2;
	void *nv = realloc(*v, c * size);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = c;
	return 0;
}

static char *own(struct editor *ed, char *s)
{
	if (!s || grow((void **)&ed->owned, &ed->capowned, ed->nowned + 1, sizeof(*ed->owned)) < 0) {
		free(s);
		return NULL;
	}
	ed->owned[ed->nowned++] = s;
	return s;
}

/* The next upsert slot, or NULL when out of memory. */
static git_tree_update *new_upsert(struct editor *ed)
{
	if (grow((void **)&ed->upserts, &ed->capupserts, ed->nupserts + 1,
		 sizeof(*ed->upserts)) < 0)
		return NULL;
	git_tree_update *u = &ed->upserts[ed->nupserts];
	memset(u, 0, sizeof(*u));
	return u;
}

static void split(const char *path, char **dir, const char **name)
{
	const char *slash = strrchr(path, '/');
	*dir = slash ? strndup(path, (size_t)(slash - path)) : strdup("");
	*name = slash ? slash + 1 : path;
}

static bool under(const char *path, const char *top);

static bool removed_here(const struct editor *ed, const char *dir)
{
	for (size_t i = 0; i < ed->nremoved; i++)
		if (under(dir, ed->removed[i]))
			return true;
	return false;
}

static struct dirmeta *dir_get(struct editor *ed, const char *dir, int *rc)
{
	for (size_t i = 0; i < ed->ndirs; i++)
		if (strcmp(ed->dirs[i].dir, dir) == 0) {
			if (ed->dirs[i].dropped) {
				/* removed earlier in this batch, made again: starts empty */
				cfgfs_meta_dir_free(&ed->dirs[i].md);
				ed->dirs[i].dropped = false;
			}
			return &ed->dirs[i];
		}
	if (grow((void **)&ed->dirs, &ed->capdirs, ed->ndirs + 1, sizeof(*ed->dirs)) < 0) {
		*rc = -ENOMEM;
		return NULL;
	}
	struct dirmeta *dm = &ed->dirs[ed->ndirs];
	memset(dm, 0, sizeof(*dm));
	dm->dir = strdup(dir);
	if (!dm->dir) {
		*rc = -ENOMEM;
		return NULL;
	}
	*rc = removed_here(ed, dir) ? 0 : store_meta_load(ed->repo, ed->base, dir, &dm->md);
	if (*rc < 0) {
		free(dm->dir);
		return NULL;
	}
	ed->ndirs++;
	return dm;
}

/* Give directory P a meta blob if the base tree has none for it. */
static int ensure_one(struct editor *ed, const char *p)
{
	bool has = false;
	if (ed->base && !removed_here(ed, p)) {
		char *blob = NULL;
		git_tree_entry *e = NULL;
		if (asprintf(&blob, "%s%s%s", p, p[0] ? "/" : "", CFGFS_META_NAME) < 0)
			return -ENOMEM;
		has = git_tree_entry_bypath(&e, ed->base, blob) == 0;
		git_tree_entry_free(e);
		free(blob);
	}
	int rc = 0;
	if (!has)
		(void)dir_get(ed, p, &rc);
	return rc;
}

/* Every directory from the root down to DIR holds a meta blob, also those
 * git creates implicitly for a path in a new directory. */
static int ensure_ancestors(struct editor *ed, const char *dir)
{
	char *p = strdup(dir);
	if (!p)
		return -ENOMEM;
	int rc = ensure_one(ed, "");
	for (char *slash = strchr(p, '/'); rc == 0 && slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		rc = ensure_one(ed, p);
		*slash = '/';
	}
	if (rc == 0 && p[0])
		rc = ensure_one(ed, p);
	free(p);
	return rc;
}

static bool under(const char *path, const char *top)
{
	size_t n = strlen(top);
	return strncmp(path, top, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static void drop_dirs_under(struct editor *ed, const char *top)
{
	for (size_t i = 0; i < ed->ndirs; i++)
		if (under(ed->dirs[i].dir, top))
			ed->dirs[i].dropped = true;
	char *copy = strdup(top);
	if (copy && grow((void **)&ed->removed, &ed->capremoved, ed->nremoved + 1,
			 sizeof(*ed->removed)) == 0)
		ed->removed[ed->nremoved++] = copy;
	else
		free(copy);
}

static git_filemode_t filemode_of(uint32_t mode)
{
	if (S_ISLNK(mode))
		return GIT_FILEMODE_LINK;
	if (S_ISDIR(mode))
		return GIT_FILEMODE_TREE;
	return (mode & 0111) ? GIT_FILEMODE_BLOB_EXECUTABLE : GIT_FILEMODE_BLOB;
}

static int set_entry_meta(struct editor *ed, const char *path, const struct cfgfs_meta *m)
{
	char *dir;
	const char *name;
	int rc = 0;
	split(path, &dir, &name);
	if (!dir)
		return -ENOMEM;
	rc = ensure_ancestors(ed, dir);
	struct dirmeta *dm = rc == 0 ? dir_get(ed, dir, &rc) : NULL;
	if (dm)
		rc = cfgfs_meta_set(&dm->md, name, m);
	free(dir);
	return rc;
}

static int drop_entry_meta(struct editor *ed, const char *path)
{
	char *dir;
	const char *name;
	int rc = 0;
	split(path, &dir, &name);
	if (!dir)
		return -ENOMEM;
	struct dirmeta *dm = dir_get(ed, dir, &rc);
	if (dm)
		cfgfs_meta_remove(&dm->md, name);
	free(dir);
	return rc;
}

static int edit_put(struct editor *ed, const struct cfgfs_edit *e, char *err, size_t errlen)
{
	if (S_ISDIR(e->meta.mode)) {
		int rc = ensure_ancestors(ed, e->path);
		struct dirmeta *dm = rc == 0 ? dir_get(ed, e->path, &rc) : NULL;
		return dm ? cfgfs_meta_set(&dm->md, ".", &e->meta) : rc;
	}
	git_tree_update *u = new_upsert(ed);
	if (!u)
		return -ENOMEM;
	if (git_blob_create_from_buffer(&u->id, ed->repo, e->data, e->len) < 0)
		return store_git_fail(err, errlen, "write a blob");
	u->action = GIT_TREE_UPDATE_UPSERT;
	u->filemode = filemode_of(e->meta.mode);
	u->path = own(ed, strdup(e->path));
	if (!u->path)
		return -ENOMEM;
	ed->nupserts++;
	return set_entry_meta(ed, e->path, &e->meta);
}

static int edit_remove(struct editor *ed, const char *path, bool keep_meta_dirs)
{
	git_tree_update *u = &ed->removes[ed->nremoves];
	u->action = GIT_TREE_UPDATE_REMOVE;
	u->path = own(ed, strdup(path));
	if (!u->path)
		return -ENOMEM;
	ed->nremoves++;
	if (!keep_meta_dirs)
		drop_dirs_under(ed, path);
	return drop_entry_meta(ed, path);
}

static int edit_move(struct editor *ed, const struct cfgfs_edit *e, char *err, size_t errlen)
{
	git_tree_entry *te = NULL;
	if (!ed->base || git_tree_entry_bypath(&te, ed->base, e->from) < 0) {
		snprintf(err, errlen, "rename: '%s' is not in the store", e->from);
		return -ENOENT;
	}
	git_filemode_t fm = git_tree_entry_filemode(te);
	git_tree_update *u = new_upsert(ed);
	if (!u)
		return -ENOMEM;
	git_oid_cpy(&u->id, git_tree_entry_id(te));
	git_tree_entry_free(te);
	u->action = GIT_TREE_UPDATE_UPSERT;
	u->filemode = fm;
	u->path = own(ed, strdup(e->path));
	if (!u->path)
		return -ENOMEM;
	ed->nupserts++;
	int rc = edit_remove(ed, e->from, false);
	if (rc < 0)
		return rc;
	if (fm == GIT_FILEMODE_TREE)
		return 0; /* a directory carries its own meta blobs */
	return set_entry_meta(ed, e->path, &e->meta);
}

static int edit_meta(struct editor *ed, const struct cfgfs_edit *e, char *err, size_t errlen)
{
	if (S_ISDIR(e->meta.mode)) {
		int rc = ensure_ancestors(ed, e->path);
		struct dirmeta *dm = rc == 0 ? dir_get(ed, e->path, &rc) : NULL;
		return dm ? cfgfs_meta_set(&dm->md, ".", &e->meta) : rc;
	}
	git_tree_entry *te = NULL;
	if (!ed->base || git_tree_entry_bypath(&te, ed->base, e->path) < 0) {
		snprintf(err, errlen, "'%s' is not in the store", e->path);
		return -ENOENT;
	}
	git_tree_update *u = new_upsert(ed);
	if (!u)
		return -ENOMEM;
	git_oid_cpy(&u->id, git_tree_entry_id(te));
	git_tree_entry_free(te);
	u->action = GIT_TREE_UPDATE_UPSERT;
	u->filemode = filemode_of(e->meta.mode);
	u->path = own(ed, strdup(e->path));
	if (!u->path)
		return -ENOMEM;
	ed->nupserts++;
	return set_entry_meta(ed, e->path, &e->meta);
}

static int add_meta_blobs(struct editor *ed, char *err, size_t errlen)
{
	for (size_t i = 0; i < ed->ndirs; i++) {
		struct dirmeta *dm = &ed->dirs[i];
		if (dm->dropped)
			continue;
		if (!cfgfs_meta_get(&dm->md, ".")) {
			/* a directory first seen here (written by plain git, or made
			 * implicitly): describe it with ordinary defaults */
			struct cfgfs_meta d = {S_IFDIR | 0755, 0, 0, 0, 0};
			int rc = cfgfs_meta_set(&dm->md, ".", &d);
			if (rc < 0)
				return rc;
		}
		char *buf = NULL;
		size_t len = 0;
		int rc = cfgfs_meta_format(&buf, &len, &dm->md);
		if (rc < 0)
			return rc;
		git_tree_update *u = new_upsert(ed);
		if (!u) {
			free(buf);
			return -ENOMEM;
		}
		rc = git_blob_create_from_buffer(&u->id, ed->repo, buf, len);
		free(buf);
		if (rc < 0)
			return store_git_fail(err, errlen, "write a meta blob");
		u->action = GIT_TREE_UPDATE_UPSERT;
		u->filemode = GIT_FILEMODE_BLOB;
		if (asprintf(&buf, "%s%s%s", dm->dir, dm->dir[0] ? "/" : "", CFGFS_META_NAME) < 0)
			return -ENOMEM;
		u->path = own(ed, buf);
		ed->nupserts++;
	}
	return 0;
}

static int build(struct editor *ed, const struct cfgfs_edit *edits, size_t n, git_oid *out,
		 char *err, size_t errlen)
{
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct cfgfs_edit *e = &edits[i];
		switch (e->kind) {
		case CFGFS_EDIT_PUT:
			rc = edit_put(ed, e, err, errlen);
			break;
		case CFGFS_EDIT_REMOVE:
			rc = edit_remove(ed, e->path, false);
			break;
		case CFGFS_EDIT_MOVE:
			rc = edit_move(ed, e, err, errlen);
			break;
		case CFGFS_EDIT_META:
			rc = edit_meta(ed, e, err, errlen);
			break;
		}
	}
	if (rc == 0)
		rc = add_meta_blobs(ed, err, errlen);
	if (rc < 0)
		return rc;

	git_oid mid;
	git_tree *midtree = NULL;
	git_tree *start = ed->base;
	if (ed->nremoves > 0) {
		if (!ed->base)
			return -ENOENT;
		if (git_tree_create_updated(&mid, ed->repo, ed->base, ed->nremoves, ed->removes) <
			    0 ||
		    git_tree_lookup(&midtree, ed->repo, &mid) < 0)
			return store_git_fail(err, errlen, "remove entries from the tree");
		start = midtree;
	}
	if (ed->nupserts == 0) {
		git_oid_cpy(out, start ? git_tree_id(start) : &mid);
	} else if (git_tree_create_updated(out, ed->repo, start, ed->nupserts, ed->upserts) < 0) {
		rc = store_git_fail(err, errlen, "add entries to the tree");
	}
	git_tree_free(midtree);
	return rc;
}

int store_apply_edits(git_repository *repo, git_tree *base, const struct cfgfs_edit *edits,
		      size_t n, git_oid *out, char *err, size_t errlen)
{
	struct editor ed = {.repo = repo, .base = base};
	int rc = -ENOMEM;
	/* each edit makes at most two updates, one path and two meta dirs */
	ed.removes = calloc(n + 1, sizeof(*ed.removes));
	if (ed.removes)
		rc = build(&ed, edits, n, out, err, errlen);
	for (size_t i = 0; i < ed.nowned; i++)
		free(ed.owned[i]);
	for (size_t i = 0; ed.dirs && i < ed.ndirs; i++) {
		free(ed.dirs[i].dir);
		cfgfs_meta_dir_free(&ed.dirs[i].md);
	}
	for (size_t i = 0; i < ed.nremoved; i++)
		free(ed.removed[i]);
	free(ed.removed);
	free(ed.removes);
	free(ed.upserts);
	free(ed.owned);
	free(ed.dirs);
	return rc;
}
