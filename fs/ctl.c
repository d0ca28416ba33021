/*
 * ctl.c — the .cfgfs/ control directory: errors (why the latest saves were
 * refused), status (JSON), and rejected/ (the refused bytes, read-only).
 * A control file's content is made once per open, so one read sees one
 * consistent snapshot.
 */
#include "fs/fs.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int make_status(struct cfgfs_fs *fs, char **out, size_t *len)
{
	struct cfgfs_live_stats s;
	cfgfs_live_stats(fs->live, &s);
	int n = asprintf(out,
			 "{\"head\":{\"revision\":%" PRIu64 ",\"commit\":\"%s\"},"
			 "\"saves\":%" PRIu64 ",\"rejected\":%" PRIu64 ",\"hooks\":[]}\n",
			 s.head.number, s.head.commit, s.saves, s.rejected);
	if (n < 0)
		return -ENOMEM;
	*len = (size_t)n;
	return 0;
}

static int make_content(struct cfgfs_fs *fs, struct node *n, char **out, size_t *len)
{
	switch (n->ctl) {
	case CTL_ERRORS:
		return cfgfs_live_errors_text(fs->live, out, len);
	case CTL_STATUS:
		return make_status(fs, out, len);
	default:
		return -EISDIR;
	}
}

int fs_ctl_lookup(struct cfgfs_fs *fs, struct node *parent, const char *name, struct node **out)
{
	if (parent == &fs->root) {
		*out = &fs->ctl_dir;
		return 0;
	}
	if (parent != &fs->ctl_dir)
		return -ENOENT;
	if (strcmp(name, "errors") == 0)
		*out = &fs->ctl_errors;
	else if (strcmp(name, "status") == 0)
		*out = &fs->ctl_status;
	else if (strcmp(name, "rejected") == 0)
		*out = &fs->ctl_rejected;
	else
		return -ENOENT;
	return 0;
}

int fs_ctl_stat(struct cfgfs_fs *fs, struct node *n, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	clock_gettime(CLOCK_REALTIME, &st->st_mtim);
	st->st_atim = st->st_ctim = st->st_mtim;
	st->st_uid = getuid();
	st->st_gid = getgid();
	if (n->ctl == CTL_DIR) {
		st->st_mode = S_IFDIR | 0555;
		st->st_nlink = 2;
		return 0;
	}
	char *buf = NULL;
	size_t len = 0;
	int rc = make_content(fs, n, &buf, &len);
	free(buf);
	if (rc < 0)
		return rc;
	st->st_mode = S_IFREG | 0444;
	st->st_nlink = 1;
	st->st_size = (off_t)len;
	return 0;
}

int fs_ctl_open(struct cfgfs_fs *fs, struct node *n, struct handle *h)
{
	if (n->ctl == CTL_DIR)
		return -EISDIR;
	return make_content(fs, n, &h->buf, &h->len);
}

int fs_ctl_list(struct cfgfs_fs *fs, struct node *n, struct dir_handle *d)
{
	(void)fs;
	static const struct {
		const char *name;
		unsigned char type;
	} entries[] = {{".", DT_DIR}, {"..", DT_DIR}, {"errors", DT_REG},
		       {"status", DT_REG}, {"rejected", DT_DIR}};
	if (n->ctl != CTL_DIR)
		return -ENOTDIR;
	size_t count = sizeof(entries) / sizeof(entries[0]);
	d->v = calloc(count, sizeof(*d->v));
	if (!d->v)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		d->v[i].name = strdup(entries[i].name);
		if (!d->v[i].name)
			return -ENOMEM;
		d->v[i].type = entries[i].type;
		d->n++;
	}
	return 0;
}
