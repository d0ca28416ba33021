/*
 * test_meta.c — backend/meta: parse/format round trips, sorted output,
 * escaping of backslash and newline in names, set/get/remove, and the
 * malformed blobs parse refuses.
 */
#include "core_test.h"

#include <stdint.h>

#include "backend/meta.h"

static struct cfgfs_meta mk(uint32_t mode, uint32_t uid, uint32_t gid, int64_t sec, int32_t nsec)
{
	struct cfgfs_meta m = {mode, uid, gid, sec, nsec};
	return m;
}

static bool meta_eq(const struct cfgfs_meta *a, const struct cfgfs_meta *b)
{
	return a && b && a->mode == b->mode && a->uid == b->uid && a->gid == b->gid &&
	       a->mtime_sec == b->mtime_sec && a->mtime_nsec == b->mtime_nsec;
}

static char *format_dir(const struct cfgfs_meta_dir *d, size_t *len)
{
	char *buf = NULL;
	size_t l = 0;
	int rc = cfgfs_meta_format(&buf, &l, d);
	CHECK_RC(rc, 0);
	if (len)
		*len = l;
	return rc == 0 ? buf : NULL;
}

static void test_set_get_remove(void)
{
	struct cfgfs_meta_dir d = {0};
	struct cfgfs_meta a = mk(S_IFREG | 0644, 1, 2, 3, 4);
	struct cfgfs_meta b = mk(S_IFREG | 0600, 5, 6, 7, 8);
	CHECK(cfgfs_meta_get(&d, "a") == NULL);
	CHECK_RC(cfgfs_meta_set(&d, "a", &a), 0);
	CHECK_RC(cfgfs_meta_set(&d, "b", &b), 0);
	CHECK_RC(d.n, 2);
	CHECK(meta_eq(cfgfs_meta_get(&d, "a"), &a));
	CHECK(meta_eq(cfgfs_meta_get(&d, "b"), &b));
	/* replace keeps one entry */
	CHECK_RC(cfgfs_meta_set(&d, "a", &b), 0);
	CHECK_RC(d.n, 2);
	CHECK(meta_eq(cfgfs_meta_get(&d, "a"), &b));
	cfgfs_meta_remove(&d, "a");
	CHECK_RC(d.n, 1);
	CHECK(cfgfs_meta_get(&d, "a") == NULL);
	CHECK(meta_eq(cfgfs_meta_get(&d, "b"), &b));
	cfgfs_meta_remove(&d, "nope"); /* absent: no-op */
	CHECK_RC(d.n, 1);
	cfgfs_meta_remove(&d, "b");
	CHECK_RC(d.n, 0);
	/* many entries in reverse order: all found */
	for (int i = 99; i >= 0; i--) {
		char name[16];
		snprintf(name, sizeof(name), "n%03d", i);
		struct cfgfs_meta m = mk(S_IFREG | 0644, (uint32_t)i, 0, i, 0);
		CHECK_RC(cfgfs_meta_set(&d, name, &m), 0);
	}
	CHECK_RC(d.n, 100);
	for (int i = 0; i < 100; i++) {
		char name[16];
		snprintf(name, sizeof(name), "n%03d", i);
		const struct cfgfs_meta *m = cfgfs_meta_get(&d, name);
		CHECK(m && m->uid == (uint32_t)i);
	}
	cfgfs_meta_dir_free(&d);
	CHECK(d.n == 0 && d.v == NULL);
}

static void test_sorted_format(void)
{
	struct cfgfs_meta_dir d = {0};
	struct cfgfs_meta f = mk(S_IFREG | 0644, 1000, 100, 1700000000, 123456789);
	struct cfgfs_meta x = mk(S_IFREG | 0755, 0, 0, 5, 0);
	struct cfgfs_meta l = mk(S_IFLNK | 0777, 0, 0, -1, 0);
	struct cfgfs_meta dot = mk(S_IFDIR | 0750, 7, 8, 9, 10);
	/* inserted out of order */
	CHECK_RC(cfgfs_meta_set(&d, "zeta", &x), 0);
	CHECK_RC(cfgfs_meta_set(&d, "alpha", &f), 0);
	CHECK_RC(cfgfs_meta_set(&d, ".", &dot), 0);
	CHECK_RC(cfgfs_meta_set(&d, "link", &l), 0);
	size_t len = 0;
	char *buf = format_dir(&d, &len);
	const char *want = "cfgfs-meta 1\n"
			   "40750 7 8 9 10 .\n"
			   "100644 1000 100 1700000000 123456789 alpha\n"
			   "120777 0 0 -1 0 link\n"
			   "100755 0 0 5 0 zeta\n";
	CHECK_STR(buf, want);
	CHECK_RC(len, strlen(want));

	/* another insertion order gives the same blob */
	struct cfgfs_meta_dir e = {0};
	CHECK_RC(cfgfs_meta_set(&e, "link", &l), 0);
	CHECK_RC(cfgfs_meta_set(&e, ".", &dot), 0);
	CHECK_RC(cfgfs_meta_set(&e, "alpha", &f), 0);
	CHECK_RC(cfgfs_meta_set(&e, "zeta", &x), 0);
	char *buf2 = format_dir(&e, NULL);
	CHECK_STR(buf2, want);

	/* round trip */
	struct cfgfs_meta_dir p;
	CHECK_RC(cfgfs_meta_parse(&p, buf, len), 0);
	CHECK_RC(p.n, 4);
	CHECK(meta_eq(cfgfs_meta_get(&p, "."), &dot));
	CHECK(meta_eq(cfgfs_meta_get(&p, "alpha"), &f));
	CHECK(meta_eq(cfgfs_meta_get(&p, "link"), &l));
	CHECK(meta_eq(cfgfs_meta_get(&p, "zeta"), &x));
	char *buf3 = format_dir(&p, NULL);
	CHECK_STR(buf3, want);

	/* a blob whose lines are not sorted parses, and formats sorted */
	const char *unsorted = "cfgfs-meta 1\n"
			       "100755 0 0 5 0 zeta\n"
			       "100644 1000 100 1700000000 123456789 alpha\n"
			       "40750 7 8 9 10 .\n"
			       "120777 0 0 -1 0 link\n";
	struct cfgfs_meta_dir u;
	CHECK_RC(cfgfs_meta_parse(&u, unsorted, strlen(unsorted)), 0);
	char *buf4 = format_dir(&u, NULL);
	CHECK_STR(buf4, want);

	/* header only: an empty dir */
	struct cfgfs_meta_dir h;
	CHECK_RC(cfgfs_meta_parse(&h, CFGFS_META_HEADER, strlen(CFGFS_META_HEADER)), 0);
	CHECK_RC(h.n, 0);
	struct cfgfs_meta_dir none = {0};
	char *buf5 = format_dir(&none, NULL);
	CHECK_STR(buf5, CFGFS_META_HEADER);

	free(buf);
	free(buf2);
	free(buf3);
	free(buf4);
	free(buf5);
	cfgfs_meta_dir_free(&d);
	cfgfs_meta_dir_free(&e);
	cfgfs_meta_dir_free(&p);
	cfgfs_meta_dir_free(&u);
	cfgfs_meta_dir_free(&h);
}

static void test_escaping(void)
{
	static const char *const names[] = {
	    "back\\slash", "new\nline", "both\\n\n\\", "\\", "\n", "with space", "trail\\\\",
	    "\\n literally",
	};
	const size_t n = sizeof(names) / sizeof(names[0]);
	struct cfgfs_meta_dir d = {0};
	for (size_t i = 0; i < n; i++) {
		struct cfgfs_meta m = mk(S_IFREG | 0600, (uint32_t)i, 0, (int64_t)i, 0);
		CHECK_RC(cfgfs_meta_set(&d, names[i], &m), 0);
	}
	size_t len = 0;
	char *buf = format_dir(&d, &len);
	if (!buf)
		return;
	/* one line per entry plus the header: no raw newline from a name */
	size_t lines = 0;
	for (size_t i = 0; i < len; i++)
		lines += buf[i] == '\n';
	CHECK_RC(lines, n + 1);
	CHECK_HAS(buf, " back\\\\slash\n");
	CHECK_HAS(buf, " new\\nline\n");
	CHECK_HAS(buf, " both\\\\n\\n\\\\\n");
	CHECK_HAS(buf, " \\\\n literally\n");
	struct cfgfs_meta_dir p;
	CHECK_RC(cfgfs_meta_parse(&p, buf, len), 0);
	CHECK_RC(p.n, n);
	for (size_t i = 0; i < n; i++) {
		const struct cfgfs_meta *m = cfgfs_meta_get(&p, names[i]);
		CHECK(m && m->uid == (uint32_t)i);
		if (!m)
			printf("  missing name #%zu after round trip\n", i);
	}
	free(buf);
	cfgfs_meta_dir_free(&d);
	cfgfs_meta_dir_free(&p);
}

static void expect_invalid(const char *what, const char *blob, size_t len)
{
	struct cfgfs_meta_dir p;
	int rc = cfgfs_meta_parse(&p, blob, len);
	if (rc != -EINVAL) {
		printf("FAIL %s:%d: parse of %s = %d, want -EINVAL\n", __FILE__, __LINE__, what,
		       rc);
		c_failures++;
	}
	/* the dir is empty after a refusal (and freeing it is safe) */
	CHECK(p.n == 0);
	cfgfs_meta_dir_free(&p);
}

#define INVALID(what, s) expect_invalid(what, s, sizeof(s) - 1)

static void test_malformed(void)
{
	INVALID("empty blob", "");
	INVALID("no header", "100644 0 0 0 0 a\n");
	INVALID("wrong version", "cfgfs-meta 2\n100644 0 0 0 0 a\n");
	INVALID("header without newline", "cfgfs-meta 1");
	INVALID("header misspelled", "cfgfs-mete 1\n");
	INVALID("missing final newline", "cfgfs-meta 1\n100644 0 0 0 0 a");
	INVALID("too few fields", "cfgfs-meta 1\n100644 0 0 0 a\n");
	INVALID("no name", "cfgfs-meta 1\n100644 0 0 0 0 \n");
	INVALID("no name, no space", "cfgfs-meta 1\n100644 0 0 0 0\n");
	INVALID("non-numeric uid", "cfgfs-meta 1\n100644 x 0 0 0 a\n");
	INVALID("bad escape", "cfgfs-meta 1\n100644 0 0 0 0 a\\tb\n");
	INVALID("trailing backslash", "cfgfs-meta 1\n100644 0 0 0 0 a\\\n");
	INVALID("garbage line", "cfgfs-meta 1\n100644 0 0 0 0 a\nhello\n");
	INVALID("blank line", "cfgfs-meta 1\n\n");
	/* a good line then a bad one: the whole blob refused */
	INVALID("good then bad", "cfgfs-meta 1\n100644 0 0 0 0 a\n100644 0 0\n");
	/* length bounds the parse: a valid blob cut mid-line */
	const char *good = "cfgfs-meta 1\n100644 0 0 0 0 abc\n";
	expect_invalid("truncated", good, strlen(good) - 3);
	struct cfgfs_meta_dir p;
	CHECK_RC(cfgfs_meta_parse(&p, good, strlen(good)), 0);
	CHECK(cfgfs_meta_get(&p, "abc") != NULL);
	cfgfs_meta_dir_free(&p);
}

int main(void)
{
	test_set_get_remove();
	test_sorted_format();
	test_escaping();
	test_malformed();
	return c_done("test_meta");
}
