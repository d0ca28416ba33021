/*
 * repack.c — libgit2 has no gc: pack the loose objects commits leave behind.
 *
 * The objects reachable from HEAD go into one new pack, except those
 * reachable from the commit the previous repack packed (recorded in
 * GITDIR/cfgfs-packed; they are in a pack already), so each repack writes
 * only what is new. Then every loose object that the new pack holds is
 * removed, and nothing else: an object the writer adds meanwhile is not in
 * the pack and stays loose, and an object it finds present and reuses is
 * in the pack, which libgit2 finds after rescanning objects/pack. Empty
 * fan-out directories are left, since the writer may be creating a file in
 * one. Loose objects that HEAD does not reach stay loose (git gc's job).
 *
 * Uses its own repository handle, never h->repo, and only h->repack_lock.
 */
#include "history/history_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <git2/sys/odb_backend.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REPACK_MARK_NAME "cfgfs-packed"
#define REPACK_TMP_SUFFIX ".tmp"
#define REPACK_FANOUT 256
#define REPACK_FANOUT_HEX 2

typedef int (*loose_fn)(void *arg, const char *file, const git_oid *id);

/* Call FN for every loose object file under OBJECTS ("GITDIR/objects"). */
static int each_loose(const char *objects, loose_fn fn, void *arg)
{
	int rc = 0;
	for (int i = 0; rc == 0 && i < REPACK_FANOUT; i++) {
		char dir[PATH_MAX];
		if (snprintf(dir, sizeof(dir), "%s/%02x", objects, i) >= (int)sizeof(dir))
			return -ENAMETOOLONG;
		DIR *d = opendir(dir);
		if (!d) {
			if (errno == ENOENT)
				continue;
			return -errno;
		}
		struct dirent *de;
		while (rc == 0 && (de = readdir(d)) != NULL) {
			char hex[GIT_OID_HEXSZ + 1], file[PATH_MAX];
			git_oid id;
			if (strlen(de->d_name) != GIT_OID_HEXSZ - REPACK_FANOUT_HEX)
				continue;
			snprintf(hex, sizeof(hex), "%02x%s", i, de->d_name);
			if (git_oid_fromstr(&id, hex) < 0)
				continue; /* a temporary file, not an object */
			if (snprintf(file, sizeof(file), "%s/%s", dir, de->d_name) >=
			    (int)sizeof(file)) {
				rc = -ENAMETOOLONG;
				break;
			}
			rc = fn(arg, file, &id);
		}
		closedir(d);
	}
	return rc;
}

static int count_one(void *arg, const char *file, const git_oid *id)
{
	(void)file;
	(void)id;
	(*(size_t *)arg)++;
	return 0;
}

struct prune {
	git_odb *pack; /* the new pack alone */
	size_t removed;
};

static int prune_one(void *arg, const char *file, const git_oid *id)
{
	struct prune *p = arg;
	if (!git_odb_exists(p->pack, id))
		return 0;
	if (unlink(file) < 0)
		return errno == ENOENT ? 0 : -errno;
	p->removed++;
	return 0;
}

/* The commit the last repack packed, if it is still in the store. */
static bool read_mark(const char *path, git_odb *odb, git_oid *out)
{
	char hex[GIT_OID_HEXSZ + 2] = {0};
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	bool ok = fgets(hex, sizeof(hex), f) != NULL;
	fclose(f);
	hex[strcspn(hex, "\n")] = '\0';
	return ok && git_oid_fromstr(out, hex) == 0 && git_odb_exists(odb, out);
}

static int write_mark(const char *path, const git_oid *id)
{
	char hex[GIT_OID_HEXSZ + 1], *tmp = NULL;
	int rc = 0;
	if (asprintf(&tmp, "%s%s", path, REPACK_TMP_SUFFIX) < 0)
		return -ENOMEM;
	git_oid_tostr(hex, sizeof(hex), id);
	FILE *f = fopen(tmp, "we");
	if (!f) {
		rc = -errno;
		goto cleanup;
	}
	if (fprintf(f, "%s\n", hex) < 0)
		rc = -EIO;
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0)
		unlink(tmp);
cleanup:
	free(tmp);
	return rc;
}

/* An object database that holds the pack NAME only. */
static int open_pack(const char *gitdir, const char *name, git_odb **out)
{
	git_odb_backend *be = NULL;
	char *idx = NULL;
	int rc = -EIO;
	*out = NULL;
	if (asprintf(&idx, "%sobjects/pack/pack-%s.idx", gitdir, name) < 0)
		return -ENOMEM;
	if (git_odb_new(out) < 0 || git_odb_backend_one_pack(&be, idx) < 0)
		goto cleanup;
	if (git_odb_add_backend(*out, be, 1) < 0) {
		be->free(be);
		goto cleanup;
	}
	rc = 0;
cleanup:
	if (rc < 0) {
		git_odb_free(*out);
		*out = NULL;
	}
	free(idx);
	return rc;
}

/* Write the pack of what HEAD reaches beyond the marked commit. *name is
 * NULL when there was nothing to pack. */
static int build_pack(git_repository *repo, const git_oid *head, const char *mark_path, char **name)
{
	git_revwalk *walk = NULL;
	git_packbuilder *pb = NULL;
	git_odb *odb = NULL;
	git_oid mark;
	int rc = -EIO;

	*name = NULL;
	if (git_repository_odb(&odb, repo) < 0 || git_revwalk_new(&walk, repo) < 0 ||
	    git_revwalk_push(walk, head) < 0)
		goto cleanup;
	if (read_mark(mark_path, odb, &mark) && git_revwalk_hide(walk, &mark) < 0)
		goto cleanup;
	if (git_packbuilder_new(&pb, repo) < 0 || git_packbuilder_insert_walk(pb, walk) < 0)
		goto cleanup;
	rc = 0;
	if (git_packbuilder_object_count(pb) == 0)
		goto cleanup;
	if (git_packbuilder_write(pb, NULL, 0, NULL, NULL) < 0) {
		rc = -EIO;
		goto cleanup;
	}
	*name = strdup(git_packbuilder_name(pb));
	if (!*name)
		rc = -ENOMEM;
cleanup:
	git_packbuilder_free(pb);
	git_revwalk_free(walk);
	git_odb_free(odb);
	return rc;
}

static int repack_locked(struct cfgfs_history *h, size_t loose_threshold)
{
	git_repository *repo = NULL;
	git_odb *pack = NULL;
	char *objects = NULL, *mark_path = NULL, *name = NULL;
	struct prune p = {0};
	size_t loose = 0;
	git_oid head;
	int rc = -ENOMEM;

	if (asprintf(&objects, "%sobjects", h->gitdir) < 0) {
		objects = NULL;
		goto cleanup;
	}
	if (asprintf(&mark_path, "%s%s", h->gitdir, REPACK_MARK_NAME) < 0) {
		mark_path = NULL;
		goto cleanup;
	}
	rc = each_loose(objects, count_one, &loose);
	if (rc < 0 || loose <= loose_threshold)
		goto cleanup;
	rc = -EIO;
	if (git_repository_open_ext(&repo, h->gitdir, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) < 0)
		goto cleanup;
	if (git_reference_name_to_id(&head, repo, "HEAD") < 0) {
		rc = 0; /* nothing committed, nothing reachable */
		goto cleanup;
	}
	rc = build_pack(repo, &head, mark_path, &name);
	if (rc < 0 || !name)
		goto cleanup;
	rc = open_pack(h->gitdir, name, &pack);
	if (rc < 0)
		goto cleanup;
	p.pack = pack;
	rc = each_loose(objects, prune_one, &p);
	/* the mark only saves work next time: a failure to write it is harmless */
	if (rc == 0)
		(void)write_mark(mark_path, &head);
cleanup:
	git_odb_free(pack);
	git_repository_free(repo);
	free(name);
	free(mark_path);
	free(objects);
	if (rc < 0)
		return rc;
	return p.removed > INT_MAX ? INT_MAX : (int)p.removed;
}

int cfgfs_history_repack(struct cfgfs_history *h, size_t loose_threshold)
{
	pthread_mutex_lock(&h->repack_lock);
	int rc = repack_locked(h, loose_threshold);
	pthread_mutex_unlock(&h->repack_lock);
	return rc;
}
