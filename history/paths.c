/*
 * paths.c — every path that ever existed, as a hash table of nodes with
 * their versions and children: the answers of cfgfs_history_versions and
 * the shape of .history/files/. Callers of the hist_ functions hold h->lock;
 * the cfgfs_history_ functions take it.
 */
#include "history/history_internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define HIST_TABLE_INITIAL 1024 /* slots; a power of two */
#define HIST_TABLE_LOAD_NUM 7   /* grow past 7/10 full */
#define HIST_TABLE_LOAD_DEN 10
#define HIST_VEC_INITIAL 4
#define FNV_OFFSET 2166136261u
#define FNV_PRIME 16777619u

static uint32_t hash_path(const char *s)
{
	uint32_t x = FNV_OFFSET;
	for (; *s; s++) {
		x ^= (unsigned char)*s;
		x *= FNV_PRIME;
	}
	return x;
}

static void node_free(struct hist_node *nd)
{
	if (!nd)
		return;
	free(nd->path);
	free(nd->revs);
	free(nd->kids);
	free(nd);
}

static struct hist_node *node_new(const char *path, uint32_t hash)
{
	struct hist_node *nd = calloc(1, sizeof(*nd));
	if (!nd)
		return NULL;
	nd->path = strdup(path);
	if (!nd->path) {
		free(nd);
		return NULL;
	}
	nd->hash = hash;
	return nd;
}

int hist_table_init(struct hist_table *t)
{
	memset(t, 0, sizeof(*t));
	t->slots = calloc(HIST_TABLE_INITIAL, sizeof(*t->slots));
	t->root = node_new("", hash_path(""));
	if (!t->slots || !t->root) {
		hist_table_free(t);
		return -ENOMEM;
	}
	t->cap = HIST_TABLE_INITIAL;
	t->root->kinds = CFGFS_HIST_WAS_DIR;
	return 0;
}

void hist_table_free(struct hist_table *t)
{
	for (size_t i = 0; t->slots && i < t->cap; i++)
		node_free(t->slots[i]);
	free(t->slots);
	node_free(t->root);
	memset(t, 0, sizeof(*t));
}

struct hist_node *hist_table_find(const struct hist_table *t, const char *path)
{
	if (!path[0])
		return t->root;
	uint32_t hv = hash_path(path);
	for (size_t i = hv & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
		struct hist_node *nd = t->slots[i];
		if (!nd)
			return NULL;
		if (nd->hash == hv && strcmp(nd->path, path) == 0)
			return nd;
	}
}

static int table_grow(struct hist_table *t)
{
	size_t cap = t->cap * 2;
	struct hist_node **slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < t->cap; i++) {
		struct hist_node *nd = t->slots[i];
		if (!nd)
			continue;
		size_t j = nd->hash & (cap - 1);
		while (slots[j])
			j = (j + 1) & (cap - 1);
		slots[j] = nd;
	}
	free(t->slots);
	t->slots = slots;
	t->cap = cap;
	return 0;
}

static int grow_vec(void **v, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return 0;
	size_t nc = *cap ? *cap * 2 : HIST_VEC_INITIAL;
	void *nv = realloc(*v, nc * size);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = nc;
	return 0;
}

static int add_kid(struct hist_node *parent, struct hist_node *kid)
{
	int rc =
	    grow_vec((void **)&parent->kids, &parent->kidcap, parent->nkids, sizeof(*parent->kids));
	if (rc == 0)
		parent->kids[parent->nkids++] = kid;
	return rc;
}

/* The node of PATH, created with its parents (as directories first seen at
 * revision N) when missing. */
static int node_get(struct hist_table *t, const char *path, uint64_t n, struct hist_node **out)
{
	struct hist_node *nd = hist_table_find(t, path), *parent = NULL;
	int rc;
	if (nd) {
		*out = nd;
		return 0;
	}
	const char *slash = strrchr(path, '/');
	if (slash) {
		char *dir = strndup(path, (size_t)(slash - path));
		if (!dir)
			return -ENOMEM;
		rc = node_get(t, dir, n, &parent);
		free(dir);
		if (rc < 0)
			return rc;
	} else {
		parent = t->root;
	}
	parent->kinds |= CFGFS_HIST_WAS_DIR;
	if (!parent->dir_rev && parent != t->root)
		parent->dir_rev = n;
	if ((t->count + 1) * HIST_TABLE_LOAD_DEN > t->cap * HIST_TABLE_LOAD_NUM &&
	    (rc = table_grow(t)) < 0)
		return rc;
	uint32_t hv = hash_path(path);
	nd = node_new(path, hv);
	if (!nd)
		return -ENOMEM;
	rc = add_kid(parent, nd);
	if (rc < 0) {
		node_free(nd);
		return rc;
	}
	size_t i = hv & (t->cap - 1);
	while (t->slots[i])
		i = (i + 1) & (t->cap - 1);
	t->slots[i] = nd;
	t->count++;
	*out = nd;
	return 0;
}

int hist_paths_add_version(struct hist_table *t, const char *path, uint64_t n)
{
	struct hist_node *nd = NULL;
	int rc = node_get(t, path, n, &nd);
	if (rc < 0)
		return rc;
	nd->kinds |= CFGFS_HIST_WAS_FILE;
	if (nd->nrevs > 0 && nd->revs[nd->nrevs - 1] >= n)
		return 0;
	rc = grow_vec((void **)&nd->revs, &nd->revcap, nd->nrevs, sizeof(*nd->revs));
	if (rc == 0)
		nd->revs[nd->nrevs++] = n;
	return rc;
}

int hist_paths_add_dir(struct hist_table *t, const char *path, uint64_t n)
{
	struct hist_node *nd = NULL;
	int rc = node_get(t, path, n, &nd);
	if (rc < 0)
		return rc;
	nd->kinds |= CFGFS_HIST_WAS_DIR;
	if (!nd->dir_rev && nd != t->root)
		nd->dir_rev = n;
	return 0;
}

int cfgfs_history_versions(struct cfgfs_history *h, const char *path, uint64_t **revs, size_t *n)
{
	int rc = -ENOENT;
	*revs = NULL;
	*n = 0;
	pthread_mutex_lock(&h->lock);
	const struct hist_node *nd = hist_table_find(&h->paths, path);
	if (nd && (nd->kinds & CFGFS_HIST_WAS_FILE)) {
		rc = -ENOMEM;
		*revs = malloc((nd->nrevs ? nd->nrevs : 1) * sizeof(**revs));
		if (*revs) {
			memcpy(*revs, nd->revs, nd->nrevs * sizeof(**revs));
			*n = nd->nrevs;
			rc = 0;
		}
	}
	pthread_mutex_unlock(&h->lock);
	return rc;
}

unsigned cfgfs_history_files_kind(struct cfgfs_history *h, const char *path)
{
	pthread_mutex_lock(&h->lock);
	const struct hist_node *nd = hist_table_find(&h->paths, path);
	unsigned kinds = nd ? nd->kinds : 0;
	pthread_mutex_unlock(&h->lock);
	return kinds;
}

struct name_type {
	char *name;
	unsigned char type;
};

static int cmp_name_type(const void *a, const void *b)
{
	return strcmp(((const struct name_type *)a)->name, ((const struct name_type *)b)->name);
}

static int collect_kids(const struct hist_node *nd, struct name_type **out, size_t *count)
{
	struct name_type *v = calloc(nd->nkids + 1, sizeof(*v));
	size_t n = 0;
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < nd->nkids; i++) {
		const struct hist_node *k = nd->kids[i];
		const char *slash = strrchr(k->path, '/');
		v[n].name = strdup(slash ? slash + 1 : k->path);
		if (!v[n].name) {
			for (size_t j = 0; j < n; j++)
				free(v[j].name);
			free(v);
			return -ENOMEM;
		}
		v[n++].type = (k->kinds & CFGFS_HIST_WAS_DIR) ? DT_DIR : DT_REG;
	}
	qsort(v, n, sizeof(*v), cmp_name_type);
	*out = v;
	*count = n;
	return 0;
}

int cfgfs_history_files_list(struct cfgfs_history *h, const char *dir, cfgfs_hist_list_fn cb,
                             void *arg)
{
	struct name_type *v = NULL;
	size_t n = 0;
	int rc;

	pthread_mutex_lock(&h->lock);
	const struct hist_node *nd = hist_table_find(&h->paths, dir);
	if (!nd)
		rc = -ENOENT;
	else if (!(nd->kinds & CFGFS_HIST_WAS_DIR))
		rc = -ENOTDIR;
	else
		rc = collect_kids(nd, &v, &n);
	pthread_mutex_unlock(&h->lock);

	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = cb(arg, v[i].name, v[i].type);
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
	return rc;
}
