/*
 * test_schema_corpus.c — real schemas and configs from SchemaStore.
 *
 * For each tests/corpus/schemastore/NAME/: schema.json must load, every file
 * in valid/ must pass (every YAML document of it) and every file in invalid/
 * must fail, with format checks off (cfgfs's default). The exceptions below
 * are findings, not forced results; each says why cfgfs disagrees with
 * SchemaStore's own verdict. Debian's python3-jsonschema (Draft7Validator)
 * was the second opinion for each.
 *
 * Usage: test_schema_corpus CORPUS_DIR
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/formats/doc.h"
#include "backend/formats/format.h"
#include "backend/formats/validate.h"
#include "backend/schema/schema.h"

#define MAX_ENTRIES 256
#define PATH_LEN 1024
#define ERR_LEN 512

enum expect {
	EXPECT_CORPUS,   /* what the directory says: valid/ passes, invalid/ fails */
	EXPECT_PASS,     /* passes although SchemaStore files it under invalid/ */
	EXPECT_FAIL,     /* fails although SchemaStore files it under valid/ */
	EXPECT_NO_LOAD,  /* the schema itself does not load: whole directory */
};

struct exception {
	const char *path; /* NAME, or NAME/valid/FILE, NAME/invalid/FILE */
	enum expect expect;
	const char *why;
};

static const struct exception exceptions[] = {
    /*
     * Both reference "base.json#/definitions/...", i.e.
     * https://json.schemastore.org/base.json, a separate SchemaStore schema
     * that the corpus does not ship. cfgfs never fetches, so loading fails
     * with an "unresolvable $ref" error naming the ref (python-jsonschema
     * tries the network and fails too).
     */
    {"clangd", EXPECT_NO_LOAD, "remote $ref to base.json"},
    {"rancher-fleet-0.8", EXPECT_NO_LOAD, "remote $ref to base.json"},
    /*
     * Invalid only because of "format": "uri-reference" values; with format
     * as an annotation (draft-07's default, and cfgfs's) they are valid.
     * run_formats() checks that format checking refuses them.
     */
    {"github-funding/invalid/custom-array-bad-format.json", EXPECT_PASS, "format"},
    {"github-funding/invalid/custom-string-bad-format.json", EXPECT_PASS, "format"},
    /*
     * pubspec's publish_to is oneOf [{"enum": ["none"]}, {"format": "uri"}].
     * With format unchecked, "none" matches both branches, so oneOf fails
     * and the valid files are refused; a bad URL matches one, so the
     * invalid file passes. SchemaStore checks formats; python-jsonschema
     * without a format checker agrees with cfgfs. run_formats() checks the
     * intended verdicts with format checking on.
     */
    {"pubspec/valid/asset_transformer.yaml", EXPECT_FAIL, "format"},
    {"pubspec/valid/pubspec.yaml", EXPECT_FAIL, "format"},
    {"pubspec/valid/some_flutter_example.yaml", EXPECT_FAIL, "format"},
    {"pubspec/invalid/bad_publish_to.yaml", EXPECT_PASS, "format"},
    /*
     * The file holds only a comment: a YAML stream with no document. cfgfs
     * validates each document of a stream, so there is nothing to refuse
     * (whether an empty file is acceptable is the policy's call, not the
     * schema's). SchemaStore reads it as null; python's safe_load_all also
     * yields no document.
     */
    {"pubspec/invalid/no_name.yaml", EXPECT_PASS, "empty YAML stream"},
};

struct tally {
	unsigned files, docs, passed, failed, excepted;
};

static const struct exception *find_exception(const char *path)
{
	size_t i;

	for (i = 0; i < sizeof(exceptions) / sizeof(exceptions[0]); i++)
		if (strcmp(exceptions[i].path, path) == 0)
			return &exceptions[i];
	return NULL;
}

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

/* Sorted names of the entries of DIR (no dot files); count in *N. Caller frees. */
static int list_dir(char ***out, size_t *n, const char *dir)
{
	char **names = calloc(MAX_ENTRIES, sizeof(*names));
	struct dirent *e;
	DIR *d;

	*out = NULL;
	*n = 0;
	if (names == NULL)
		return -ENOMEM;
	d = opendir(dir);
	if (d == NULL) {
		free(names);
		return -errno;
	}
	while ((e = readdir(d)) != NULL && *n < MAX_ENTRIES) {
		if (e->d_name[0] == '.')
			continue;
		names[*n] = strdup(e->d_name);
		if (names[*n] == NULL)
			break;
		(*n)++;
	}
	if (closedir(d) != 0)
		printf("warning: closedir %s\n", dir);
	for (size_t i = 1; i < *n; i++)
		for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			char *t = names[j];

			names[j] = names[j - 1];
			names[j - 1] = t;
		}
	*out = names;
	return 0;
}

static void free_list(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/*
 * Validates every document of FILE; 0 all valid, -EINVAL one refused (its
 * diagnostic in D), other negatives for errors.
 */
static int validate_file(const struct cfgfs_schema *s, const char *file, struct cfgfs_diag *d,
                         unsigned *docs)
{
	enum cfgfs_format fmt = cfgfs_format_from_name(file);
	struct cfgfs_doc *doc = NULL;
	char *buf = NULL;
	size_t len = 0, i;
	int rc;

	rc = read_all(&buf, &len, file);
	if (rc != 0)
		goto cleanup;
	rc = cfgfs_doc_parse(&doc, d, fmt, buf, len, NULL);
	if (rc != 0) {
		printf("FAIL %s: does not parse: %u:%u %s\n", file, d->line, d->col, d->message);
		rc = -EIO;
		goto cleanup;
	}
	for (i = 0; i < doc->count; i++) {
		(*docs)++;
		rc = cfgfs_schema_validate(s, doc->roots[i], d);
		if (rc != 0)
			break;
	}

cleanup:
	cfgfs_doc_free(doc);
	free(buf);
	return rc;
}

static void run_kind(struct tally *t, const struct cfgfs_schema *s, const char *root,
                     const char *name, const char *kind)
{
	char dir[PATH_LEN], file[2 * PATH_LEN + 2], rel[3 * PATH_LEN];
	char **files = NULL;
	size_t n = 0, i;
	int rc;

	(void)snprintf(dir, sizeof(dir), "%s/%s/%s", root, name, kind);
	if (list_dir(&files, &n, dir) != 0)
		return;
	for (i = 0; i < n; i++) {
		const struct exception *x;
		struct cfgfs_diag d;
		bool want_pass = strcmp(kind, "valid") == 0, passed;

		(void)snprintf(file, sizeof(file), "%s/%s", dir, files[i]);
		(void)snprintf(rel, sizeof(rel), "%s/%s/%s", name, kind, files[i]);
		x = find_exception(rel);
		if (x != NULL) {
			want_pass = x->expect == EXPECT_PASS;
			t->excepted++;
		}
		t->files++;
		rc = validate_file(s, file, &d, &t->docs);
		if (rc != 0 && rc != -EINVAL) {
			printf("FAIL %s: error %d\n", rel, rc);
			t->failed++;
			continue;
		}
		passed = rc == 0;
		if (passed == want_pass) {
			t->passed++;
			if (!passed)
				printf("ok   %s: %u:%u: %s\n", rel, d.line, d.col, d.message);
			continue;
		}
		t->failed++;
		if (passed)
			printf("FAIL %s: expected a refusal, but it is valid\n", rel);
		else
			printf("FAIL %s: expected valid, got %u:%u: %s\n", rel, d.line, d.col,
			       d.message);
	}
	free_list(files, n);
}

static void run_schema(struct tally *t, const char *root, const char *name)
{
	const struct exception *x = find_exception(name);
	struct cfgfs_schema *s = NULL;
	char path[PATH_LEN], err[ERR_LEN];
	int rc;

	(void)snprintf(path, sizeof(path), "%s/%s/schema.json", root, name);
	rc = cfgfs_schema_load(&s, path, err, sizeof(err));
	if (x != NULL && x->expect == EXPECT_NO_LOAD) {
		t->excepted++;
		if (rc == -EINVAL && strstr(err, "$ref") != NULL) {
			printf("ok   %s: does not load, as expected (%s): %s\n", name, x->why, err);
			t->passed++;
		} else {
			printf("FAIL %s: expected a $ref load error, got %d %s\n", name, rc, err);
			t->failed++;
		}
		cfgfs_schema_free(s);
		return;
	}
	if (rc != 0) {
		printf("FAIL %s: does not load (%d): %s\n", name, rc, err);
		t->failed++;
		return;
	}
	run_kind(t, s, root, name, "valid");
	run_kind(t, s, root, name, "invalid");
	cfgfs_schema_free(s);
}

/* With format checks on, the files judged by "format" get SchemaStore's verdict. */
static void run_formats(struct tally *t, const char *root)
{
	static const struct {
		const char *path;
		bool valid;
	} files[] = {
	    {"github-funding/invalid/custom-array-bad-format.json", false},
	    {"github-funding/invalid/custom-string-bad-format.json", false},
	    {"pubspec/invalid/bad_publish_to.yaml", false},
	    {"pubspec/valid/asset_transformer.yaml", true},
	    {"pubspec/valid/pubspec.yaml", true},
	    {"pubspec/valid/some_flutter_example.yaml", true},
	};
	const struct cfgfs_schema_options opt = {.check_formats = true};
	char path[PATH_LEN], err[ERR_LEN];
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct cfgfs_schema *s = NULL;
		struct cfgfs_diag d;
		const char *slash = strchr(files[i].path, '/');
		int rc;

		(void)snprintf(path, sizeof(path), "%s/%.*s/schema.json", root,
		               (int)(slash - files[i].path), files[i].path);
		rc = cfgfs_schema_load_opts(&s, path, &opt, err, sizeof(err));
		if (rc != 0) {
			printf("FAIL %s: does not load (%d): %s\n", path, rc, err);
			t->failed++;
			continue;
		}
		(void)snprintf(path, sizeof(path), "%s/%s", root, files[i].path);
		rc = validate_file(s, path, &d, &t->docs);
		if ((rc == 0 && files[i].valid) || (rc == -EINVAL && !files[i].valid)) {
			printf("ok   %s (formats on): %s\n", files[i].path,
			       rc == 0 ? "valid" : d.message);
			t->passed++;
		} else {
			printf("FAIL %s (formats on): expected %s, got %d %s\n", files[i].path,
			       files[i].valid ? "valid" : "a refusal", rc, rc == -EINVAL ? d.message : "");
			t->failed++;
		}
		cfgfs_schema_free(s);
	}
}

int main(int argc, char **argv)
{
	const char *root = argc > 1 ? argv[1] : "tests/corpus/schemastore";
	struct tally t = {0};
	char **names = NULL, path[PATH_LEN];
	size_t n = 0, i;
	int rc;

	rc = list_dir(&names, &n, root);
	if (rc != 0) {
		printf("FAIL: cannot list %s (%d)\n", root, rc);
		return 1;
	}
	for (i = 0; i < n; i++) {
		FILE *f;

		(void)snprintf(path, sizeof(path), "%s/%s/schema.json", root, names[i]);
		f = fopen(path, "rb");
		if (f == NULL)
			continue; /* README, LICENSE, ... */
		if (fclose(f) != 0)
			printf("warning: fclose %s\n", path);
		run_schema(&t, root, names[i]);
	}
	free_list(names, n);
	run_formats(&t, root);
	printf("schemastore: %u passed, %u failed (%u files, %u documents; %u by a documented "
	       "exception)\n",
	       t.passed, t.failed, t.files, t.docs, t.excepted);
	return t.failed == 0 && t.passed > 0 ? 0 : 1;
}
