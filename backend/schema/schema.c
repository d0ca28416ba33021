/*
 * schema.c — loading, compiling and freeing schemas; the module's memory.
 *
 * A schema file is read whole (bounded by the formats module's size limit),
 * parsed as JSON or YAML into a document the schema keeps, and compiled by
 * schema_compile.c. Errors are reported once, as "FILE:LINE:COL: message".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/formats/format.h"
#include "backend/formats/validate.h"
#include "backend/schema/schema_internal.h"

#define MEM_BLOCK_SIZE ((size_t)64 * 1024)
#define MEM_ALIGN (sizeof(max_align_t))

/* ---- memory ---- */

struct mem_block {
	struct mem_block *next;
	size_t used, size;
	max_align_t data[];
};

struct schema_mem {
	struct mem_block *head;
};

struct schema_mem *schema_mem_new(void)
{
	return calloc(1, sizeof(struct schema_mem));
}

void schema_mem_free(struct schema_mem *m)
{
	struct mem_block *b, *next;

	if (m == NULL)
		return;
	for (b = m->head; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	free(m);
}

void *schema_mem_alloc(struct schema_mem *m, size_t size)
{
	struct mem_block *b = m->head;
	size_t need = (size + MEM_ALIGN - 1) / MEM_ALIGN * MEM_ALIGN;
	void *p;

	if (size == 0)
		need = MEM_ALIGN;
	if (need < size)
		return NULL;
	if (b == NULL || b->size - b->used < need) {
		size_t cap = need > MEM_BLOCK_SIZE ? need : MEM_BLOCK_SIZE;

		if (cap > SIZE_MAX - sizeof(*b))
			return NULL;
		b = malloc(sizeof(*b) + cap);
		if (b == NULL)
			return NULL;
		b->size = cap;
		b->used = 0;
		b->next = m->head;
		m->head = b;
	}
	p = (char *)b->data + b->used;
	b->used += need;
	memset(p, 0, need);
	return p;
}

char *schema_mem_strndup(struct schema_mem *m, const char *s, size_t len)
{
	char *p = schema_mem_alloc(m, len + 1);

	if (p == NULL)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

/* ---- schemas ---- */

void cfgfs_schema_free(struct cfgfs_schema *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->nregexes; i++)
		pcre2_code_free(s->regexes[i]);
	free(s->regexes);
	schema_mem_free(s->mem);
	cfgfs_doc_free(s->meta);
	cfgfs_doc_free(s->doc);
	free(s);
}

static int schema_new(struct cfgfs_schema **out, const struct cfgfs_schema_options *opt)
{
	struct cfgfs_schema *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (s == NULL)
		return -ENOMEM;
	s->mem = schema_mem_new();
	if (s->mem == NULL) {
		free(s);
		return -ENOMEM;
	}
	s->check_formats = opt != NULL && opt->check_formats;
	*out = s;
	return 0;
}

int cfgfs_schema_compile(struct cfgfs_schema **out, const struct cfgfs_node *root,
                         const char *name, const struct cfgfs_schema_options *opt, char *err,
                         size_t errlen)
{
	struct cfgfs_schema *s = NULL;
	int rc;

	*out = NULL;
	if (errlen > 0)
		err[0] = '\0';
	rc = schema_new(&s, opt);
	if (rc != 0)
		goto cleanup;
	rc = schema_compile_root(s, root, name != NULL ? name : "schema", err, errlen);
	if (rc != 0)
		goto cleanup;
	*out = s;
	s = NULL;

cleanup:
	cfgfs_schema_free(s);
	return rc;
}

/* Reads FILE whole into *BUF (caller frees); at most CFGFS_LIMIT_MAX_SIZE bytes. */
static int read_file(char **buf, size_t *len, const char *file)
{
	struct stat st;
	char *data = NULL;
	size_t got = 0;
	int fd, rc = 0;

	*buf = NULL;
	*len = 0;
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		goto cleanup;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		goto cleanup;
	}
	if ((size_t)st.st_size > CFGFS_LIMIT_MAX_SIZE) {
		rc = -EFBIG;
		goto cleanup;
	}
	data = malloc((size_t)st.st_size + 1);
	if (data == NULL) {
		rc = -ENOMEM;
		goto cleanup;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, data + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto cleanup;
		}
		if (n == 0)
			break; /* shrank while we read: take what is there */
		got += (size_t)n;
	}
	data[got] = '\0';
	*buf = data;
	*len = got;
	data = NULL;

cleanup:
	free(data);
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc != 0) {
		free(*buf);
		*buf = NULL;
	}
	return rc;
}

int cfgfs_schema_load_opts(struct cfgfs_schema **out, const char *file,
                           const struct cfgfs_schema_options *opt, char *err, size_t errlen)
{
	enum cfgfs_format fmt = cfgfs_format_from_name(file);
	struct cfgfs_schema *s = NULL;
	struct cfgfs_diag diag;
	char *buf = NULL;
	size_t len;
	int rc;

	*out = NULL;
	if (errlen > 0)
		err[0] = '\0';
	rc = read_file(&buf, &len, file);
	if (rc != 0) {
		if (errlen > 0)
			(void)snprintf(err, errlen, "%s: %s", file, strerror(-rc));
		goto cleanup;
	}
	rc = schema_new(&s, opt);
	if (rc != 0)
		goto cleanup;
	/* A schema is JSON unless its name says YAML. */
	if (fmt != CFGFS_FORMAT_YAML)
		fmt = CFGFS_FORMAT_JSON;
	rc = cfgfs_doc_parse(&s->doc, &diag, fmt, buf, len, NULL);
	if (rc == -EINVAL || rc == -EFBIG) {
		if (errlen > 0)
			(void)snprintf(err, errlen, "%s:%u:%u: %s", file, diag.line, diag.col,
			               diag.message);
		rc = -EINVAL;
		goto cleanup;
	}
	if (rc != 0)
		goto cleanup;
	if (s->doc->count != 1) {
		if (errlen > 0)
			(void)snprintf(err, errlen, "%s:1:1: a schema file must hold exactly one document",
			               file);
		rc = -EINVAL;
		goto cleanup;
	}
	rc = schema_compile_root(s, s->doc->roots[0], file, err, errlen);
	if (rc != 0)
		goto cleanup;
	*out = s;
	s = NULL;

cleanup:
	free(buf);
	cfgfs_schema_free(s);
	return rc;
}

int cfgfs_schema_load(struct cfgfs_schema **out, const char *file, char *err, size_t errlen)
{
	return cfgfs_schema_load_opts(out, file, NULL, err, errlen);
}
