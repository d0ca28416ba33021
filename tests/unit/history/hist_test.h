/*
 * hist_test.h — what the history/ unit tests share: a failure counter, a
 * scratch directory, and one-edit commits through the backend store (the
 * same writer the mount uses), so the tests read the store format the
 * writer really produces.
 */
#ifndef CFGFS_HIST_TEST_H
#define CFGFS_HIST_TEST_H

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backend/store.h"
#include "history/history.h"

#define T_ERR_LEN 512
#define T_DIR_LEN 256
#define T_GITDIR_LEN 512
#define T_PATH_LEN 1024
#define T_AUTHOR "alice"
#define T_EMAIL "alice@example.org"

struct t_ctx {
	int failures;
	char dir[T_DIR_LEN];       /* scratch directory */
	char gitdir[T_GITDIR_LEN]; /* DIR/store.git */
};

#define CHECK(t, cond)                                                                             \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                     \
			(t)->failures++;                                                           \
		}                                                                                  \
	} while (0)

#define CHECK_RC(t, expr, want)                                                                    \
	do {                                                                                       \
		int got_ = (expr);                                                                 \
		if (got_ != (want)) {                                                              \
			printf("FAIL %s:%d: %s = %d, want %d\n", __FILE__, __LINE__, #expr, got_,  \
			       (want));                                                            \
			(t)->failures++;                                                           \
		}                                                                                  \
	} while (0)

static inline int t_setup(struct t_ctx *t, const char *name)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/cfgfs-%s-XXXXXX", name);
	if (!mkdtemp(t->dir))
		return -errno;
	snprintf(t->gitdir, sizeof(t->gitdir), "%s/store.git", t->dir);
	return 0;
}

static inline int t_sh(const char *fmt, ...)
{
	char cmd[4 * T_PATH_LEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int st = system(cmd);
	return st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static inline void t_teardown(struct t_ctx *t)
{
	if (t->failures == 0 && t->dir[0])
		t_sh("rm -rf '%s'", t->dir);
}

static inline struct cfgfs_meta t_meta(uint32_t mode, uint32_t uid, int64_t mtime)
{
	struct cfgfs_meta m = {mode, uid, uid, mtime, 0};
	return m;
}

/* One commit of one edit; returns the revision number, or 0 on failure. */
static inline uint64_t t_commit(struct t_ctx *t, struct cfgfs_store *s, struct cfgfs_edit e,
                                const char *message)
{
	struct cfgfs_revision rev;
	char err[T_ERR_LEN] = "";
	int rc = cfgfs_store_commit(s, &rev, &e, 1, T_AUTHOR, T_EMAIL, message, err, sizeof(err));
	if (rc < 0) {
		printf("FAIL commit '%s': %d %s\n", message, rc, err);
		t->failures++;
		return 0;
	}
	return rev.number;
}

static inline struct cfgfs_edit t_put(const char *path, const char *data, struct cfgfs_meta m)
{
	struct cfgfs_edit e = {.kind = CFGFS_EDIT_PUT,
	                       .path = path,
	                       .data = data,
	                       .len = data ? strlen(data) : 0,
	                       .meta = m};
	return e;
}

static inline struct cfgfs_edit t_edit(enum cfgfs_edit_kind kind, const char *path,
                                       const char *from, struct cfgfs_meta m)
{
	struct cfgfs_edit e = {.kind = kind, .path = path, .from = from, .meta = m};
	return e;
}

/* Content of PATH at revision N as a string ("<errno>" on failure). */
static inline int t_read_is(struct cfgfs_history *h, uint64_t n, const char *path, const char *want)
{
	char *buf = NULL;
	size_t len = 0;
	int rc = cfgfs_history_read(h, n, path, &buf, &len);
	int ok = rc == 0 && len == strlen(want) && memcmp(buf, want, len) == 0;
	if (!ok)
		printf("  read %s@%llu: rc %d, got '%.*s', want '%s'\n", path,
		       (unsigned long long)n, rc, rc == 0 ? (int)len : 0, rc == 0 ? buf : "", want);
	free(buf);
	return ok;
}

/* Versions of PATH as "1,2,5" (or "-errno"). */
static inline void t_versions(struct cfgfs_history *h, const char *path, char *out, size_t size)
{
	uint64_t *v = NULL;
	size_t n = 0;
	int rc = cfgfs_history_versions(h, path, &v, &n);
	if (rc < 0) {
		snprintf(out, size, "%d", rc);
		return;
	}
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		size_t used = strlen(out);
		snprintf(out + used, size - used, "%s%llu", i ? "," : "", (unsigned long long)v[i]);
	}
	free(v);
}

struct t_names {
	char text[T_PATH_LEN]; /* "name/d name/f name/l ..." */
};

static inline int t_collect(void *arg, const char *name, unsigned char type)
{
	struct t_names *n = arg;
	size_t used = strlen(n->text);
	char c = type == DT_DIR ? 'd' : type == DT_REG ? 'f' : type == DT_LNK ? 'l' : '?';
	snprintf(n->text + used, sizeof(n->text) - used, "%s%s/%c", used ? " " : "", name, c);
	return 0;
}

#endif
