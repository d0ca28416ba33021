/*
 * test_schema_suite.c — the official JSON-Schema-Test-Suite, draft7.
 *
 * Each file is an array of {description, schema, tests: [{description,
 * data, valid}]}. Every file is parsed with the formats module (JSON), every
 * schema compiled from its node, every datum validated; the verdict must
 * match "valid" for 100% of the tests run. Failures must also carry a
 * position and a message that starts with a JSON path.
 *
 * Run: every tests/draft7/NAME.json except the skips below, plus
 * optional/bignum.json and optional/zeroTerminatedFloats.json, plus the
 * optional/format files of the formats cfgfs implements, with format
 * checking on.
 *
 * Skipped, deliberately:
 *   - refRemote.json: its refs point at http://localhost:1234/, which the
 *     suite expects a test server to serve; cfgfs never fetches schemas, so
 *     remote refs are a load error by design.
 *   - optional/content.json, optional/ecmascript-regex.json and the other
 *     optional/format files: contentMediaType/contentEncoding are
 *     annotations; patterns are PCRE2 (ECMA-262 quirks such as \Z being an
 *     error are not reproduced); only seven formats are checked.
 *
 * Usage: test_schema_suite DRAFT7_DIR. Exits 77 (skip) when the suite is not
 * installed (Debian package json-schema-test-suite).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backend/formats/doc.h"
#include "backend/formats/validate.h"
#include "backend/schema/schema.h"

#define EXIT_SKIP 77
#define MAX_FILES 128
#define PATH_LEN 1024
#define ERR_LEN 512

struct tally {
	unsigned run, passed, failed;
};

static const char *const skipped_files[] = {"refRemote.json"};

static const char *const optional_files[] = {"optional/bignum.json",
                                             "optional/zeroTerminatedFloats.json"};

static const char *const format_files[] = {
    "optional/format/date-time.json", "optional/format/email.json",
    "optional/format/hostname.json",  "optional/format/ipv4.json",
    "optional/format/ipv6.json",      "optional/format/uri.json",
    "optional/format/regex.json",     "optional/format/uri-reference.json",
};

static int read_all(char **out, size_t *len, const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long size;
	int rc = -EIO;

	*out = NULL;
	if (f == NULL)
		return -errno;
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
		goto cleanup;
	buf = malloc((size_t)size + 1);
	if (buf == NULL) {
		rc = -ENOMEM;
		goto cleanup;
	}
	if (fread(buf, 1, (size_t)size, f) != (size_t)size)
		goto cleanup;
	buf[size] = '\0';
	*out = buf;
	*len = (size_t)size;
	buf = NULL;
	rc = 0;

cleanup:
	free(buf);
	if (fclose(f) != 0 && rc == 0)
		rc = -EIO;
	return rc;
}

static const char *text_of(const struct cfgfs_node *n)
{
	return n != NULL && n->kind == CFGFS_NODE_SCALAR ? n->scalar.text : "?";
}

static void run_group(struct tally *t, const char *file, const struct cfgfs_node *group,
                      bool formats)
{
	const struct cfgfs_schema_options opt = {.check_formats = formats};
	const struct cfgfs_node *schema = cfgfs_doc_lookup(group, "schema");
	const struct cfgfs_node *tests = cfgfs_doc_lookup(group, "tests");
	const char *gdesc = text_of(cfgfs_doc_lookup(group, "description"));
	struct cfgfs_schema *s = NULL;
	char err[ERR_LEN];
	size_t i;
	int rc;

	if (schema == NULL || tests == NULL || tests->kind != CFGFS_NODE_SEQUENCE) {
		printf("FAIL %s: malformed group \"%s\"\n", file, gdesc);
		t->failed++;
		return;
	}
	rc = cfgfs_schema_compile(&s, schema, file, &opt, err, sizeof(err));
	if (rc != 0) {
		printf("FAIL %s / %s: schema does not compile (%d): %s\n", file, gdesc, rc, err);
		t->run += (unsigned)tests->sequence.count;
		t->failed += (unsigned)tests->sequence.count;
		return;
	}
	for (i = 0; i < tests->sequence.count; i++) {
		const struct cfgfs_node *test = tests->sequence.items[i];
		const struct cfgfs_node *data = cfgfs_doc_lookup(test, "data");
		const struct cfgfs_node *valid = cfgfs_doc_lookup(test, "valid");
		struct cfgfs_diag d;
		bool want, ok;

		t->run++;
		if (data == NULL || valid == NULL || valid->kind != CFGFS_NODE_SCALAR) {
			printf("FAIL %s / %s: malformed test %zu\n", file, gdesc, i);
			t->failed++;
			continue;
		}
		want = valid->scalar.boolean;
		rc = cfgfs_schema_validate(s, data, &d);
		ok = (rc == 0 && want) || (rc == -EINVAL && !want);
		/* A refusal must say where and what. */
		if (ok && rc == -EINVAL &&
		    (d.line == 0 || d.col == 0 || d.message[0] != '$' || d.reason == NULL)) {
			printf("FAIL %s / %s / %s: bad diagnostic %u:%u \"%s\"\n", file, gdesc,
			       text_of(cfgfs_doc_lookup(test, "description")), d.line, d.col,
			       d.message);
			ok = false;
		}
		if (ok) {
			t->passed++;
			continue;
		}
		t->failed++;
		printf("FAIL %s / %s / %s: expected %s, got %d %s\n", file, gdesc,
		       text_of(cfgfs_doc_lookup(test, "description")), want ? "valid" : "invalid", rc,
		       rc == -EINVAL ? d.message : "");
	}
	cfgfs_schema_free(s);
}

static void run_file(struct tally *t, const char *dir, const char *name, bool formats)
{
	char path[PATH_LEN];
	struct cfgfs_doc *doc = NULL;
	struct cfgfs_diag d;
	char *buf = NULL;
	size_t len = 0, i;
	int rc;

	(void)snprintf(path, sizeof(path), "%s/%s", dir, name);
	rc = read_all(&buf, &len, path);
	if (rc != 0) {
		printf("FAIL %s: cannot read (%d)\n", path, rc);
		t->failed++;
		return;
	}
	rc = cfgfs_doc_parse(&doc, &d, CFGFS_FORMAT_JSON, buf, len, NULL);
	if (rc != 0 || doc->count != 1 || doc->roots[0]->kind != CFGFS_NODE_SEQUENCE) {
		printf("FAIL %s: does not parse (%d) %u:%u %s\n", path, rc, d.line, d.col,
		       d.message);
		t->failed++;
		goto cleanup;
	}
	for (i = 0; i < doc->roots[0]->sequence.count; i++)
		run_group(t, name, doc->roots[0]->sequence.items[i], formats);

cleanup:
	cfgfs_doc_free(doc);
	free(buf);
}

static bool is_skipped(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(skipped_files) / sizeof(skipped_files[0]); i++)
		if (strcmp(name, skipped_files[i]) == 0)
			return true;
	return false;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/usr/share/json-schema-test-suite/tests/draft7";
	struct tally t = {0};
	char *names[MAX_FILES];
	size_t n = 0, i;
	struct dirent *e;
	DIR *d = opendir(dir);

	if (d == NULL) {
		printf("SKIP: %s not found (install json-schema-test-suite)\n", dir);
		return EXIT_SKIP;
	}
	while ((e = readdir(d)) != NULL && n < MAX_FILES) {
		size_t len = strlen(e->d_name);

		if (len < 5 || strcmp(e->d_name + len - 5, ".json") != 0 || is_skipped(e->d_name))
			continue;
		names[n] = strdup(e->d_name);
		if (names[n] == NULL) {
			printf("FAIL: out of memory\n");
			(void)closedir(d);
			return 1;
		}
		n++;
	}
	if (closedir(d) != 0)
		printf("warning: closedir failed\n");
	qsort(names, n, sizeof(names[0]), by_name);
	for (i = 0; i < n; i++) {
		run_file(&t, dir, names[i], false);
		free(names[i]);
	}
	printf("draft7 core: %u/%u passed (%zu files, skipped:", t.passed, t.run, n);
	for (i = 0; i < sizeof(skipped_files) / sizeof(skipped_files[0]); i++)
		printf(" %s", skipped_files[i]);
	printf(")\n");

	{
		struct tally opt = {0};

		for (i = 0; i < sizeof(optional_files) / sizeof(optional_files[0]); i++)
			run_file(&opt, dir, optional_files[i], false);
		for (i = 0; i < sizeof(format_files) / sizeof(format_files[0]); i++)
			run_file(&opt, dir, format_files[i], true);
		printf("draft7 optional (bignum, zeroTerminatedFloats, 8 formats): %u/%u passed\n",
		       opt.passed, opt.run);
		t.run += opt.run;
		t.passed += opt.passed;
		t.failed += opt.failed;
	}
	printf("total: %u/%u passed\n", t.passed, t.run);
	return t.failed == 0 && t.run > 0 ? 0 : 1;
}
