/*
 * index.c — the index file GITDIR/cfgfs-index: the revision list and the
 * per-path records, so that opening a store does not diff all of history.
 *
 * Text, append-only, one group per revision: the group's records, then the
 * line that closes it.
 *
 *     cfgfs-index 1
 *     D <path>                      a directory seen at this revision
 *     F <path>                      a new version of a file or symlink
 *     R <N> <commit> <parent|-> <tree> <time> <author> <message>
 *
 * Fields are escaped ("\\" "\n" "\s" for backslash, newline, space). On
 * load every R line must number the next revision and name the previous R
 * line's commit as its parent; anything else malformed means a rebuild. A
 * group without its R line (a torn append) is cut off. Whether the newest
 * commit is still on HEAD's chain is the caller's check (history.c).
 * Callers hold h->lock.
 */
#include "history/history_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define INDEX_HEADER "cfgfs-index 1\n"
#define INDEX_TMP_SUFFIX ".tmp"
#define INDEX_R_FIELDS 8
#define INDEX_BUF_INITIAL 4096
#define INDEX_NUM_LEN 32

int hist_buf_add(struct hist_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : INDEX_BUF_INITIAL;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p)
			return -ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

void hist_buf_free(struct hist_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static int buf_str(struct hist_buf *b, const char *s)
{
	return hist_buf_add(b, s, strlen(s));
}

static int buf_escaped(struct hist_buf *b, const char *s)
{
	int rc = 0;
	for (; rc == 0 && *s; s++) {
		if (*s == '\\')
			rc = hist_buf_add(b, "\\\\", 2);
		else if (*s == '\n')
			rc = hist_buf_add(b, "\\n", 2);
		else if (*s == ' ')
			rc = hist_buf_add(b, "\\s", 2);
		else
			rc = hist_buf_add(b, s, 1);
	}
	return rc;
}

/* In place; -EINVAL for a bad escape. */
static int unescape(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (*r != '\\') {
			*w++ = *r;
			continue;
		}
		r++;
		if (*r == '\\')
			*w++ = '\\';
		else if (*r == 'n')
			*w++ = '\n';
		else if (*r == 's')
			*w++ = ' ';
		else
			return -EINVAL;
	}
	*w = '\0';
	return 0;
}

void hist_rev_free_fields(struct hist_rev *r)
{
	free(r->author);
	free(r->message);
	r->author = r->message = NULL;
}

int hist_revs_push(struct cfgfs_history *h, struct hist_rev *r)
{
	if (h->nrevs == h->revcap) {
		size_t cap = h->revcap ? h->revcap * 2 : INDEX_BUF_INITIAL;
		struct hist_rev *v = realloc(h->revs, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		h->revs = v;
		h->revcap = cap;
	}
	h->revs[h->nrevs++] = *r;
	memset(r, 0, sizeof(*r));
	return 0;
}

int hist_index_reset(struct cfgfs_history *h)
{
	for (size_t i = 0; i < h->nrevs; i++)
		hist_rev_free_fields(&h->revs[i]);
	h->nrevs = 0;
	hist_buf_free(&h->pending);
	hist_table_free(&h->paths);
	return hist_table_init(&h->paths);
}

static int rev_line(struct hist_buf *b, const struct cfgfs_history *h, uint64_t n)
{
	const struct hist_rev *r = &h->revs[n - 1];
	char commit[GIT_OID_HEXSZ + 1], parent[GIT_OID_HEXSZ + 1], tree[GIT_OID_HEXSZ + 1];
	char nums[INDEX_NUM_LEN], tnum[INDEX_NUM_LEN];
	git_oid_tostr(commit, sizeof(commit), &r->commit);
	git_oid_tostr(tree, sizeof(tree), &r->tree);
	if (n > 1)
		git_oid_tostr(parent, sizeof(parent), &h->revs[n - 2].commit);
	else
		strcpy(parent, "-");
	snprintf(nums, sizeof(nums), "%" PRIu64, n);
	snprintf(tnum, sizeof(tnum), "%" PRId64, r->time);
	int rc = 0;
	const char *parts[] = {"R ", nums, " ", commit, " ", parent, " ", tree, " ", tnum, " "};
	for (size_t i = 0; rc == 0 && i < sizeof(parts) / sizeof(parts[0]); i++)
		rc = buf_str(b, parts[i]);
	if (rc == 0)
		rc = buf_escaped(b, r->author);
	if (rc == 0)
		rc = buf_str(b, " ");
	if (rc == 0)
		rc = buf_escaped(b, r->message);
	return rc == 0 ? buf_str(b, "\n") : rc;
}

static int record_line(struct hist_buf *b, char kind, const char *path)
{
	char head[3] = {kind, ' ', '\0'};
	int rc = buf_str(b, head);
	if (rc == 0)
		rc = buf_escaped(b, path);
	return rc == 0 ? buf_str(b, "\n") : rc;
}

int hist_index_add(struct cfgfs_history *h, uint64_t n, const struct hist_changes *c)
{
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < c->n; i++) {
		const struct hist_change *ch = &c->v[i];
		if (ch->version) {
			rc = hist_paths_add_version(&h->paths, ch->path, n);
			if (rc == 0)
				rc = record_line(&h->pending, 'F', ch->path);
		} else if (ch->is_dir && (ch->op == HIST_CREATE || ch->op == HIST_RENAME)) {
			rc = hist_paths_add_dir(&h->paths, ch->path, n);
			if (rc == 0)
				rc = record_line(&h->pending, 'D', ch->path);
		}
	}
	return rc == 0 ? rev_line(&h->pending, h, n) : rc;
}

/* ---- load ---- */

static int read_all(const char *path, char **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct hist_buf b = {0};
	char chunk[INDEX_BUF_INITIAL];
	int rc = 0;
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t got = read(fd, chunk, sizeof(chunk));
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			rc = -errno;
			break;
		}
		if (got == 0)
			break;
		rc = hist_buf_add(&b, chunk, (size_t)got);
		if (rc < 0)
			break;
	}
	close(fd);
	if (rc < 0 || !b.p) {
		hist_buf_free(&b);
		return rc < 0 ? rc : -ENODATA;
	}
	*out = b.p;
	*len = b.len;
	return 0;
}

struct pending_rec {
	char kind;
	char *path; /* points into the file buffer */
};

struct loader {
	struct pending_rec *v;
	size_t n, cap;
};

static int parse_r(struct cfgfs_history *h, char *line)
{
	char *f[INDEX_R_FIELDS];
	size_t nf = 0;
	char *end = NULL;
	struct hist_rev r = {0};
	git_oid parent;

	for (char *tok; nf < INDEX_R_FIELDS && (tok = strsep(&line, " ")) != NULL;)
		f[nf++] = tok;
	if (nf != INDEX_R_FIELDS || line != NULL || strcmp(f[0], "R") != 0)
		return 1;
	errno = 0;
	unsigned long long num = strtoull(f[1], &end, 10);
	if (errno || *end || num != h->nrevs + 1)
		return 1;
	if (git_oid_fromstr(&r.commit, f[2]) < 0 || git_oid_fromstr(&r.tree, f[4]) < 0)
		return 1;
	if (h->nrevs == 0 ? strcmp(f[3], "-") != 0
	                  : (git_oid_fromstr(&parent, f[3]) < 0 ||
	                     !git_oid_equal(&parent, &h->revs[h->nrevs - 1].commit)))
		return 1;
	errno = 0;
	long long t = strtoll(f[5], &end, 10);
	if (errno || *end || unescape(f[6]) < 0 || unescape(f[7]) < 0)
		return 1;
	r.time = t;
	r.author = strdup(f[6]);
	r.message = strdup(f[7]);
	int rc = r.author && r.message ? hist_revs_push(h, &r) : -ENOMEM;
	hist_rev_free_fields(&r);
	return rc;
}

static int apply_pending(struct cfgfs_history *h, struct loader *ld)
{
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < ld->n; i++)
		rc = ld->v[i].kind == 'F'
		         ? hist_paths_add_version(&h->paths, ld->v[i].path, h->nrevs)
		         : hist_paths_add_dir(&h->paths, ld->v[i].path, h->nrevs);
	ld->n = 0;
	return rc;
}

/* One complete line (NUL-terminated, no newline). 0, 1 malformed, <0. */
static int parse_line(struct cfgfs_history *h, struct loader *ld, char *line)
{
	if ((line[0] == 'F' || line[0] == 'D') && line[1] == ' ') {
		if (unescape(line + 2) < 0 || !line[2])
			return 1;
		if (ld->n == ld->cap) {
			size_t cap = ld->cap ? ld->cap * 2 : INDEX_R_FIELDS;
			struct pending_rec *v = realloc(ld->v, cap * sizeof(*v));
			if (!v)
				return -ENOMEM;
			ld->v = v;
			ld->cap = cap;
		}
		ld->v[ld->n++] = (struct pending_rec){line[0], line + 2};
		return 0;
	}
	int rc = parse_r(h, line);
	return rc == 0 ? apply_pending(h, ld) : rc;
}

static void truncate_to(struct cfgfs_history *h, off_t size)
{
	int fd = open(h->index_path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || ftruncate(fd, size) < 0)
		h->index_dirty = true;
	if (fd >= 0)
		close(fd);
}

int hist_index_load(struct cfgfs_history *h)
{
	char *buf = NULL;
	size_t len = 0, hlen = strlen(INDEX_HEADER), valid_end = hlen;
	struct loader ld = {0};
	int rc = read_all(h->index_path, &buf, &len);

	if (rc < 0) {
		rc = 1; /* missing or unreadable: build it */
		goto cleanup;
	}
	if (len < hlen || memcmp(buf, INDEX_HEADER, hlen) != 0 || memchr(buf, '\0', len)) {
		rc = 1;
		goto cleanup;
	}
	for (size_t off = hlen; off < len;) {
		char *nl = memchr(buf + off, '\n', len - off);
		if (!nl)
			break; /* a torn last line */
		*nl = '\0';
		rc = parse_line(h, &ld, buf + off);
		if (rc != 0)
			goto cleanup;
		off = (size_t)(nl - buf) + 1;
		if (ld.n == 0)
			valid_end = off;
	}
	if (valid_end < len)
		truncate_to(h, (off_t)valid_end);
	h->stats.index_loads++;
cleanup:
	if (rc == 1 && hist_index_reset(h) < 0)
		rc = -ENOMEM;
	free(ld.v);
	free(buf);
	return rc;
}

/* ---- save ---- */

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t put = write(fd, p, n);
		if (put < 0 && errno == EINTR)
			continue;
		if (put < 0)
			return -errno;
		p += put;
		n -= (size_t)put;
	}
	return 0;
}

struct dump_rec {
	uint64_t rev;
	char kind;
	const char *path;
};

static int cmp_dump(const void *a, const void *b)
{
	const struct dump_rec *x = a, *y = b;
	if (x->rev != y->rev)
		return x->rev < y->rev ? -1 : 1;
	return x->kind == y->kind ? 0 : x->kind == 'D' ? -1 : 1;
}

static int collect_records(const struct hist_table *t, struct dump_rec **out, size_t *count)
{
	size_t n = 0, cap = 0;
	for (size_t i = 0; i < t->cap; i++)
		if (t->slots[i])
			cap += t->slots[i]->nrevs + 1;
	struct dump_rec *v = calloc(cap + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < t->cap; i++) {
		const struct hist_node *nd = t->slots[i];
		if (!nd)
			continue;
		if (nd->dir_rev)
			v[n++] = (struct dump_rec){nd->dir_rev, 'D', nd->path};
		for (size_t j = 0; j < nd->nrevs; j++)
			v[n++] = (struct dump_rec){nd->revs[j], 'F', nd->path};
	}
	qsort(v, n, sizeof(*v), cmp_dump);
	*out = v;
	*count = n;
	return 0;
}

static int dump_text(const struct cfgfs_history *h, struct hist_buf *b)
{
	struct dump_rec *v = NULL;
	size_t n = 0, i = 0;
	int rc = collect_records(&h->paths, &v, &n);
	if (rc == 0)
		rc = buf_str(b, INDEX_HEADER);
	for (uint64_t r = 1; rc == 0 && r <= h->nrevs; r++) {
		for (; rc == 0 && i < n && v[i].rev == r; i++)
			rc = record_line(b, v[i].kind, v[i].path);
		if (rc == 0)
			rc = rev_line(b, h, r);
	}
	free(v);
	return rc;
}

static int rewrite(struct cfgfs_history *h)
{
	struct hist_buf b = {0};
	char *tmp = NULL;
	int fd = -1;
	int rc = dump_text(h, &b);
	if (rc < 0)
		goto cleanup;
	if (asprintf(&tmp, "%s%s", h->index_path, INDEX_TMP_SUFFIX) < 0) {
		tmp = NULL;
		rc = -ENOMEM;
		goto cleanup;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = -errno;
		goto cleanup;
	}
	rc = write_all(fd, b.p, b.len);
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	fd = -1;
	if (rc == 0 && rename(tmp, h->index_path) < 0)
		rc = -errno;
	if (rc < 0)
		unlink(tmp);
cleanup:
	free(tmp);
	hist_buf_free(&b);
	return rc;
}

static int append(struct cfgfs_history *h)
{
	struct stat st;
	int fd = open(h->index_path, O_WRONLY | O_APPEND | O_CLOEXEC);
	int rc = 0;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto cleanup;
	}
	rc = write_all(fd, h->pending.p, h->pending.len);
	/* a short append would be cut at the next load anyway; cut it now */
	if (rc < 0 && ftruncate(fd, st.st_size) < 0)
		rc = -errno;
cleanup:
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

void hist_index_save(struct cfgfs_history *h, bool whole)
{
	int rc = 0;
	if (!h->index_off && (whole || h->index_dirty))
		rc = rewrite(h);
	else if (!h->index_off && h->pending.len)
		rc = append(h);
	h->index_dirty = rc < 0;
	/* retrying a whole rewrite at every refresh would cost O(history) each
	 * time; a store we may not write is served from memory instead */
	if (rc == -EROFS || rc == -EACCES || rc == -EPERM)
		h->index_off = true;
	hist_buf_free(&h->pending);
}
