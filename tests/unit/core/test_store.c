/*
 * test_store.c — backend/store over a bare repository in a scratch
 * directory, checked through the store's own readers and through plain git
 * (system()): PUT of files, symlinks and empty directories, META, MOVE and
 * REMOVE of files and directories, no-op edits, revision numbers, reads at
 * a revision, whole-tree walks, rollback commits, a branch moved by an
 * outside git (compare-and-swap), imports of a directory tree, and a
 * strict fsck at the end.
 */
#include "core_test.h"

#include <stdint.h>
#include <sys/time.h>

#include "backend/store.h"

#define AUTHOR "alice"
#define EMAIL "alice@example.org"
#define ERR_LEN 512
#define OUT_LEN 8192
#define MAX_ENTS 64

#define F(perm) (S_IFREG | (perm))
#define D(perm) (S_IFDIR | (perm))
#define L (S_IFLNK | 0777)

static char g_dir[256];
static char g_git[512];  /* DIR/store.git */
static char g_git2[512]; /* DIR/import.git */

static struct cfgfs_meta mk(uint32_t mode, uint32_t uid, uint32_t gid, int64_t sec, int32_t nsec)
{
	struct cfgfs_meta m = {mode, uid, gid, sec, nsec};
	return m;
}

static bool meta_eq(const struct cfgfs_meta *a, const struct cfgfs_meta *b)
{
	return a->mode == b->mode && a->uid == b->uid && a->gid == b->gid &&
	       a->mtime_sec == b->mtime_sec && a->mtime_nsec == b->mtime_nsec;
}

#define CHECK_META(got, want)                                                                      \
	do {                                                                                       \
		struct cfgfs_meta g__ = (got), w__ = (want);                                       \
		if (!meta_eq(&g__, &w__)) {                                                        \
			printf("FAIL %s:%d: meta %s = {%o %u %u %lld %d}, want {%o %u %u %lld "    \
			       "%d}\n",                                                            \
			       __FILE__, __LINE__, #got, g__.mode, g__.uid, g__.gid,               \
			       (long long)g__.mtime_sec, g__.mtime_nsec, w__.mode, w__.uid,        \
			       w__.gid, (long long)w__.mtime_sec, w__.mtime_nsec);                  \
			c_failures++;                                                              \
		}                                                                                  \
	} while (0)

static struct cfgfs_edit put(const char *path, const char *data, struct cfgfs_meta m)
{
	struct cfgfs_edit e = {.kind = CFGFS_EDIT_PUT, .path = path, .data = data,
			       .len = data ? strlen(data) : 0, .meta = m};
	return e;
}

static struct cfgfs_edit edit(enum cfgfs_edit_kind kind, const char *path, const char *from,
			      struct cfgfs_meta m)
{
	struct cfgfs_edit e = {.kind = kind, .path = path, .from = from, .meta = m};
	return e;
}

/* One commit; returns out.number (0 for none), -1 on error. */
static long long commit(struct cfgfs_store *s, const struct cfgfs_edit *edits, size_t n,
			const char *msg, struct cfgfs_revision *out)
{
	struct cfgfs_revision r;
	char err[ERR_LEN] = "";
	int rc = cfgfs_store_commit(s, &r, edits, n, AUTHOR, EMAIL, msg, err, sizeof(err));
	if (out)
		*out = r;
	if (rc < 0) {
		printf("  commit '%s' failed: %d %s\n", msg, rc, err);
		return -1;
	}
	return (long long)r.number;
}

static long long commit1(struct cfgfs_store *s, struct cfgfs_edit e, const char *msg)
{
	return commit(s, &e, 1, msg, NULL);
}

/* git's mode of PATH at HEAD ("100644", ...), "" when absent. */
static void git_mode(const char *gitdir, const char *path, char *out, size_t size)
{
	c_sh_out(out, size, "git --git-dir='%s' ls-tree HEAD -- '%s' | cut -c1-6", gitdir, path);
}

static bool git_mode_is(const char *gitdir, const char *path, const char *want)
{
	char m[64];
	git_mode(gitdir, path, m, sizeof(m));
	if (strcmp(m, want) != 0) {
		printf("  git mode of %s = '%s', want '%s'\n", path, m, want);
		return false;
	}
	return true;
}

/* The blob REV:PATH, "" (and false) when absent. */
static bool git_show(const char *gitdir, const char *rev, const char *path, char *out,
		     size_t size)
{
	return c_sh_out(out, size, "git --git-dir='%s' show '%s:%s' 2>/dev/null", gitdir, rev,
			path) == 0;
}

static void git_ls(const char *gitdir, const char *rev, char *out, size_t size)
{
	c_sh_out(out, size, "git --git-dir='%s' ls-tree -r --name-only '%s'", gitdir, rev);
}

/* Whether LS (newline-separated names) has exactly the line NAME. */
static bool has_line(const char *ls, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = ls; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (len == n && strncmp(p, name, n) == 0)
			return true;
		p = nl ? nl + 1 : NULL;
	}
	return false;
}

static int count_commits(const char *gitdir)
{
	char out[64];
	if (c_sh_out(out, sizeof(out), "git --git-dir='%s' rev-list --count HEAD 2>/dev/null",
		     gitdir) != 0)
		return 0;
	return atoi(out);
}

static bool head_meta(struct cfgfs_store *s, const char *path, struct cfgfs_meta *m)
{
	memset(m, 0xee, sizeof(*m));
	return cfgfs_store_has(s, path, m);
}

/* ---- walk ---- */

struct ent {
	char path[256];
	struct cfgfs_meta meta;
	bool dir;
	char data[256];
	size_t len;
};

struct walk {
	struct ent v[MAX_ENTS];
	size_t n;
	bool order_ok;
	int stop_after; /* > 0: return 7 from the callback at that entry */
};

static int walk_cb(void *arg, const char *path, const struct cfgfs_meta *meta, const void *data,
		   size_t len)
{
	struct walk *w = arg;
	if (w->n == MAX_ENTS)
		return -ENOSPC;
	/* parents first: the entry's directory was already seen */
	if (path[0]) {
		char parent[256];
		snprintf(parent, sizeof(parent), "%s", path);
		char *slash = strrchr(parent, '/');
		if (slash)
			*slash = '\0';
		else
			parent[0] = '\0';
		bool seen = false;
		for (size_t i = 0; i < w->n; i++)
			if (w->v[i].dir && strcmp(w->v[i].path, parent) == 0)
				seen = true;
		if (!seen) {
			printf("  walk: %s came before its directory '%s'\n", path, parent);
			w->order_ok = false;
		}
	} else if (w->n != 0) {
		w->order_ok = false;
	}
	struct ent *e = &w->v[w->n++];
	snprintf(e->path, sizeof(e->path), "%s", path);
	e->meta = *meta;
	e->dir = data == NULL;
	e->len = len < sizeof(e->data) ? len : sizeof(e->data) - 1;
	if (data)
		memcpy(e->data, data, e->len);
	e->data[e->len] = '\0';
	if (w->stop_after > 0 && (int)w->n == w->stop_after)
		return 7;
	return 0;
}

static const struct ent *walk_find(const struct walk *w, const char *path)
{
	for (size_t i = 0; i < w->n; i++)
		if (strcmp(w->v[i].path, path) == 0)
			return &w->v[i];
	return NULL;
}

/* ---- the edit script ---- */

static const struct cfgfs_meta M_A1 = {F(0644), 1000, 100, 1000, 5};
static const struct cfgfs_meta M_LINK = {L, 1000, 100, 1100, 0};
static const struct cfgfs_meta M_EMPTY = {D(0700), 1000, 100, 1200, 7};
static const struct cfgfs_meta M_SUB = {D(0750), 0, 0, 1300, 0};
static const struct cfgfs_meta M_X = {F(0640), 0, 0, 1301, 0};
static const struct cfgfs_meta M_Y = {F(0600), 0, 0, 1302, 0};

static void test_store(void)
{
	struct cfgfs_store *s = NULL;
	char err[ERR_LEN] = "";
	char out[OUT_LEN];
	struct cfgfs_revision head, r;
	struct cfgfs_meta m;

	CHECK_RC(cfgfs_store_open(&s, g_git, err, sizeof(err)), 0);
	if (!s) {
		printf("  open: %s\n", err);
		return;
	}
	cfgfs_store_head(s, &head);
	CHECK_RC(head.number, 0);
	CHECK_STR(head.commit, "");
	CHECK(!cfgfs_store_has(s, "a.yaml", NULL));
	CHECK_RC(cfgfs_store_head_blob_is(s, "a.yaml", "x", 1), 0);
	CHECK_RC(c_sh("test \"$(git --git-dir='%s' rev-parse --is-bare-repository)\" = true",
		      g_git),
		 0);

	/* 1: a file */
	CHECK_RC(commit(s, (struct cfgfs_edit[]){put("a.yaml", "one\n", M_A1)}, 1, "m1", &r), 1);
	CHECK_RC(r.number, 1);
	CHECK(strlen(r.commit) == 40);
	CHECK_STR(r.parent, "");
	CHECK(r.time > 0);
	char rev1[CFGFS_OID_HEX];
	snprintf(rev1, sizeof(rev1), "%s", r.commit);
	cfgfs_store_head(s, &head);
	CHECK_RC(head.number, 1);
	CHECK_STR(head.commit, rev1);
	CHECK(git_show(g_git, "HEAD", "a.yaml", out, sizeof(out)) && strcmp(out, "one") == 0);
	CHECK(git_mode_is(g_git, "a.yaml", "100644"));
	CHECK(git_show(g_git, "HEAD", CFGFS_META_NAME, out, sizeof(out)));
	CHECK_HAS(out, "100644 1000 100 1000 5 a.yaml");
	CHECK(head_meta(s, "a.yaml", &m));
	CHECK_META(m, M_A1);
	CHECK_RC(cfgfs_store_head_blob_is(s, "a.yaml", "one\n", 4), 1);
	CHECK_RC(cfgfs_store_head_blob_is(s, "a.yaml", "one", 3), 0);
	CHECK_RC(cfgfs_store_head_blob_is(s, "nope", "one\n", 4), 0);

	/* 2: a symlink */
	CHECK_RC(commit1(s, put("link", "a.yaml", M_LINK), "m2"), 2);
	CHECK(git_mode_is(g_git, "link", "120000"));
	CHECK(git_show(g_git, "HEAD", "link", out, sizeof(out)) && strcmp(out, "a.yaml") == 0);
	CHECK(head_meta(s, "link", &m));
	CHECK_META(m, M_LINK);

	/* 3: an empty directory survives */
	CHECK_RC(commit1(s, put("empty", NULL, M_EMPTY), "m3"), 3);
	git_ls(g_git, "HEAD", out, sizeof(out));
	CHECK(has_line(out, "empty/" CFGFS_META_NAME));
	CHECK(head_meta(s, "empty", &m));
	CHECK_META(m, M_EMPTY);
	CHECK(git_show(g_git, "HEAD", "empty/" CFGFS_META_NAME, out, sizeof(out)));
	CHECK_STR(out, "cfgfs-meta 1\n40700 1000 100 1200 7 .");

	/* 4: a directory, then two files in it, in one commit */
	CHECK_RC(commit(s,
			(struct cfgfs_edit[]){put("sub", NULL, M_SUB),
					      put("sub/x.conf", "x = 1\n", M_X),
					      put("sub/y.conf", "y = 2\n", M_Y)},
			3, "m4", NULL),
		 4);
	CHECK(head_meta(s, "sub", &m));
	CHECK_META(m, M_SUB);
	CHECK(head_meta(s, "sub/y.conf", &m));
	CHECK_META(m, M_Y);
	CHECK(git_show(g_git, "HEAD", "sub/" CFGFS_META_NAME, out, sizeof(out)));
	CHECK_STR(out, "cfgfs-meta 1\n40750 0 0 1300 0 .\n100640 0 0 1301 0 x.conf\n"
		       "100600 0 0 1302 0 y.conf");

	/* 5: META sets the exec bit: git's filemode follows */
	struct cfgfs_meta a_exec = {F(0755), 1000, 100, 2000, 0};
	CHECK_RC(commit1(s, edit(CFGFS_EDIT_META, "a.yaml", NULL, a_exec), "m5"), 5);
	CHECK(git_mode_is(g_git, "a.yaml", "100755"));
	CHECK(head_meta(s, "a.yaml", &m));
	CHECK_META(m, a_exec);
	CHECK(git_show(g_git, "HEAD", "a.yaml", out, sizeof(out)) && strcmp(out, "one") == 0);

	/* 6: META with the same mode, only the mtime: still a commit */
	struct cfgfs_meta a_touch = {F(0755), 1000, 100, 2001, 9};
	CHECK_RC(commit1(s, edit(CFGFS_EDIT_META, "a.yaml", NULL, a_touch), "m6"), 6);
	CHECK(git_mode_is(g_git, "a.yaml", "100755"));
	CHECK(head_meta(s, "a.yaml", &m));
	CHECK_META(m, a_touch);

	/* the same META again, and the same PUT again: no revision */
	cfgfs_store_head(s, &head);
	CHECK_RC(commit1(s, edit(CFGFS_EDIT_META, "a.yaml", NULL, a_touch), "noop"), 0);
	CHECK_RC(commit1(s, put("sub/x.conf", "x = 1\n", M_X), "noop"), 0);
	CHECK_RC(commit1(s, put("empty", NULL, M_EMPTY), "noop"), 0);
	cfgfs_store_head(s, &r);
	CHECK_STR(r.commit, head.commit);
	CHECK_RC(r.number, 6);
	CHECK_RC(count_commits(g_git), 6);

	/* mode back down: 100755 -> 100644 */
	struct cfgfs_meta a_plain = {F(0600), 1000, 100, 2002, 0};
	CHECK_RC(commit1(s, edit(CFGFS_EDIT_META, "a.yaml", NULL, a_plain), "m7"), 7);
	CHECK(git_mode_is(g_git, "a.yaml", "100644"));

	/* 8: META of a directory */
	struct cfgfs_meta sub2 = {D(0755), 0, 0, 1400, 0};
	CHECK_RC(commit1(s, edit(CFGFS_EDIT_META, "sub", NULL, sub2), "m8"), 8);
	CHECK(head_meta(s, "sub", &m));
	CHECK_META(m, sub2);

	/* 9: MOVE of a file, meta from the edit */
	struct cfgfs_meta b_meta = {F(0644), 1000, 100, 3000, 0};
	CHECK_RC(commit1(s, edit(CFGFS_EDIT_MOVE, "b.yaml", "a.yaml", b_meta), "m9"), 9);
	CHECK(!cfgfs_store_has(s, "a.yaml", NULL));
	CHECK(head_meta(s, "b.yaml", &m));
	CHECK_META(m, b_meta);
	CHECK(git_show(g_git, "HEAD", "b.yaml", out, sizeof(out)) && strcmp(out, "one") == 0);
	CHECK(git_show(g_git, "HEAD", CFGFS_META_NAME, out, sizeof(out)));
	CHECK(strstr(out, " a.yaml") == NULL);
	CHECK_HAS(out, "100644 1000 100 3000 0 b.yaml");

	/* 10: MOVE of a directory: its content and its own meta go along */
	CHECK_RC(commit1(s, edit(CFGFS_EDIT_MOVE, "moved", "sub", sub2), "m10"), 10);
	CHECK(!cfgfs_store_has(s, "sub", NULL));
	CHECK(!cfgfs_store_has(s, "sub/x.conf", NULL));
	CHECK(head_meta(s, "moved", &m));
	CHECK_META(m, sub2);
	CHECK(head_meta(s, "moved/x.conf", &m));
	CHECK_META(m, M_X);
	CHECK(head_meta(s, "moved/y.conf", &m));
	CHECK_META(m, M_Y);
	git_ls(g_git, "HEAD", out, sizeof(out));
	CHECK(has_line(out, "moved/" CFGFS_META_NAME));
	CHECK(!has_line(out, "sub/" CFGFS_META_NAME));

	/* a MOVE from a path that is not there fails and commits nothing */
	{
		struct cfgfs_revision rr;
		struct cfgfs_edit e = edit(CFGFS_EDIT_MOVE, "to", "not-there", b_meta);
		CHECK_RC(cfgfs_store_commit(s, &rr, &e, 1, AUTHOR, EMAIL, "bad", err, sizeof(err)),
			 -ENOENT);
		CHECK_RC(rr.number, 0);
	}

	/* 11: REMOVE of a file: gone, and so is its line in the parent's meta */
	CHECK_RC(commit1(s, edit(CFGFS_EDIT_REMOVE, "moved/y.conf", NULL, mk(0, 0, 0, 0, 0)),
			 "m11"),
		 11);
	CHECK(!cfgfs_store_has(s, "moved/y.conf", NULL));
	CHECK(cfgfs_store_has(s, "moved/x.conf", NULL));
	CHECK(git_show(g_git, "HEAD", "moved/" CFGFS_META_NAME, out, sizeof(out)));
	CHECK(strstr(out, "y.conf") == NULL);
	CHECK_HAS(out, "x.conf");

	/* 12: REMOVE of the symlink */
	CHECK_RC(commit1(s, edit(CFGFS_EDIT_REMOVE, "link", NULL, mk(0, 0, 0, 0, 0)), "m12"), 12);
	CHECK(!cfgfs_store_has(s, "link", NULL));
	CHECK(git_show(g_git, "HEAD", CFGFS_META_NAME, out, sizeof(out)));
	CHECK(strstr(out, " link") == NULL);

	/* 13: REMOVE of a directory: the whole subtree goes */
	CHECK_RC(commit1(s, edit(CFGFS_EDIT_REMOVE, "moved", NULL, mk(0, 0, 0, 0, 0)), "m13"), 13);
	CHECK(!cfgfs_store_has(s, "moved", NULL));
	git_ls(g_git, "HEAD", out, sizeof(out));
	CHECK(strstr(out, "moved") == NULL);
	CHECK(has_line(out, "b.yaml"));
	CHECK(has_line(out, "empty/" CFGFS_META_NAME));
	CHECK(has_line(out, CFGFS_META_NAME));

	/* 14: REMOVE of the empty directory */
	CHECK_RC(commit1(s, edit(CFGFS_EDIT_REMOVE, "empty", NULL, mk(0, 0, 0, 0, 0)), "m14"), 14);
	git_ls(g_git, "HEAD", out, sizeof(out));
	CHECK(strstr(out, "empty") == NULL);

	/* revision numbers follow git's first-parent history */
	CHECK_RC(count_commits(g_git), 14);
	cfgfs_store_head(s, &head);
	CHECK_RC(head.number, 14);

	/* ---- readers ---- */
	char *buf = NULL;
	size_t len = 0;
	CHECK_RC(cfgfs_store_read_at(s, 1, "a.yaml", &m, &buf, &len), 0);
	CHECK(buf && len == 4 && memcmp(buf, "one\n", 4) == 0);
	CHECK_META(m, M_A1);
	free(buf);
	buf = NULL;
	CHECK_RC(cfgfs_store_read_at(s, 2, "link", &m, &buf, &len), 0);
	CHECK(buf && len == 6 && strcmp(buf, "a.yaml") == 0);
	CHECK_META(m, M_LINK);
	free(buf);
	buf = NULL;
	CHECK_RC(cfgfs_store_read_at(s, 6, "a.yaml", &m, &buf, &len), 0);
	CHECK_META(m, a_touch);
	free(buf);
	buf = NULL;
	CHECK_RC(cfgfs_store_read_at(s, 4, "sub/y.conf", &m, &buf, &len), 0);
	CHECK(buf && strcmp(buf, "y = 2\n") == 0);
	CHECK_META(m, M_Y);
	free(buf);
	buf = NULL;
	CHECK_RC(cfgfs_store_read_at(s, 14, "a.yaml", &m, &buf, &len), -ENOENT);
	CHECK_RC(cfgfs_store_read_at(s, 4, "sub", &m, &buf, &len), -EISDIR);
	CHECK_RC(cfgfs_store_read_at(s, 0, "a.yaml", &m, &buf, &len), -ENOENT);
	CHECK_RC(cfgfs_store_read_at(s, 15, "a.yaml", &m, &buf, &len), -ENOENT);

	/* revision_info and revision_of for every revision */
	char prev[CFGFS_OID_HEX] = "";
	for (uint64_t n = 1; n <= 14; n++) {
		char author[64] = "";
		struct cfgfs_revision ri;
		CHECK_RC(cfgfs_store_revision_info(s, n, &ri, author, sizeof(author)), 0);
		CHECK_RC(ri.number, n);
		CHECK_STR(author, AUTHOR);
		CHECK_STR(ri.parent, prev);
		CHECK(ri.time > 0);
		uint64_t back = 0;
		CHECK_RC(cfgfs_store_revision_of(s, ri.commit, &back), 0);
		CHECK_RC(back, n);
		char gitsays[64];
		c_sh_out(gitsays, sizeof(gitsays),
			 "git --git-dir='%s' rev-list --first-parent --reverse HEAD | sed -n %llup",
			 g_git, (unsigned long long)n);
		CHECK_STR(ri.commit, gitsays);
		snprintf(prev, sizeof(prev), "%s", ri.commit);
	}
	{
		char author[64];
		struct cfgfs_revision ri;
		uint64_t back = 99;
		CHECK_RC(cfgfs_store_revision_info(s, 0, &ri, author, sizeof(author)), -ENOENT);
		CHECK_RC(cfgfs_store_revision_info(s, 15, &ri, author, sizeof(author)), -ENOENT);
		CHECK_RC(cfgfs_store_revision_of(s, "0123456789012345678901234567890123456789",
						 &back),
			 -ENOENT);
		CHECK_RC(cfgfs_store_revision_of(s, "not hex", &back), -EINVAL);
		CHECK_RC(back, 99);
	}

	/* walk of revision 4: every entry, parents first, with its meta */
	struct walk *w = calloc(1, sizeof(*w));
	w->order_ok = true;
	CHECK_RC(cfgfs_store_walk_revision(s, 4, walk_cb, w), 0);
	CHECK(w->order_ok);
	CHECK_RC(w->n, 7);
	const struct ent *e;
	CHECK((e = walk_find(w, "")) && e->dir && S_ISDIR(e->meta.mode));
	CHECK((e = walk_find(w, "a.yaml")) && !e->dir && strcmp(e->data, "one\n") == 0 &&
	      meta_eq(&e->meta, &M_A1));
	CHECK((e = walk_find(w, "link")) && !e->dir && strcmp(e->data, "a.yaml") == 0 &&
	      meta_eq(&e->meta, &M_LINK));
	CHECK((e = walk_find(w, "empty")) && e->dir && meta_eq(&e->meta, &M_EMPTY));
	CHECK((e = walk_find(w, "sub")) && e->dir && meta_eq(&e->meta, &M_SUB));
	CHECK((e = walk_find(w, "sub/x.conf")) && strcmp(e->data, "x = 1\n") == 0 &&
	      meta_eq(&e->meta, &M_X));
	CHECK((e = walk_find(w, "sub/y.conf")) && strcmp(e->data, "y = 2\n") == 0 &&
	      meta_eq(&e->meta, &M_Y));
	CHECK(walk_find(w, CFGFS_META_NAME) == NULL && walk_find(w, "sub/" CFGFS_META_NAME) == NULL);
	/* a nonzero return stops the walk and is returned */
	memset(w, 0, sizeof(*w));
	w->order_ok = true;
	w->stop_after = 2;
	CHECK_RC(cfgfs_store_walk_revision(s, 4, walk_cb, w), 7);
	CHECK_RC(w->n, 2);
	memset(w, 0, sizeof(*w));
	CHECK_RC(cfgfs_store_walk_revision(s, 0, walk_cb, w), -ENOENT);
	CHECK_RC(cfgfs_store_walk_revision(s, 15, walk_cb, w), -ENOENT);
	free(w);

	/* 15: rollback to revision 4: a new revision whose tree is revision 4's */
	char rev4[CFGFS_OID_HEX], t4[64], t15[64];
	{
		char author[64];
		struct cfgfs_revision ri;
		CHECK_RC(cfgfs_store_revision_info(s, 4, &ri, author, sizeof(author)), 0);
		snprintf(rev4, sizeof(rev4), "%s", ri.commit);
	}
	CHECK_RC(cfgfs_store_commit_revision(s, &r, 4, AUTHOR, EMAIL, "rollback to 4", err,
					     sizeof(err)),
		 0);
	CHECK_RC(r.number, 15);
	CHECK_STR(r.parent, head.commit);
	c_sh_out(t4, sizeof(t4), "git --git-dir='%s' rev-parse '%s^{tree}'", g_git, rev4);
	c_sh_out(t15, sizeof(t15), "git --git-dir='%s' rev-parse 'HEAD^{tree}'", g_git);
	CHECK(t4[0] && strcmp(t4, t15) == 0);
	CHECK(head_meta(s, "sub/y.conf", &m));
	CHECK_META(m, M_Y);
	/* again: HEAD's tree already equals it, no revision */
	CHECK_RC(cfgfs_store_commit_revision(s, &r, 4, AUTHOR, EMAIL, "again", err, sizeof(err)),
		 0);
	CHECK_RC(r.number, 0);
	CHECK_RC(count_commits(g_git), 15);
	CHECK_RC(cfgfs_store_commit_revision(s, &r, 99, AUTHOR, EMAIL, "x", err, sizeof(err)),
		 -ENOENT);

	/* ---- compare-and-swap: an outside git moves the branch ---- */
	cfgfs_store_head(s, &head);
	CHECK_RC(head.number, 15);
	char outside[64];
	CHECK_RC(c_sh_out(outside, sizeof(outside),
			  "set -e; export GIT_DIR='%s' GIT_INDEX_FILE='%s/outside.idx'"
			  " GIT_AUTHOR_NAME=bob GIT_AUTHOR_EMAIL=bob@example.org"
			  " GIT_COMMITTER_NAME=bob GIT_COMMITTER_EMAIL=bob@example.org;"
			  " git read-tree HEAD;"
			  " blob=$(printf 'from outside\\n' | git hash-object -w --stdin);"
			  " git update-index --add --cacheinfo 100644,$blob,outside.txt;"
			  " tree=$(git write-tree);"
			  " c=$(git commit-tree $tree -p HEAD -m outside);"
			  " git update-ref refs/heads/main $c %s;"
			  " echo $c",
			  g_git, g_dir, head.commit),
		 0);
	CHECK(strlen(outside) == 40);
	CHECK_RC(commit1(s, put("after.yaml", "k: v\n", M_A1), "after the outside commit"), 17);
	cfgfs_store_head(s, &head);
	CHECK_RC(head.number, 17);
	CHECK_STR(head.parent, outside);
	CHECK_RC(count_commits(g_git), 17);
	CHECK_RC(c_sh("test \"$(git --git-dir='%s' rev-parse HEAD^)\" = %s", g_git, outside), 0);
	CHECK(cfgfs_store_has(s, "outside.txt", NULL));
	CHECK(cfgfs_store_has(s, "after.yaml", NULL));
	{
		uint64_t n = 0;
		CHECK_RC(cfgfs_store_revision_of(s, outside, &n), 0);
		CHECK_RC(n, 16);
		char author[64] = "";
		struct cfgfs_revision ri;
		CHECK_RC(cfgfs_store_revision_info(s, 16, &ri, author, sizeof(author)), 0);
		CHECK_STR(author, "bob");
	}
	/* a plain-git file has no meta line: has() reports git's defaults */
	CHECK(head_meta(s, "outside.txt", &m));
	CHECK(m.mode == F(0644));

	/* an outside rewrite (history replaced): the store follows the new ref */
	CHECK_RC(c_sh("set -e; export GIT_DIR='%s' GIT_AUTHOR_NAME=bob"
		      " GIT_AUTHOR_EMAIL=bob@example.org GIT_COMMITTER_NAME=bob"
		      " GIT_COMMITTER_EMAIL=bob@example.org;"
		      " c=$(git commit-tree 'HEAD~2^{tree}' -p HEAD~3 -m rewritten);"
		      " git update-ref refs/heads/main $c",
		      g_git),
		 0);
	CHECK_RC(commit1(s, put("after2.yaml", "k: v\n", M_A1), "after the rewrite"), 16);
	CHECK_RC(count_commits(g_git), 16);
	CHECK(!cfgfs_store_has(s, "after.yaml", NULL));
	CHECK(!cfgfs_store_has(s, "outside.txt", NULL));
	CHECK(cfgfs_store_has(s, "after2.yaml", NULL));

	/* reopening reads the same revisions */
	cfgfs_store_head(s, &head);
	cfgfs_store_close(s);
	s = NULL;
	CHECK_RC(cfgfs_store_open(&s, g_git, err, sizeof(err)), 0);
	if (s) {
		cfgfs_store_head(s, &r);
		CHECK_RC(r.number, 16);
		CHECK_STR(r.commit, head.commit);
		/* the rewrite took revision 15's tree: revision 4's */
		CHECK(head_meta(s, "a.yaml", &m));
		CHECK_META(m, M_A1);
		CHECK(!cfgfs_store_has(s, "b.yaml", NULL));
		CHECK(cfgfs_store_has(s, "after2.yaml", NULL));
		cfgfs_store_close(s);
	}
}

/* Every directory of a committed tree holds a meta blob (meta.h), also one
 * a PUT made implicitly as the parent of a new file. */
static void test_implicit_dirs(void)
{
	char gitdir[600], out[OUT_LEN], err[ERR_LEN] = "";
	struct cfgfs_store *s = NULL;
	snprintf(gitdir, sizeof(gitdir), "%s/implicit.git", g_dir);
	CHECK_RC(cfgfs_store_open(&s, gitdir, err, sizeof(err)), 0);
	if (!s)
		return;
	CHECK_RC(commit1(s, put("p/q/r.txt", "r\n", M_X), "implicit parents"), 1);
	git_ls(gitdir, "HEAD", out, sizeof(out));
	CHECK(has_line(out, "p/q/r.txt"));
	CHECK(has_line(out, "p/q/" CFGFS_META_NAME));
	static const char *const dirs[] = {"", "p/"};
	for (size_t i = 0; i < 2; i++) {
		char blob[64];
		snprintf(blob, sizeof(blob), "%s%s", dirs[i], CFGFS_META_NAME);
		if (!has_line(out, blob)) {
			printf("FAIL %s:%d: directory '%s', made implicitly by a PUT of "
			       "p/q/r.txt into an empty store, has no %s blob; tree:\n%s\n",
			       __FILE__, __LINE__, dirs[i], CFGFS_META_NAME, out);
			c_failures++;
		}
	}
	cfgfs_store_close(s);
}

/* Several edits in one commit: a directory replaced by a file and a file
 * by a directory, a directory removed and re-created with new content. */
static void test_batches(void)
{
	char gitdir[600], out[OUT_LEN], err[ERR_LEN] = "";
	struct cfgfs_store *s = NULL;
	struct cfgfs_meta m;
	const struct cfgfs_meta none = {0, 0, 0, 0, 0};
	snprintf(gitdir, sizeof(gitdir), "%s/batches.git", g_dir);
	CHECK_RC(cfgfs_store_open(&s, gitdir, err, sizeof(err)), 0);
	if (!s)
		return;
	CHECK_RC(commit(s,
			(struct cfgfs_edit[]){put("", NULL, M_SUB), put("d", NULL, M_SUB),
					      put("d/old1", "1\n", M_X), put("d/old2", "2\n", M_Y),
					      put("f", "file\n", M_X)},
			5, "setup", NULL),
		 1);
	CHECK(git_show(gitdir, "HEAD", CFGFS_META_NAME, out, sizeof(out)));
	CHECK_HAS(out, "40750 0 0 1300 0 .");
	/* file f becomes a directory, directory d becomes a file */
	CHECK_RC(commit(s,
			(struct cfgfs_edit[]){edit(CFGFS_EDIT_REMOVE, "f", NULL, none),
					      put("f", NULL, M_EMPTY), put("f/inner", "in\n", M_Y),
					      edit(CFGFS_EDIT_REMOVE, "d", NULL, none),
					      put("d", "now a file\n", M_A1)},
			5, "swap kinds", NULL),
		 2);
	CHECK(head_meta(s, "f", &m));
	CHECK_META(m, M_EMPTY);
	CHECK(head_meta(s, "f/inner", &m));
	CHECK_META(m, M_Y);
	CHECK(head_meta(s, "d", &m));
	CHECK_META(m, M_A1);
	CHECK(git_mode_is(gitdir, "d", "100644"));
	git_ls(gitdir, "HEAD", out, sizeof(out));
	CHECK(!has_line(out, "d/old1") && !has_line(out, "d/" CFGFS_META_NAME));
	CHECK(git_show(gitdir, "HEAD", CFGFS_META_NAME, out, sizeof(out)));
	CHECK(has_line(out, "100644 1000 100 1000 5 d"));
	CHECK(strstr(out, " f\n") == NULL && !has_line(out, "100640 0 0 1301 0 f"));
	/* directory f removed and made again with other content: its meta blob
	 * describes the new content only */
	CHECK_RC(commit(s,
			(struct cfgfs_edit[]){edit(CFGFS_EDIT_REMOVE, "f", NULL, none),
					      put("f", NULL, M_SUB), put("f/new", "new\n", M_X)},
			3, "re-create", NULL),
		 3);
	CHECK(!cfgfs_store_has(s, "f/inner", NULL));
	CHECK(git_show(gitdir, "HEAD", "f/" CFGFS_META_NAME, out, sizeof(out)));
	CHECK_STR(out, "cfgfs-meta 1\n40750 0 0 1300 0 .\n100640 0 0 1301 0 new");
	cfgfs_store_close(s);
	CHECK_RC(c_sh("git --git-dir='%s' fsck --strict --no-dangling", gitdir), 0);
}

/* ---- import ---- */

static bool skip_swp(void *arg, const char *path)
{
	int *calls = arg;
	(*calls)++;
	size_t n = strlen(path);
	return n > 4 && strcmp(path + n - 4, ".swp") == 0;
}

static long long import(struct cfgfs_store *s, int rootfd, int *calls, const char *msg)
{
	struct cfgfs_revision r;
	char err[ERR_LEN] = "";
	int rc = cfgfs_store_import(s, &r, rootfd, skip_swp, calls, AUTHOR, EMAIL, msg, err,
				    sizeof(err));
	if (rc < 0) {
		printf("  import '%s' failed: %d %s\n", msg, rc, err);
		return -1;
	}
	return (long long)r.number;
}

static void test_import(void)
{
	char src[600], path[700], out[OUT_LEN], err[ERR_LEN] = "";
	snprintf(src, sizeof(src), "%s/src", g_dir);
	CHECK_RC(c_sh("mkdir -p '%s/d/e' '%s/emptyd' '%s/.git/objects'", src, src, src), 0);
	CHECK_RC(c_write(src, "conf.yaml", "a: 1\n", 0644), 0);
	CHECK_RC(c_write(src, "secret.yaml", "pw: x\n", 0600), 0);
	CHECK_RC(c_write(src, "run.sh", "#!/bin/sh\n", 0755), 0);
	CHECK_RC(c_write(src, "d/e/deep.txt", "deep\n", 0644), 0);
	CHECK_RC(c_write(src, ".conf.yaml.swp", "scratch", 0600), 0);
	CHECK_RC(c_write(src, "d/.deep.txt.swp", "scratch", 0600), 0);
	CHECK_RC(c_write(src, ".cfgfs-stage.123", "half a save", 0600), 0);
	CHECK_RC(c_write(src, ".git/HEAD", "not a store", 0644), 0);
	snprintf(path, sizeof(path), "%s/cur", src);
	CHECK_RC(symlink("conf.yaml", path), 0);
	CHECK_RC(c_sh("chmod 0700 '%s/emptyd'", src), 0);
	int rootfd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(rootfd >= 0);

	struct cfgfs_store *s = NULL;
	CHECK_RC(cfgfs_store_open(&s, g_git2, err, sizeof(err)), 0);
	if (!s || rootfd < 0)
		return;
	int calls = 0;
	CHECK_RC(import(s, rootfd, &calls, "import"), 1);
	CHECK(calls > 0);
	git_ls(g_git2, "HEAD", out, sizeof(out));
	static const char *const want[] = {
	    CFGFS_META_NAME, "conf.yaml", "cur", "d/" CFGFS_META_NAME, "d/e/" CFGFS_META_NAME,
	    "d/e/deep.txt", "emptyd/" CFGFS_META_NAME, "run.sh", "secret.yaml",
	};
	size_t lines = 0;
	for (const char *p = out; *p; p++)
		lines += *p == '\n';
	if (out[0])
		lines++;
	CHECK_RC(lines, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!has_line(out, want[i])) {
			printf("FAIL %s:%d: import lacks %s; tree:\n%s\n", __FILE__, __LINE__,
			       want[i], out);
			c_failures++;
		}
	CHECK(strstr(out, ".swp") == NULL);
	CHECK(strstr(out, ".git/") == NULL);
	CHECK(strstr(out, "stage") == NULL);
	/* the staging leftover of a crashed save is removed from SOURCE */
	snprintf(path, sizeof(path), "%s/.cfgfs-stage.123", src);
	CHECK(access(path, F_OK) != 0);
	CHECK(git_mode_is(g_git2, "run.sh", "100755"));
	CHECK(git_mode_is(g_git2, "secret.yaml", "100644"));
	CHECK(git_mode_is(g_git2, "cur", "120000"));
	CHECK(git_show(g_git2, "HEAD", "cur", out, sizeof(out)) && strcmp(out, "conf.yaml") == 0);

	/* metas come from lstat */
	struct stat st;
	struct cfgfs_meta m;
	snprintf(path, sizeof(path), "%s/secret.yaml", src);
	CHECK_RC(lstat(path, &st), 0);
	CHECK(head_meta(s, "secret.yaml", &m));
	CHECK_META(m, mk(F(0600), st.st_uid, st.st_gid, st.st_mtim.tv_sec,
			 (int32_t)st.st_mtim.tv_nsec));
	snprintf(path, sizeof(path), "%s/cur", src);
	CHECK_RC(lstat(path, &st), 0);
	CHECK(head_meta(s, "cur", &m));
	CHECK(S_ISLNK(m.mode) && m.mtime_sec == st.st_mtim.tv_sec);
	snprintf(path, sizeof(path), "%s/emptyd", src);
	CHECK_RC(lstat(path, &st), 0);
	CHECK(head_meta(s, "emptyd", &m));
	CHECK_META(m, mk(D(0700), st.st_uid, st.st_gid, st.st_mtim.tv_sec,
			 (int32_t)st.st_mtim.tv_nsec));

	/* again, unchanged: no revision */
	CHECK_RC(import(s, rootfd, &calls, "again"), 0);

	/* only an mtime changed: no revision, HEAD's mtime kept */
	struct cfgfs_meta before;
	CHECK(head_meta(s, "conf.yaml", &before));
	snprintf(path, sizeof(path), "%s/conf.yaml", src);
	struct timespec ts[2] = {{1234567, 0}, {1234567, 89}};
	CHECK_RC(utimensat(AT_FDCWD, path, ts, 0), 0);
	snprintf(path, sizeof(path), "%s/d/e/deep.txt", src);
	CHECK_RC(utimensat(AT_FDCWD, path, ts, 0), 0);
	CHECK_RC(import(s, rootfd, &calls, "touched"), 0);
	CHECK(head_meta(s, "conf.yaml", &m));
	CHECK_META(m, before);
	CHECK_RC(count_commits(g_git2), 1);

	/* content changed: a revision, with the new mtime */
	CHECK_RC(c_write(src, "conf.yaml", "a: 2\n", 0644), 0);
	CHECK_RC(import(s, rootfd, &calls, "changed"), 2);
	CHECK(git_show(g_git2, "HEAD", "conf.yaml", out, sizeof(out)) && strcmp(out, "a: 2") == 0);
	snprintf(path, sizeof(path), "%s/conf.yaml", src);
	CHECK_RC(lstat(path, &st), 0);
	CHECK(head_meta(s, "conf.yaml", &m));
	CHECK(m.mtime_sec == st.st_mtim.tv_sec && m.mtime_nsec == (int32_t)st.st_mtim.tv_nsec);

	/* mode changed only: a revision */
	CHECK_RC(chmod(path, 0640), 0);
	CHECK_RC(import(s, rootfd, &calls, "chmod"), 3);
	CHECK(head_meta(s, "conf.yaml", &m));
	CHECK(m.mode == F(0640));

	/* what the import wrote reads back through the store */
	char *buf = NULL;
	size_t len = 0;
	CHECK_RC(cfgfs_store_read_at(s, 1, "d/e/deep.txt", &m, &buf, &len), 0);
	CHECK(buf && strcmp(buf, "deep\n") == 0);
	free(buf);

	/* import on top of an edit-built store keeps its history linear */
	CHECK_RC(commit1(s, put("conf.yaml", "a: 3\n", mk(F(0640), 0, 0, 1, 0)), "edit"), 4);
	CHECK_RC(import(s, rootfd, &calls, "back to disk"), 5);
	CHECK(git_show(g_git2, "HEAD", "conf.yaml", out, sizeof(out)) && strcmp(out, "a: 2") == 0);
	CHECK_RC(count_commits(g_git2), 5);

	close(rootfd);
	cfgfs_store_close(s);
}

static void test_open_errors(void)
{
	char err[ERR_LEN] = "", path[600];
	struct cfgfs_store *s = (struct cfgfs_store *)1;
	/* an existing directory that is not a repository */
	snprintf(path, sizeof(path), "%s/src/d", g_dir);
	int rc = cfgfs_store_open(&s, path, err, sizeof(err));
	CHECK(rc < 0);
	CHECK(err[0] != '\0');
	/* a detached HEAD is refused */
	snprintf(path, sizeof(path), "%s/detached.git", g_dir);
	CHECK_RC(c_sh("set -e; git init -q --bare '%s';"
		      " export GIT_DIR='%s' GIT_AUTHOR_NAME=b GIT_AUTHOR_EMAIL=b@x"
		      " GIT_COMMITTER_NAME=b GIT_COMMITTER_EMAIL=b@x;"
		      " t=$(git mktree </dev/null); c=$(git commit-tree $t -m x);"
		      " git update-ref --no-deref HEAD $c",
		      path, path),
		 0);
	err[0] = '\0';
	s = NULL;
	CHECK_RC(cfgfs_store_open(&s, path, err, sizeof(err)), -EINVAL);
	CHECK_HAS(err, "detached");
	CHECK(s == NULL);
}

int main(void)
{
	snprintf(g_dir, sizeof(g_dir), "/tmp/cfgfs-core-store-XXXXXX");
	if (!mkdtemp(g_dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(g_git, sizeof(g_git), "%s/store.git", g_dir);
	snprintf(g_git2, sizeof(g_git2), "%s/import.git", g_dir);
	/* plain git must not read the user's or the system's configuration */
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("HOME", g_dir, 1);
	if (cfgfs_store_global_init(false) < 0) {
		printf("FAIL cfgfs_store_global_init\n");
		return 1;
	}
	test_store();
	test_implicit_dirs();
	test_batches();
	test_import();
	test_open_errors();
	CHECK_RC(c_sh("git --git-dir='%s' fsck --strict --no-dangling", g_git), 0);
	CHECK_RC(c_sh("git --git-dir='%s' fsck --strict --no-dangling", g_git2), 0);
	cfgfs_store_global_shutdown();
	if (c_failures == 0)
		c_sh("rm -rf '%s'", g_dir);
	else
		printf("scratch directory kept: %s\n", g_dir);
	return c_done("test_store");
}
