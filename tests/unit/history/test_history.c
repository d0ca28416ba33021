/*
 * test_history.c — history/ over a scripted store: the tree, modes, owners,
 * symlinks and empty directories at every revision; per-file versions
 * (a delete and a re-create included); the changes of every revision; the
 * log text; the index file kept, cut, corrupted and outrun by a plain-git
 * rewrite; and a store written by plain git alone.
 */
#include "hist_test.h"

#include <regex.h>
#include <unistd.h>

#define T_CHANGES_LEN 1024
#define T_VERSIONS_LEN 256
#define T_SCRIPT_REVS 14

struct step {
	struct cfgfs_edit edit;
	const char *message;
	const char *changes; /* what cfgfs_history_changes must say */
};

/* 0600 and friends, with the type bits the store wants */
#define F(perm) (S_IFREG | (perm))
#define D(perm) (S_IFDIR | (perm))
#define L (S_IFLNK | 0777)

static void render_changes(struct cfgfs_history *h, uint64_t n, char *out, size_t size)
{
	struct cfgfs_hist_change *v = NULL;
	size_t count = 0;
	int rc = cfgfs_history_changes(h, n, &v, &count);
	out[0] = '\0';
	if (rc < 0) {
		snprintf(out, size, "error %d", rc);
		return;
	}
	for (size_t i = 0; i < count; i++) {
		size_t used = strlen(out);
		snprintf(out + used, size - used, "%s%s %s%s%s", i ? "; " : "", v[i].op, v[i].path,
		         v[i].from ? " < " : "", v[i].from ? v[i].from : "");
	}
	cfgfs_hist_changes_free(v, count);
}

static int build_script(struct t_ctx *t, struct cfgfs_store *s)
{
	/* revision 1 writes two files in one commit */
	struct cfgfs_edit first[] = {
	    t_put("a.yaml", "one\n", (struct cfgfs_meta){F(0644), 1000, 100, 1000, 5}),
	    t_put("dir/b.txt", "bee\n", t_meta(F(0600), 0, 1001)),
	};
	struct cfgfs_revision rev;
	char err[T_ERR_LEN] = "";
	if (cfgfs_store_commit(s, &rev, first, 2, T_AUTHOR, T_EMAIL, "m1", err, sizeof(err)) < 0) {
		printf("FAIL first commit: %s\n", err);
		return -1;
	}
	const struct step steps[] = {
	    {t_put("a.yaml", "two\n", t_meta(F(0644), 1000, 2000)), "m2", "modify a.yaml"},
	    {t_edit(CFGFS_EDIT_META, "a.yaml", NULL, t_meta(F(0600), 1000, 2000)), "m3",
	     "mode a.yaml"},
	    {t_edit(CFGFS_EDIT_MOVE, "dir/c.txt", "dir/b.txt", t_meta(F(0600), 0, 1001)), "m4",
	     "rename dir/c.txt < dir/b.txt"},
	    {t_edit(CFGFS_EDIT_REMOVE, "a.yaml", NULL, t_meta(0, 0, 0)), "m5", "delete a.yaml"},
	    {t_put("empty", NULL, t_meta(D(0700), 1000, 3000)), "m6", "create empty"},
	    {t_put("link", "dir/c.txt", t_meta(L, 1000, 3001)), "m7", "create link"},
	    {t_put("a.yaml", "three\n", t_meta(F(0640), 1000, 4000)), "m8", "create a.yaml"},
	    {t_edit(CFGFS_EDIT_META, "dir", NULL, t_meta(D(0750), 0, 5000)), "m9", "mode dir"},
	    {t_edit(CFGFS_EDIT_META, "a.yaml", NULL, t_meta(F(0640), 1000, 9999)), "m10",
	     "mode a.yaml"},
	    {t_edit(CFGFS_EDIT_MOVE, "dir2", "dir", t_meta(D(0750), 0, 5000)), "m11",
	     "rename dir2 < dir; rename dir2/c.txt < dir/c.txt"},
	    {t_put("a.yaml", "three\n", t_meta(F(0755), 1000, 9999)), "m12", "mode a.yaml"},
	    {t_edit(CFGFS_EDIT_REMOVE, "empty", NULL, t_meta(0, 0, 0)), "m13", "delete empty"},
	    {t_edit(CFGFS_EDIT_MOVE, "link2", "link", t_meta(L, 1000, 3001)), "m14",
	     "rename link2 < link"},
	};
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (t_commit(t, s, steps[i].edit, steps[i].message) != i + 2)
			return -1;
	return 0;
}

static const char *const SCRIPT_CHANGES[T_SCRIPT_REVS + 1] = {
    NULL,
    "create a.yaml; create dir; create dir/b.txt",
    "modify a.yaml",
    "mode a.yaml",
    "rename dir/c.txt < dir/b.txt",
    "delete a.yaml",
    "create empty",
    "create link",
    "create a.yaml",
    "mode dir",
    "mode a.yaml",
    "rename dir2 < dir; rename dir2/c.txt < dir/c.txt",
    "mode a.yaml",
    "delete empty",
    "rename link2 < link",
};

static void check_stat(struct t_ctx *t, struct cfgfs_history *h, uint64_t n, const char *path,
                       mode_t mode, uid_t uid, time_t mtime, off_t size, nlink_t nlink)
{
	struct stat st;
	int rc = cfgfs_history_stat(h, n, path, &st);
	if (rc != 0 || st.st_mode != mode || st.st_uid != uid || st.st_mtime != mtime ||
	    (size >= 0 && st.st_size != size) || st.st_nlink != nlink) {
		printf("FAIL stat %s@%llu: rc %d mode %o uid %u mtime %lld size %lld nlink %lu\n",
		       path, (unsigned long long)n, rc, (unsigned)st.st_mode, (unsigned)st.st_uid,
		       (long long)st.st_mtime, (long long)st.st_size, (unsigned long)st.st_nlink);
		t->failures++;
	}
}

static void check_trees(struct t_ctx *t, struct cfgfs_history *h)
{
	struct stat st;
	struct t_names names;

	check_stat(t, h, 1, "a.yaml", F(0644), 1000, 1000, 4, 1);
	check_stat(t, h, 1, "dir/b.txt", F(0600), 0, 1001, 4, 1);
	check_stat(t, h, 1, "", D(0755), 0, 0, -1, 3);
	check_stat(t, h, 1, "dir", D(0755), 0, 0, -1, 2);
	CHECK_RC(t, cfgfs_history_stat(h, 1, "a.yaml", &st), 0);
	CHECK(t, st.st_gid == 100 && st.st_mtim.tv_nsec == 5);
	CHECK(t, t_read_is(h, 1, "a.yaml", "one\n"));
	CHECK(t, t_read_is(h, 2, "a.yaml", "two\n"));
	check_stat(t, h, 3, "a.yaml", F(0600), 1000, 2000, 4, 1);
	CHECK_RC(t, cfgfs_history_stat(h, 5, "a.yaml", &st), -ENOENT);
	CHECK_RC(t, cfgfs_history_stat(h, 4, "a.yaml/x", &st), -ENOTDIR);
	CHECK_RC(t, cfgfs_history_stat(h, 4, "dir/b.txt", &st), -ENOENT);
	CHECK_RC(t, cfgfs_history_stat(h, 1, CFGFS_META_NAME, &st), -ENOENT);
	CHECK_RC(t, cfgfs_history_stat(h, 1, "dir/" CFGFS_META_NAME, &st), -ENOENT);
	CHECK_RC(t, cfgfs_history_stat(h, 1, "dir/../a.yaml", &st), -ENOENT);
	CHECK_RC(t, cfgfs_history_stat(h, 0, "", &st), -ENOENT);
	CHECK_RC(t, cfgfs_history_stat(h, T_SCRIPT_REVS + 1, "", &st), -ENOENT);
	check_stat(t, h, 6, "empty", D(0700), 1000, 3000, -1, 2);
	check_stat(t, h, 7, "link", L, 1000, 3001, 9, 1);
	CHECK(t, t_read_is(h, 7, "link", "dir/c.txt"));
	check_stat(t, h, 8, "a.yaml", F(0640), 1000, 4000, 6, 1);
	check_stat(t, h, 9, "dir", D(0750), 0, 5000, -1, 2);
	check_stat(t, h, 10, "a.yaml", F(0640), 1000, 9999, 6, 1);
	CHECK_RC(t, cfgfs_history_stat(h, 11, "dir", &st), -ENOENT);
	check_stat(t, h, 11, "dir2", D(0750), 0, 5000, -1, 2);
	check_stat(t, h, 11, "dir2/c.txt", F(0600), 0, 1001, 4, 1);
	CHECK(t, t_read_is(h, 11, "dir2/c.txt", "bee\n"));
	check_stat(t, h, 12, "a.yaml", F(0755), 1000, 9999, 6, 1);
	CHECK_RC(t, cfgfs_history_stat(h, 13, "empty", &st), -ENOENT);

	char *buf = NULL;
	size_t len = 0;
	CHECK_RC(t, cfgfs_history_read(h, 1, "dir", &buf, &len), -EISDIR);
	CHECK_RC(t, cfgfs_history_read(h, 1, "nope", &buf, &len), -ENOENT);

	memset(&names, 0, sizeof(names));
	CHECK_RC(t, cfgfs_history_list(h, 1, "", t_collect, &names), 0);
	CHECK(t, strcmp(names.text, "a.yaml/f dir/d") == 0);
	memset(&names, 0, sizeof(names));
	CHECK_RC(t, cfgfs_history_list(h, 7, "", t_collect, &names), 0);
	CHECK(t, strcmp(names.text, "dir/d empty/d link/l") == 0);
	memset(&names, 0, sizeof(names));
	CHECK_RC(t, cfgfs_history_list(h, 6, "empty", t_collect, &names), 0);
	CHECK(t, names.text[0] == '\0');
	CHECK_RC(t, cfgfs_history_list(h, 1, "a.yaml", t_collect, &names), -ENOTDIR);
	CHECK_RC(t, cfgfs_history_list(h, 1, "nope", t_collect, &names), -ENOENT);
}

static void check_index(struct t_ctx *t, struct cfgfs_history *h)
{
	static const char *const WANT[][2] = {
	    {"a.yaml", "1,2,3,8,12"}, {"dir/b.txt", "1"}, {"dir/c.txt", "4"},
	    {"dir2/c.txt", "11"},     {"link", "7"},      {"link2", "14"},
	};
	char got[T_VERSIONS_LEN];
	struct t_names names;

	for (size_t i = 0; i < sizeof(WANT) / sizeof(WANT[0]); i++) {
		t_versions(h, WANT[i][0], got, sizeof(got));
		if (strcmp(got, WANT[i][1]) != 0) {
			printf("FAIL versions %s: got %s want %s\n", WANT[i][0], got, WANT[i][1]);
			t->failures++;
		}
	}
	uint64_t *v = NULL;
	size_t n = 0;
	CHECK_RC(t, cfgfs_history_versions(h, "dir", &v, &n), -ENOENT);
	CHECK_RC(t, cfgfs_history_versions(h, "nope", &v, &n), -ENOENT);
	CHECK(t, cfgfs_history_files_kind(h, "") == CFGFS_HIST_WAS_DIR);
	CHECK(t, cfgfs_history_files_kind(h, "empty") == CFGFS_HIST_WAS_DIR);
	CHECK(t, cfgfs_history_files_kind(h, "a.yaml") == CFGFS_HIST_WAS_FILE);
	CHECK(t, cfgfs_history_files_kind(h, "nope") == 0);
	memset(&names, 0, sizeof(names));
	CHECK_RC(t, cfgfs_history_files_list(h, "", t_collect, &names), 0);
	CHECK(t, strcmp(names.text, "a.yaml/f dir/d dir2/d empty/d link/f link2/f") == 0);
	memset(&names, 0, sizeof(names));
	CHECK_RC(t, cfgfs_history_files_list(h, "dir", t_collect, &names), 0);
	CHECK(t, strcmp(names.text, "b.txt/f c.txt/f") == 0);
	CHECK_RC(t, cfgfs_history_files_list(h, "a.yaml", t_collect, &names), -ENOTDIR);
	CHECK_RC(t, cfgfs_history_files_list(h, "nope", t_collect, &names), -ENOENT);
}

static void check_changes(struct t_ctx *t, struct cfgfs_history *h)
{
	char got[T_CHANGES_LEN];
	for (uint64_t n = 1; n <= T_SCRIPT_REVS; n++) {
		render_changes(h, n, got, sizeof(got));
		if (strcmp(got, SCRIPT_CHANGES[n]) != 0) {
			printf("FAIL changes @%llu: got '%s' want '%s'\n", (unsigned long long)n,
			       got, SCRIPT_CHANGES[n]);
			t->failures++;
		}
	}
	struct cfgfs_hist_change *v = NULL;
	size_t count = 0;
	CHECK_RC(t, cfgfs_history_changes(h, 0, &v, &count), -ENOENT);
	CHECK_RC(t, cfgfs_history_changes(h, T_SCRIPT_REVS + 1, &v, &count), -ENOENT);
}

static void check_log(struct t_ctx *t, struct cfgfs_history *h)
{
	char *text = NULL;
	size_t len = 0;
	regex_t re;
	CHECK_RC(t, cfgfs_history_log_text(h, &text, &len), 0);
	CHECK_RC(t,
	         regcomp(&re,
	                 "^([0-9]+) ([0-9a-f]{40}) "
	                 "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z alice m([0-9]+)$",
	                 REG_EXTENDED),
	         0);
	uint64_t want = T_SCRIPT_REVS;
	for (char *line = text, *nl; text && (nl = strchr(line, '\n')); line = nl + 1, want--) {
		regmatch_t m[4];
		struct cfgfs_hist_rev r;
		*nl = '\0';
		if (regexec(&re, line, 4, m, 0) != 0) {
			printf("FAIL log line '%s'\n", line);
			t->failures++;
			continue;
		}
		CHECK(t, strtoull(line + m[1].rm_so, NULL, 10) == want);
		CHECK(t, strtoull(line + m[3].rm_so, NULL, 10) == want);
		CHECK_RC(t, cfgfs_history_revision(h, want, &r), 0);
		CHECK(t, strncmp(line + m[2].rm_so, r.commit, 40) == 0);
		CHECK(t, strcmp(r.author, T_AUTHOR) == 0);
		cfgfs_hist_rev_clear(&r);
	}
	CHECK(t, want == 0);
	regfree(&re);
	free(text);

	struct cfgfs_hist_rev r1, r2;
	CHECK_RC(t, cfgfs_history_revision(h, 1, &r1), 0);
	CHECK_RC(t, cfgfs_history_revision(h, 2, &r2), 0);
	CHECK(t, r1.parent[0] == '\0' && strcmp(r2.parent, r1.commit) == 0);
	CHECK(t, strcmp(r2.message, "m2") == 0 && r2.number == 2 && r2.time > 0);
	cfgfs_hist_rev_clear(&r1);
	cfgfs_hist_rev_clear(&r2);
	CHECK_RC(t, cfgfs_history_revision(h, 0, &r1), -ENOENT);
	CHECK_RC(t, cfgfs_history_revision(h, T_SCRIPT_REVS + 1, &r1), -ENOENT);
}

static void check_all(struct t_ctx *t, struct cfgfs_history *h)
{
	CHECK(t, cfgfs_history_head(h) == T_SCRIPT_REVS);
	check_trees(t, h);
	check_index(t, h);
	check_changes(t, h);
	check_log(t, h);
}

static struct cfgfs_history *reopen(struct t_ctx *t, struct cfgfs_history *h)
{
	char err[T_ERR_LEN] = "";
	cfgfs_history_close(h);
	h = NULL;
	if (cfgfs_history_open(&h, t->gitdir, err, sizeof(err)) < 0) {
		printf("FAIL reopen: %s\n", err);
		t->failures++;
	}
	return h;
}

/* Flip one hex digit of revision N's commit id in the index file. */
static int damage_commit(const char *index, int n)
{
	char key[32], buf[1 << 16];
	FILE *f = fopen(index, "r+");
	if (!f)
		return -errno;
	size_t len = fread(buf, 1, sizeof(buf) - 1, f);
	buf[len] = '\0';
	snprintf(key, sizeof(key), "\nR %d ", n);
	char *p = strstr(buf, key);
	int rc = -ENOENT;
	if (p) {
		p += strlen(key);
		*p = *p == '0' ? '1' : '0';
		rc = fseek(f, 0, SEEK_SET) == 0 && fwrite(buf, 1, len, f) == len ? 0 : -EIO;
	}
	if (fclose(f) != 0 && rc == 0)
		rc = -EIO;
	return rc;
}

/* Keep, cut, corrupt and outrun the index file; answers stay the same. */
static struct cfgfs_history *check_persistence(struct t_ctx *t, struct cfgfs_history *h)
{
	char index[T_PATH_LEN];
	struct cfgfs_hist_stats st;
	struct stat sb;
	snprintf(index, sizeof(index), "%s/%s", t->gitdir, CFGFS_HISTORY_INDEX_NAME);

	h = reopen(t, h);
	if (!h)
		return NULL;
	cfgfs_history_stats(h, &st);
	CHECK(t, st.index_loads == 1 && st.index_builds == 0 && st.commits_read == 0);
	check_all(t, h);

	/* a torn append: the last group is cut off and caught up again */
	CHECK_RC(t, stat(index, &sb), 0);
	CHECK_RC(t, truncate(index, sb.st_size - 5), 0);
	h = reopen(t, h);
	if (!h)
		return NULL;
	cfgfs_history_stats(h, &st);
	CHECK(t, st.index_loads == 1 && st.index_builds == 0 && st.commits_read == 1);
	CHECK(t, st.revisions_indexed == 1);
	CHECK_RC(t, stat(index, &sb), 0);
	check_all(t, h);

	/* a damaged commit id breaks the parent chain: rebuilt */
	CHECK_RC(t, damage_commit(index, 3), 0);
	h = reopen(t, h);
	if (!h)
		return NULL;
	cfgfs_history_stats(h, &st);
	CHECK(t, st.index_loads == 0 && st.index_builds == 1 && st.commits_read == T_SCRIPT_REVS);
	check_all(t, h);

	/* garbage */
	CHECK_RC(t, t_sh("printf 'cfgfs-index 1\\nX nonsense\\n' > '%s'", index), 0);
	h = reopen(t, h);
	if (!h)
		return NULL;
	cfgfs_history_stats(h, &st);
	CHECK(t, st.index_builds == 1);
	check_all(t, h);
	h = reopen(t, h);
	if (!h)
		return NULL;
	cfgfs_history_stats(h, &st);
	CHECK(t, st.index_loads == 1 && st.index_builds == 0);
	return h;
}

/* A plain-git rewrite of the newest commit: refresh notices and rebuilds. */
static void check_rewrite(struct t_ctx *t, struct cfgfs_history *h)
{
	struct cfgfs_hist_stats st;
	struct cfgfs_hist_rev r;
	CHECK_RC(
	    t,
	    t_sh("cd '%s' && git --git-dir=store.git update-ref HEAD $(git --git-dir=store.git "
	         "-c user.name=bob -c user.email=b@x commit-tree 'HEAD~1^{tree}' -p HEAD~1 "
	         "-m rewritten)",
	         t->dir),
	    0);
	CHECK_RC(t, cfgfs_history_refresh(h), 0);
	cfgfs_history_stats(h, &st);
	CHECK(t, st.index_builds == 1);
	CHECK(t, cfgfs_history_head(h) == T_SCRIPT_REVS);
	CHECK_RC(t, cfgfs_history_revision(h, T_SCRIPT_REVS, &r), 0);
	CHECK(t, strcmp(r.message, "rewritten") == 0 && strcmp(r.author, "bob") == 0);
	cfgfs_hist_rev_clear(&r);
	/* the rewritten commit changed nothing: link is still there, no version */
	char got[T_VERSIONS_LEN];
	t_versions(h, "link2", got, sizeof(got));
	CHECK(t, strcmp(got, "-2") == 0);
	t_versions(h, "a.yaml", got, sizeof(got));
	CHECK(t, strcmp(got, "1,2,3,8,12") == 0);
	CHECK(t, t_read_is(h, T_SCRIPT_REVS, "link", "dir/c.txt"));
}

static void test_script(struct t_ctx *t)
{
	struct cfgfs_store *s = NULL;
	struct cfgfs_history *h = NULL;
	char err[T_ERR_LEN] = "";

	if (cfgfs_store_open(&s, t->gitdir, err, sizeof(err)) < 0) {
		printf("FAIL store open: %s\n", err);
		t->failures++;
		return;
	}
	/* a history opened on an empty store, then caught up commit by commit */
	CHECK_RC(t, cfgfs_history_open(&h, t->gitdir, err, sizeof(err)), 0);
	if (!h)
		goto cleanup;
	CHECK(t, cfgfs_history_head(h) == 0);
	char *text = NULL;
	size_t len = 1;
	CHECK_RC(t, cfgfs_history_log_text(h, &text, &len), 0);
	CHECK(t, text && len == 0);
	free(text);
	if (build_script(t, s) < 0) {
		t->failures++;
		goto cleanup;
	}
	CHECK_RC(t, cfgfs_history_refresh(h), 0);
	CHECK_RC(t, cfgfs_history_refresh(h), 0);
	check_all(t, h);
	h = check_persistence(t, h);
	if (h)
		check_rewrite(t, h);
cleanup:
	cfgfs_history_close(h);
	cfgfs_store_close(s);
}

/* A store written by git alone: no meta blobs, defaults apply. */
static void test_plain_git(struct t_ctx *t)
{
	struct cfgfs_history *h = NULL;
	char err[T_ERR_LEN] = "", gitdir[T_PATH_LEN], got[T_VERSIONS_LEN];
	struct stat st;
	struct cfgfs_hist_rev r;

	CHECK_RC(t,
	         t_sh("set -e; cd '%s'; git init -q -b main wt; cd wt; "
	              "G='git -c user.name=carol -c user.email=c@x'; "
	              "mkdir sub; echo a > a.txt; printf '#!/bin/sh\\n' > sub/run.sh; "
	              "chmod 755 sub/run.sh; ln -s a.txt l; git add -A; "
	              "GIT_COMMITTER_DATE='@1700000000 +0000' $G commit -q -m 'first one'; "
	              "echo b > a.txt; $G commit -q -am second; "
	              "git rm -q l; $G commit -q -m third",
	              t->dir),
	         0);
	snprintf(gitdir, sizeof(gitdir), "%s/wt/.git", t->dir);
	CHECK_RC(t, cfgfs_history_open(&h, gitdir, err, sizeof(err)), 0);
	if (!h) {
		printf("  %s\n", err);
		return;
	}
	CHECK(t, cfgfs_history_head(h) == 3);
	CHECK_RC(t, cfgfs_history_revision(h, 1, &r), 0);
	CHECK(t, r.time == 1700000000 && strcmp(r.message, "first one") == 0);
	cfgfs_hist_rev_clear(&r);
	CHECK_RC(t, cfgfs_history_stat(h, 1, "a.txt", &st), 0);
	CHECK(t, st.st_mode == F(0644) && st.st_uid == 0 && st.st_mtime == 1700000000);
	CHECK_RC(t, cfgfs_history_stat(h, 1, "sub/run.sh", &st), 0);
	CHECK(t, st.st_mode == F(0755));
	CHECK_RC(t, cfgfs_history_stat(h, 1, "sub", &st), 0);
	CHECK(t, st.st_mode == D(0755) && st.st_nlink == 2);
	CHECK_RC(t, cfgfs_history_stat(h, 1, "l", &st), 0);
	CHECK(t, st.st_mode == L && st.st_size == 5);
	CHECK(t, t_read_is(h, 1, "l", "a.txt"));
	CHECK(t, t_read_is(h, 2, "a.txt", "b\n"));
	t_versions(h, "a.txt", got, sizeof(got));
	CHECK(t, strcmp(got, "1,2") == 0);
	t_versions(h, "l", got, sizeof(got));
	CHECK(t, strcmp(got, "1") == 0);
	render_changes(h, 1, got, sizeof(got));
	CHECK(t, strcmp(got, "create a.txt; create l; create sub/run.sh") == 0);
	render_changes(h, 3, got, sizeof(got));
	CHECK(t, strcmp(got, "delete l") == 0);
	CHECK(t, cfgfs_history_files_kind(h, "sub") == CFGFS_HIST_WAS_DIR);
	cfgfs_history_close(h);
}

int main(void)
{
	struct t_ctx t = {0};
	if (cfgfs_store_global_init(false) < 0 || t_setup(&t, "history") < 0) {
		printf("FAIL setup\n");
		return 1;
	}
	test_script(&t);
	test_plain_git(&t);
	printf("%s: %d failures\n", t.failures ? "FAIL" : "ok", t.failures);
	t_teardown(&t);
	cfgfs_store_global_shutdown();
	return t.failures == 0 ? 0 : 1;
}
