/*
 * ctl.c — the .cfgfs/ control directory: errors (why the latest saves were
 * refused), status (JSON), and rejected/ (the refused bytes, read-only).
 * A control file's content is made once per open, so one read sees one
 * consistent snapshot.
 */
#include "fs/fs.h"

#include "backend/hooks.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *c = (const unsigned char *)(s ? s : ""); *c; c++) {
		if (*c == '"' || *c == '\\')
			fprintf(f, "\\%c", *c);
		else if (*c < 0x20)
			fprintf(f, "\\u%04x", *c);
		else
			fputc(*c, f);
	}
	fputc('"', f);
}

#define CTL_MAX_HOOKS 256

static int make_status(struct cfgfs_fs *fs, char **out, size_t *len)
{
	struct cfgfs_live_stats s;
	cfgfs_live_stats(fs->live, &s);
	struct cfgfs_hook_state *hs = calloc(CTL_MAX_HOOKS, sizeof(*hs));
	if (!hs)
		return -ENOMEM;
	size_t nh = cfgfs_live_hook_states(fs->live, hs, CTL_MAX_HOOKS);
	if (nh > CTL_MAX_HOOKS)
		nh = CTL_MAX_HOOKS;
	FILE *f = open_memstream(out, len);
	if (!f) {
		free(hs);
		return -ENOMEM;
	}
	fprintf(f, "{\"head\":{\"revision\":%" PRIu64 ",\"commit\":\"%s\"},", s.head.number,
		s.head.commit);
	fprintf(f, "\"saves\":%" PRIu64 ",\"rejected\":%" PRIu64 ",", s.saves, s.rejected);
	pthread_mutex_lock(&fs->ev_lock);
	fprintf(f, "\"events_readers\":%" PRIu64 ",\"hooks\":[", fs->ev_readers);
	pthread_mutex_unlock(&fs->ev_lock);
	for (size_t i = 0; i < nh; i++) {
		fprintf(f, "%s{\"match\":", i ? "," : "");
		json_str(f, hs[i].match);
		fputs(",\"run\":", f);
		json_str(f, hs[i].run0);
		fprintf(f,
			",\"last_result\":\"%s\",\"last_revision\":%" PRIu64
			",\"last_time\":%" PRId64 ",\"runs_ok\":%" PRIu64 ",\"runs_failed\":%" PRIu64
			",\"retries\":%" PRIu64 ",\"reverts\":%" PRIu64 ",\"timeouts\":%" PRIu64 "}",
			hs[i].last_result, hs[i].last_revision, hs[i].last_time, hs[i].runs_ok,
			hs[i].runs_failed, hs[i].retries, hs[i].reverts, hs[i].timeouts);
	}
	fputs("]}\n", f);
	free(hs);
	return fclose(f) == 0 ? 0 : -ENOMEM;
}

static int make_metrics(struct cfgfs_fs *fs, char **out, size_t *len)
{
	pthread_mutex_lock(&fs->ev_lock);
	uint64_t readers = fs->ev_readers;
	pthread_mutex_unlock(&fs->ev_lock);
	return cfgfs_live_metrics_text(fs->live, readers, out, len);
}

static int make_content(struct cfgfs_fs *fs, struct node *n, char **out, size_t *len)
{
	switch (n->ctl) {
	case CTL_ERRORS:
		return cfgfs_live_errors_text(fs->live, out, len);
	case CTL_STATUS:
		return make_status(fs, out, len);
	case CTL_METRICS:
		return make_metrics(fs, out, len);
	case CTL_EVENTS:
		*out = NULL;
		*len = 0;
		return 0;
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
	else if (strcmp(name, "metrics") == 0)
		*out = &fs->ctl_metrics;
	else if (strcmp(name, "events") == 0)
		*out = &fs->ctl_events;
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
	if (n->ctl == CTL_EVENTS) {
		/* a stream: any user may read it and move their own cursor */
		st->st_mode = S_IFREG | 0666;
		st->st_nlink = 1;
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
	if (n->ctl != CTL_EVENTS && (h->flags & O_ACCMODE) != O_RDONLY)
		return -EACCES;
	return make_content(fs, n, &h->buf, &h->len);
}

int fs_ctl_list(struct cfgfs_fs *fs, struct node *n, struct dir_handle *d)
{
	(void)fs;
	static const struct {
		const char *name;
		unsigned char type;
	} entries[] = {{".", DT_DIR},	  {"..", DT_DIR},     {"errors", DT_REG}, {"status", DT_REG},
		       {"metrics", DT_REG}, {"events", DT_REG}, {"rejected", DT_DIR}};
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
