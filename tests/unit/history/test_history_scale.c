/*
 * test_history_scale.c — 1,000 saves over 100 files: every file's versions
 * are right and asking for them reads no commit; the index is built once
 * and extended one commit per refresh; repack leaves `git fsck` clean,
 * also while another thread commits; readers on many threads while the
 * writer commits and refreshes.
 */
#include "hist_test.h"

#include <pthread.h>
#include <time.h>
#include <unistd.h>

#define T_SAVES 1000
#define T_FILES 100
#define T_DIRS 10
#define T_MORE_SAVES 50
#define T_RACE_SAVES 300
#define T_READERS 4
#define T_REPACK_THRESHOLD 100
#define T_CONTENT_LEN 64
#define T_NAME_LEN 32

struct scale {
	struct t_ctx *t;
	struct cfgfs_store *s;
	struct cfgfs_history *h;
	uint64_t *written[T_FILES]; /* revisions that wrote each file */
	size_t nwritten[T_FILES];
	uint64_t file_of[T_SAVES + 2 * T_MORE_SAVES + T_RACE_SAVES + 1]; /* by revision */
};

static void file_name(char *buf, size_t size, unsigned f)
{
	snprintf(buf, size, "d%u/f%u.yaml", f % T_DIRS, f);
}

static void content_of(char *buf, size_t size, uint64_t rev)
{
	snprintf(buf, size, "rev: %llu\n", (unsigned long long)rev);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Save number I: a spread-out file, unique content. */
static int save(struct scale *sc, unsigned i, bool refresh)
{
	char path[T_NAME_LEN], data[T_CONTENT_LEN];
	unsigned f = (i * 37 + i / T_FILES) % T_FILES;
	file_name(path, sizeof(path), f);
	content_of(data, sizeof(data), i + 1);
	uint64_t rev =
	    t_commit(sc->t, sc->s, t_put(path, data, t_meta(S_IFREG | 0644, 0, i)), "save");
	if (rev != i + 1)
		return -1;
	uint64_t *v = realloc(sc->written[f], (sc->nwritten[f] + 1) * sizeof(*v));
	if (!v)
		return -1;
	v[sc->nwritten[f]++] = rev;
	sc->written[f] = v;
	sc->file_of[rev] = f;
	return refresh ? cfgfs_history_refresh(sc->h) : 0;
}

static void check_versions(struct scale *sc)
{
	struct t_ctx *t = sc->t;
	struct cfgfs_hist_stats before, after;
	cfgfs_history_stats(sc->h, &before);
	for (unsigned f = 0; f < T_FILES; f++) {
		char path[T_NAME_LEN];
		uint64_t *v = NULL;
		size_t n = 0;
		file_name(path, sizeof(path), f);
		CHECK_RC(t, cfgfs_history_versions(sc->h, path, &v, &n), 0);
		CHECK(t, n == sc->nwritten[f]);
		CHECK(t, n == 0 || memcmp(v, sc->written[f], n * sizeof(*v)) == 0);
		free(v);
	}
	cfgfs_history_stats(sc->h, &after);
	/* the index answers; history is not walked */
	CHECK(t, after.commits_read == before.commits_read);
	CHECK(t, after.revisions_indexed == before.revisions_indexed);
}

/* Every revision shows the content its own save wrote. */
static void check_reads(struct scale *sc, uint64_t upto)
{
	int bad = 0;
	for (uint64_t rev = 1; rev <= upto; rev++) {
		char path[T_NAME_LEN], want[T_CONTENT_LEN];
		file_name(path, sizeof(path), (unsigned)sc->file_of[rev]);
		content_of(want, sizeof(want), rev);
		if (!t_read_is(sc->h, rev, path, want))
			bad++;
	}
	CHECK(sc->t, bad == 0);
}

static int git_fsck(struct t_ctx *t)
{
	return t_sh("git --git-dir='%s' fsck --strict --no-dangling --no-progress", t->gitdir);
}

static int count_loose(struct t_ctx *t)
{
	return t_sh(
	    "exit $(find '%s/objects' -path '*/objects/[0-9a-f][0-9a-f]/*' -type f | wc -l | "
	    "awk '{print ($1 > 250 ? 250 : $1)}')",
	    t->gitdir);
}

static void test_thousand(struct scale *sc)
{
	struct t_ctx *t = sc->t;
	struct cfgfs_hist_stats st;
	char err[T_ERR_LEN] = "";

	for (unsigned i = 0; i < T_SAVES; i++)
		if (save(sc, i, true) < 0) {
			printf("FAIL save %u\n", i);
			t->failures++;
			return;
		}
	cfgfs_history_stats(sc->h, &st);
	/* one commit read and one diff per refresh, after an empty start */
	CHECK(t, st.commits_read == T_SAVES && st.revisions_indexed == T_SAVES);
	CHECK(t, cfgfs_history_head(sc->h) == T_SAVES);
	check_versions(sc);
	check_reads(sc, T_SAVES);

	struct t_names names = {0};
	CHECK_RC(t, cfgfs_history_files_list(sc->h, "", t_collect, &names), 0);
	CHECK(t, strcmp(names.text, "d0/d d1/d d2/d d3/d d4/d d5/d d6/d d7/d d8/d d9/d") == 0);
	memset(&names, 0, sizeof(names));
	CHECK_RC(t, cfgfs_history_files_list(sc->h, "d3", t_collect, &names), 0);
	CHECK(t, strcmp(names.text, "f13.yaml/f f23.yaml/f f3.yaml/f f33.yaml/f f43.yaml/f "
	                            "f53.yaml/f f63.yaml/f f73.yaml/f f83.yaml/f f93.yaml/f") == 0);

	/* a full build from nothing, then a load of the file it wrote */
	char index[T_PATH_LEN];
	snprintf(index, sizeof(index), "%s/%s", t->gitdir, CFGFS_HISTORY_INDEX_NAME);
	cfgfs_history_close(sc->h);
	sc->h = NULL;
	CHECK_RC(t, unlink(index), 0);
	double t0 = now_ms();
	CHECK_RC(t, cfgfs_history_open(&sc->h, t->gitdir, err, sizeof(err)), 0);
	double t1 = now_ms();
	if (!sc->h)
		return;
	cfgfs_history_stats(sc->h, &st);
	CHECK(t, st.index_builds == 1 && st.commits_read == T_SAVES);
	check_versions(sc);
	cfgfs_history_close(sc->h);
	sc->h = NULL;
	double t2 = now_ms();
	CHECK_RC(t, cfgfs_history_open(&sc->h, t->gitdir, err, sizeof(err)), 0);
	double t3 = now_ms();
	if (!sc->h)
		return;
	cfgfs_history_stats(sc->h, &st);
	CHECK(t, st.index_loads == 1 && st.commits_read == 0);
	check_versions(sc);
	printf("index of %d commits: build %.1f ms, load %.1f ms\n", T_SAVES, t1 - t0, t3 - t2);
}

static void test_repack(struct scale *sc)
{
	struct t_ctx *t = sc->t;
	CHECK(t, count_loose(t) == 250);
	double t0 = now_ms();
	int removed = cfgfs_history_repack(sc->h, T_REPACK_THRESHOLD);
	printf("repack: %d loose objects removed in %.1f ms\n", removed, now_ms() - t0);
	CHECK(t, removed > 2 * T_SAVES);
	CHECK(t, count_loose(t) == 0);
	CHECK_RC(t, git_fsck(t), 0);
	CHECK_RC(t, cfgfs_history_repack(sc->h, T_REPACK_THRESHOLD), 0); /* under threshold */
	check_reads(sc, T_SAVES);

	/* the writer goes on; the next repack packs only what is new */
	for (unsigned i = T_SAVES; i < T_SAVES + T_MORE_SAVES; i++)
		if (save(sc, i, true) < 0) {
			t->failures++;
			return;
		}
	removed = cfgfs_history_repack(sc->h, 0);
	CHECK(t, removed > 0 && removed < 10 * T_MORE_SAVES);
	CHECK(t, count_loose(t) == 0);
	CHECK_RC(t, git_fsck(t), 0);
	CHECK_RC(t, t_sh("test $(ls '%s/objects/pack/' | grep -c '\\.pack$') = 2", t->gitdir), 0);
	check_reads(sc, T_SAVES + T_MORE_SAVES);
	check_versions(sc);
}

struct racer {
	struct scale *sc;
	unsigned first, count;
	int failed;
	volatile int done;
};

static void *commit_thread(void *arg)
{
	struct racer *r = arg;
	for (unsigned i = r->first; i < r->first + r->count; i++)
		if (save(r->sc, i, false) < 0)
			r->failed++;
	__atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Repack over and over while another handle commits. */
static void test_repack_race(struct scale *sc)
{
	struct t_ctx *t = sc->t;
	struct racer r = {sc, T_SAVES + T_MORE_SAVES, T_RACE_SAVES, 0, 0};
	pthread_t th;
	int rounds = 0, errors = 0;
	if (pthread_create(&th, NULL, commit_thread, &r) != 0) {
		t->failures++;
		return;
	}
	while (!__atomic_load_n(&r.done, __ATOMIC_ACQUIRE)) {
		if (cfgfs_history_repack(sc->h, 0) < 0)
			errors++;
		rounds++;
	}
	pthread_join(th, NULL);
	printf("repack race: %d repacks during %d commits\n", rounds, T_RACE_SAVES);
	CHECK(t, r.failed == 0 && errors == 0);
	CHECK(t, cfgfs_history_repack(sc->h, 0) >= 0);
	CHECK_RC(t, git_fsck(t), 0);
	CHECK_RC(t, cfgfs_history_refresh(sc->h), 0);
	uint64_t head = T_SAVES + T_MORE_SAVES + T_RACE_SAVES;
	CHECK(t, cfgfs_history_head(sc->h) == head);
	check_reads(sc, head);
	check_versions(sc);
}

struct reader {
	struct scale *sc;
	unsigned seed;
	int errors;
	volatile int *stop;
};

static void *read_thread(void *arg)
{
	struct reader *rd = arg;
	while (!__atomic_load_n(rd->stop, __ATOMIC_ACQUIRE)) {
		uint64_t head = cfgfs_history_head(rd->sc->h);
		uint64_t rev = 1 + (uint64_t)rand_r(&rd->seed) % head;
		char path[T_NAME_LEN], want[T_CONTENT_LEN];
		struct stat st;
		struct t_names names = {0};
		uint64_t *v = NULL;
		size_t n = 0;
		file_name(path, sizeof(path), (unsigned)rd->sc->file_of[rev]);
		content_of(want, sizeof(want), rev);
		if (!t_read_is(rd->sc->h, rev, path, want) ||
		    cfgfs_history_stat(rd->sc->h, rev, path, &st) < 0 ||
		    st.st_size != (off_t)strlen(want) ||
		    cfgfs_history_list(rd->sc->h, rev, "", t_collect, &names) < 0 ||
		    cfgfs_history_versions(rd->sc->h, path, &v, &n) < 0)
			rd->errors++;
		free(v);
	}
	return NULL;
}

/* Readers on several threads while this one commits and refreshes. */
static void test_readers(struct scale *sc)
{
	struct t_ctx *t = sc->t;
	struct reader rd[T_READERS];
	pthread_t th[T_READERS];
	volatile int stop = 0;
	int started = 0;
	for (int i = 0; i < T_READERS; i++) {
		rd[i] = (struct reader){sc, (unsigned)i + 1, 0, &stop};
		if (pthread_create(&th[i], NULL, read_thread, &rd[i]) != 0)
			break;
		started++;
	}
	CHECK(t, started == T_READERS);
	/* rewrite the newest saves' files again: same revisions numbering scheme */
	uint64_t head = cfgfs_history_head(sc->h);
	for (unsigned i = (unsigned)head; i < head + T_MORE_SAVES; i++)
		if (save(sc, i, true) < 0)
			t->failures++;
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < started; i++) {
		pthread_join(th[i], NULL);
		CHECK(t, rd[i].errors == 0);
	}
	check_versions(sc);
}

int main(void)
{
	struct t_ctx t = {0};
	struct scale *sc = calloc(1, sizeof(*sc));
	char err[T_ERR_LEN] = "";
	int rc = 1;

	if (!sc || cfgfs_store_global_init(false) < 0 || t_setup(&t, "history-scale") < 0) {
		printf("FAIL setup\n");
		free(sc);
		return 1;
	}
	sc->t = &t;
	if (cfgfs_store_open(&sc->s, t.gitdir, err, sizeof(err)) < 0 ||
	    cfgfs_history_open(&sc->h, t.gitdir, err, sizeof(err)) < 0) {
		printf("FAIL open: %s\n", err);
		goto cleanup;
	}
	test_thousand(sc);
	if (sc->h && t.failures == 0) {
		test_repack(sc);
		test_repack_race(sc);
		test_readers(sc);
	}
	rc = t.failures == 0 ? 0 : 1;
	printf("%s: %d failures\n", rc ? "FAIL" : "ok", t.failures);
cleanup:
	cfgfs_history_close(sc->h);
	cfgfs_store_close(sc->s);
	for (unsigned f = 0; f < T_FILES; f++)
		free(sc->written[f]);
	free(sc);
	t_teardown(&t);
	cfgfs_store_global_shutdown();
	return rc;
}
