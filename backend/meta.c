/* meta.c — see meta.h. */
#include "backend/meta.h"

#include <errno.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t find(const struct cfgfs_meta_dir *d, const char *name, int *found)
{
	size_t lo = 0, hi = d->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(d->v[mid].name, name);
		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = 0;
	return lo;
}

const struct cfgfs_meta *cfgfs_meta_get(const struct cfgfs_meta_dir *d, const char *name)
{
	int found;
	size_t i = find(d, name, &found);
	return found ? &d->v[i].meta : NULL;
}

int cfgfs_meta_set(struct cfgfs_meta_dir *d, const char *name, const struct cfgfs_meta *m)
{
	int found;
	size_t i = find(d, name, &found);
	if (found) {
		d->v[i].meta = *m;
		return 0;
	}
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;
		struct cfgfs_meta_entry *v = realloc(d->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		d->v = v;
		d->cap = cap;
	}
	char *copy = strdup(name);
	if (!copy)
		return -ENOMEM;
	memmove(&d->v[i + 1], &d->v[i], (d->n - i) * sizeof(*d->v));
	d->v[i].name = copy;
	d->v[i].meta = *m;
	d->n++;
	return 0;
}

void cfgfs_meta_remove(struct cfgfs_meta_dir *d, const char *name)
{
	int found;
	size_t i = find(d, name, &found);
	if (!found)
		return;
	free(d->v[i].name);
	memmove(&d->v[i], &d->v[i + 1], (d->n - i - 1) * sizeof(*d->v));
	d->n--;
}

void cfgfs_meta_dir_free(struct cfgfs_meta_dir *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->v[i].name);
	free(d->v);
	memset(d, 0, sizeof(*d));
}

static int unescape(char *dst, const char *src, size_t len)
{
	size_t j = 0;
	for (size_t i = 0; i < len; i++) {
		if (src[i] != '\\') {
			dst[j++] = src[i];
			continue;
		}
		if (++i >= len)
			return -EINVAL;
		if (src[i] == 'n')
			dst[j++] = '\n';
		else if (src[i] == '\\')
			dst[j++] = '\\';
		else
			return -EINVAL;
	}
	dst[j] = '\0';
	return 0;
}

int cfgfs_meta_parse(struct cfgfs_meta_dir *out, const char *buf, size_t len)
{
	memset(out, 0, sizeof(*out));
	size_t hlen = strlen(CFGFS_META_HEADER);
	if (len < hlen || memcmp(buf, CFGFS_META_HEADER, hlen) != 0)
		return -EINVAL;
	const char *p = buf + hlen, *end = buf + len;
	char *name = NULL;
	int rc = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl) {
			rc = -EINVAL;
			goto fail;
		}
		/* "<mode-octal> <uid> <gid> <sec> <nsec> <name>": parsed by hand,
		 * a directory's blob is read on every commit that touches it */
		unsigned long long f[5];
		const char *q = p;
		bool ok = true;
		for (int k = 0; k < 5 && ok; k++) {
			int base = k == 0 ? 8 : 10;
			bool neg = k == 3 && *q == '-';
			if (neg)
				q++;
			unsigned long long v = 0;
			const char *start = q;
			while (q < nl && *q >= '0' && *q < (base == 8 ? '8' : ':')) {
				v = v * (unsigned)base + (unsigned)(*q - '0');
				q++;
			}
			ok = q > start && q < nl && *q == ' ';
			f[k] = neg ? (unsigned long long)(-(long long)v) : v;
			q++;
		}
		if (!ok) {
			rc = -EINVAL;
			goto fail;
		}
		unsigned mode = (unsigned)f[0], uid = (unsigned)f[1], gid = (unsigned)f[2];
		long long sec = (long long)f[3];
		int nsec = (int)f[4];
		size_t used = (size_t)(q - p);
		const char *n0 = p + used;
		name = malloc((size_t)(nl - n0) + 1);
		if (!name) {
			rc = -ENOMEM;
			goto fail;
		}
		rc = unescape(name, n0, (size_t)(nl - n0));
		if (rc < 0 || name[0] == '\0')
			goto fail_inval;
		struct cfgfs_meta m = {mode, uid, gid, sec, nsec};
		rc = cfgfs_meta_set(out, name, &m);
		if (rc < 0)
			goto fail;
		free(name);
		name = NULL;
		p = nl + 1;
	}
	return 0;
fail_inval:
	rc = -EINVAL;
fail:
	free(name);
	cfgfs_meta_dir_free(out);
	return rc;
}

int cfgfs_meta_format(char **out, size_t *out_len, const struct cfgfs_meta_dir *d)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	fputs(CFGFS_META_HEADER, f);
	for (size_t i = 0; i < d->n; i++) {
		const struct cfgfs_meta *m = &d->v[i].meta;
		fprintf(f, "%o %" PRIu32 " %" PRIu32 " %" PRId64 " %" PRId32 " ", m->mode, m->uid,
			m->gid, m->mtime_sec, m->mtime_nsec);
		for (const char *c = d->v[i].name; *c; c++) {
			if (*c == '\\')
				fputs("\\\\", f);
			else if (*c == '\n')
				fputs("\\n", f);
			else
				fputc(*c, f);
		}
		fputc('\n', f);
	}
	if (fclose(f) != 0) {
		free(buf);
		return -ENOMEM;
	}
	*out = buf;
	*out_len = len;
	return 0;
}
