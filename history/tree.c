/*
 * tree.c — paths inside one revision's tree, and the meta blobs that give
 * their modes and owners. Callers hold h->lock.
 */
#include "history/history_internal.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

/* Directory modes for git entries that have no meta line (plain git). */
#define HIST_DEFAULT_DIR_MODE 0755
#define HIST_DEFAULT_FILE_MODE 0644
#define HIST_DEFAULT_EXEC_MODE 0755
#define HIST_DEFAULT_LINK_MODE 0777
#define HIST_PERM_BITS 07777

static const struct cfgfs_meta_dir EMPTY_META;

int hist_tree_at(struct cfgfs_history *h, uint64_t n, git_tree **out)
{
	*out = NULL;
	if (n == 0 || n > h->nrevs)
		return -ENOENT;
	return git_tree_lookup(out, h->repo, &h->revs[n - 1].tree) < 0 ? -EIO : 0;
}

static bool hidden_name(const char *name)
{
	return strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
	       strcmp(name, CFGFS_META_NAME) == 0;
}

int hist_resolve(struct cfgfs_history *h, git_tree *root, const char *path, git_tree **parent_out,
                 const git_tree_entry **entry_out)
{
	git_tree *cur = NULL;
	const git_tree_entry *e = NULL;
	char name[NAME_MAX + 1];
	int rc = 0;

	*parent_out = NULL;
	*entry_out = NULL;
	if (git_tree_dup(&cur, root) < 0)
		return -EIO;
	for (const char *p = path; *p;) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		if (len == 0) {
			p++;
			continue;
		}
		if (e) {
			git_tree *next = NULL;
			if (git_tree_entry_type(e) != GIT_OBJECT_TREE) {
				rc = -ENOTDIR;
				goto cleanup;
			}
			if (git_tree_lookup(&next, h->repo, git_tree_entry_id(e)) < 0) {
				rc = -EIO;
				goto cleanup;
			}
			git_tree_free(cur);
			cur = next;
			e = NULL;
		}
		if (len > NAME_MAX) {
			rc = -ENOENT;
			goto cleanup;
		}
		memcpy(name, p, len);
		name[len] = '\0';
		p += len;
		if (hidden_name(name)) {
			rc = -ENOENT;
			goto cleanup;
		}
		e = git_tree_entry_byname(cur, name);
		if (!e || git_tree_entry_filemode(e) == GIT_FILEMODE_COMMIT) {
			rc = -ENOENT;
			goto cleanup;
		}
	}
	*parent_out = cur;
	*entry_out = e;
	cur = NULL;
cleanup:
	git_tree_free(cur);
	return rc;
}

void hist_meta_cache_clear(struct cfgfs_history *h)
{
	for (size_t i = 0; i < HIST_META_CACHE_SLOTS; i++) {
		struct hist_meta_slot *s = &h->meta_cache[i];
		if (s->used)
			cfgfs_meta_dir_free(&s->md);
		s->used = false;
	}
}

static size_t slot_of(const git_oid *id)
{
	return ((size_t)id->id[0] | (size_t)id->id[1] << 8) % HIST_META_CACHE_SLOTS;
}

const struct cfgfs_meta_dir *hist_meta_of(struct cfgfs_history *h, const git_tree *tree)
{
	const git_tree_entry *e = git_tree_entry_byname(tree, CFGFS_META_NAME);
	if (!e || git_tree_entry_type(e) != GIT_OBJECT_BLOB)
		return &EMPTY_META;
	const git_oid *id = git_tree_entry_id(e);
	struct hist_meta_slot *s = &h->meta_cache[slot_of(id)];
	if (s->used && git_oid_equal(&s->id, id))
		return &s->md;
	if (s->used)
		cfgfs_meta_dir_free(&s->md);
	s->used = false;

	git_blob *b = NULL;
	if (git_blob_lookup(&b, h->repo, id) < 0)
		return &EMPTY_META;
	/* a malformed blob parses as empty: the defaults apply */
	int rc = cfgfs_meta_parse(&s->md, git_blob_rawcontent(b), (size_t)git_blob_rawsize(b));
	git_blob_free(b);
	if (rc < 0)
		memset(&s->md, 0, sizeof(s->md));
	git_oid_cpy(&s->id, id);
	s->used = true;
	return &s->md;
}

static uint32_t type_bits(git_filemode_t fm)
{
	switch (fm) {
	case GIT_FILEMODE_TREE:
		return S_IFDIR;
	case GIT_FILEMODE_LINK:
		return S_IFLNK;
	default:
		return S_IFREG;
	}
}

static uint32_t default_perm(git_filemode_t fm)
{
	switch (fm) {
	case GIT_FILEMODE_TREE:
		return HIST_DEFAULT_DIR_MODE;
	case GIT_FILEMODE_LINK:
		return HIST_DEFAULT_LINK_MODE;
	case GIT_FILEMODE_BLOB_EXECUTABLE:
		return HIST_DEFAULT_EXEC_MODE;
	default:
		return HIST_DEFAULT_FILE_MODE;
	}
}

void hist_effective_meta(struct cfgfs_history *h, const git_tree *dir, const git_tree_entry *e,
                         int64_t commit_time, struct cfgfs_meta *out)
{
	git_filemode_t fm = e ? git_tree_entry_filemode(e) : GIT_FILEMODE_TREE;
	const struct cfgfs_meta *m = NULL;
	git_tree *sub = NULL;

	memset(out, 0, sizeof(*out));
	out->mode = default_perm(fm);
	out->mtime_sec = commit_time;
	if (!e) {
		m = cfgfs_meta_get(hist_meta_of(h, dir), ".");
	} else if (fm == GIT_FILEMODE_TREE) {
		/* a directory describes itself, in its own meta blob */
		if (git_tree_lookup(&sub, h->repo, git_tree_entry_id(e)) == 0)
			m = cfgfs_meta_get(hist_meta_of(h, sub), ".");
	} else {
		m = cfgfs_meta_get(hist_meta_of(h, dir), git_tree_entry_name(e));
	}
	if (m)
		*out = *m;
	/* git decides the type; the meta only its permission bits */
	out->mode = type_bits(fm) | (out->mode & HIST_PERM_BITS);
	git_tree_free(sub);
}
