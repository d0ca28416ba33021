/* live.c — see live.h. Settling lives in live_settle.c. */
#include "backend/live.h"
#include "backend/live_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backend/formats/validate.h"
#include "backend/reserved.h"
#include "backend/verdict.h"
#include "mountopts/cmdline.h"
#include "mountopts/policy.h"

#define LIVE_AUTHOR_SYSTEM "cfgfs"

static void meta_of(struct cfgfs_meta *m, const struct stat *st)
{
	m->mode = st->st_mode;
	m->uid = st->st_uid;
	m->gid = st->st_gid;
	m->mtime_sec = st->st_mtim.tv_sec;
	m->mtime_nsec = (int32_t)st->st_mtim.tv_nsec;
}

bool cfgfs_live_scratch(const struct cfgfs_live *l, const char *path)
{
	return cfgfs_verdict_ignored(l->verdict, path);
}

int cfgfs_live_rootfd(const struct cfgfs_live *l)
{
	return l->rootfd;
}

int cfgfs_live_rejected_fd(const struct cfgfs_live *l)
{
	return l->rejects.dirfd;
}

size_t cfgfs_live_max_file_size(const struct cfgfs_live *l)
{
	return l->cfg->max_file_size;
}

/* Commit EDITS with a message "VERB PATH (program, pid N)". */
int live_commit(struct cfgfs_live *l, const struct cfgfs_edit *edits, size_t n,
		const struct cfgfs_who *who, const char *verb, const char *path,
		struct cfgfs_revision *rev)
{
	struct cfgfs_author a;
	char *msg = NULL;
	char err[512] = "";
	struct cfgfs_revision local;
	if (!rev)
		rev = &local;
	if (who) {
		cfgfs_who_resolve(&a, who);
		if (asprintf(&msg, "%s %s (%s, pid %d)\n", verb, path, a.program, who->pid) < 0)
			return -ENOMEM;
	} else {
		snprintf(a.name, sizeof(a.name), LIVE_AUTHOR_SYSTEM);
		snprintf(a.email, sizeof(a.email), LIVE_AUTHOR_SYSTEM "@localhost");
		if (asprintf(&msg, "%s %s\n", verb, path) < 0)
			return -ENOMEM;
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = cfgfs_store_commit(l->store, rev, edits, n, a.name, a.email, msg, err,
				    sizeof(err));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (rc == 0)
		cfgfs_histogram_observe(&l->commit_latency,
					(double)(t1.tv_sec - t0.tv_sec) +
						(double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	free(msg);
	if (rc < 0) {
		cfgfs_log(l->log, CFGFS_ERROR, "commit", "path", path, "op", verb, "error", err,
			  NULL);
		return rc == -ENOMEM ? rc : -EIO;
	}
	if (rev->number) {
		char num[24];
		snprintf(num, sizeof(num), "%" PRIu64, rev->number);
		cfgfs_log(l->log, CFGFS_INFO, "commit", "revision", num, "commit", rev->commit,
			  "op", verb, "path", path, "author", a.name, "program", a.program, NULL);
		live_committed(l, rev, a.name, verb, edits, n);
	}
	return 0;
}

static int read_all(int fd, size_t size, char **out)
{
	char *buf = malloc(size + 1);
	if (!buf)
		return -ENOMEM;
	size_t got = 0;
	while (got < size) {
		ssize_t r = pread(fd, buf + got, size - got, (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(buf);
			return -e;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	buf[got] = '\0';
	if (got != size) {
		free(buf);
		return -EAGAIN; /* changed while read: the caller retries */
	}
	*out = buf;
	return 0;
}

/* Record a refusal: log, .cfgfs/errors, .cfgfs/rejected/PATH. */
static void reject(struct cfgfs_live *l, const char *path, const struct cfgfs_who *who,
		   const char *reason, const char *message, const char *buf, size_t len,
		   const struct stat *st)
{
	struct cfgfs_author a;
	cfgfs_who_resolve(&a, who);
	cfgfs_log(l->log, CFGFS_WARN, "reject", "path", path, "reason", reason, "message", message,
		  "author", a.name, "program", a.program, NULL);
	int rc = cfgfs_rejects_add(&l->rejects, path, a.name, message, buf, len, st->st_mode,
				   st->st_uid, st->st_gid);
	if (rc < 0)
		cfgfs_log(l->log, CFGFS_ERROR, "reject", "path", path, "error",
			  "could not keep the refused content", "errno", strerror(-rc), NULL);
	pthread_mutex_lock(&l->stats_lock);
	l->stats.rejected++;
	if (strcmp(reason, "size") == 0)
		l->stats.rejected_size++;
	else if (strcmp(reason, "schema") == 0)
		l->stats.rejected_schema++;
	else if (strcmp(reason, "check") == 0)
		l->stats.rejected_check++;
	else
		l->stats.rejected_syntax++;
	pthread_mutex_unlock(&l->stats_lock);
}

/* Parse and validate BUF as PATH would be. 0, or -EINVAL/-EFBIG after
 * recording the refusal. */
int live_check_content(struct cfgfs_live *l, const char *path, const char *buf, size_t len,
		       const struct stat *st, const struct cfgfs_who *who)
{
	struct cfgfs_diag d;
	int rc = cfgfs_verdict_check(l->verdict, path, buf, len, &d);
	if (rc == 0)
		return 0;
	if (rc == -ENOMEM)
		return rc;
	char *msg = NULL;
	int n = d.line ? asprintf(&msg, "%s:%u:%u: %s", path, d.line, d.col, d.message)
		       : asprintf(&msg, "%s: %s", path, d.message);
	if (n < 0)
		return -ENOMEM;
	reject(l, path, who, d.reason ? d.reason : "syntax", msg, buf, len, st);
	free(msg);
	return rc == -EFBIG ? -EFBIG : -EINVAL;
}

/* Read FD's content and validate it as PATH. On success *buf holds it. */
static int load_and_check(struct cfgfs_live *l, const char *path, int fd, struct stat *st,
			  char **buf, const struct cfgfs_who *who)
{
	for (int attempt = 0; attempt < 3; attempt++) {
		if (fstat(fd, st) < 0)
			return -errno;
		if ((size_t)st->st_size > l->cfg->max_file_size) {
			char msg[256];
			snprintf(msg, sizeof(msg), "%s: %lld bytes is over max_file_size (%zu)",
				 path, (long long)st->st_size, l->cfg->max_file_size);
			reject(l, path, who, "size", msg, "", 0, st);
			return -EFBIG;
		}
		int rc = read_all(fd, (size_t)st->st_size, buf);
		if (rc == -EAGAIN)
			continue;
		if (rc < 0)
			return rc;
		if (!S_ISREG(st->st_mode))
			return 0;
		rc = live_check_content(l, path, *buf, (size_t)st->st_size, st, who);
		if (rc < 0) {
			free(*buf);
			*buf = NULL;
		}
		return rc;
	}
	return -EAGAIN;
}

int cfgfs_live_stage_new(struct cfgfs_live *l, struct cfgfs_stage *out, int copy_from,
			 mode_t mode, uid_t uid, gid_t gid)
{
	int rc = 0;
	for (int attempt = 0; attempt < 100; attempt++) {
		unsigned long seq = __atomic_add_fetch(&l->stage_seq, 1, __ATOMIC_RELAXED);
		snprintf(out->name, sizeof(out->name), CFGFS_STAGE_PREFIX "%d.%lu", (int)getpid(),
			 seq);
		out->fd = openat(l->rootfd, out->name,
				 O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (out->fd >= 0)
			break;
		if (errno != EEXIST)
			return -errno;
	}
	if (out->fd < 0)
		return -EEXIST;
	if (fchown(out->fd, uid, gid) < 0 || fchmod(out->fd, mode & 07777) < 0) {
		rc = -errno;
		goto fail;
	}
	if (copy_from >= 0) {
		struct stat st;
		if (fstat(copy_from, &st) < 0) {
			rc = -errno;
			goto fail;
		}
		off_t off = 0;
		while (off < st.st_size) {
			ssize_t n = sendfile(out->fd, copy_from, &off, (size_t)(st.st_size - off));
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				rc = -errno;
				goto fail;
			}
			if (n == 0)
				break;
		}
		struct timespec tv[2] = {st.st_atim, st.st_mtim};
		(void)futimens(out->fd, tv);
	}
	return 0;
fail:
	cfgfs_live_stage_drop(l, out);
	return rc;
}

void cfgfs_live_stage_drop(struct cfgfs_live *l, struct cfgfs_stage *st)
{
	if (st->name[0])
		(void)unlinkat(l->rootfd, st->name, 0);
	st->name[0] = '\0';
	if (st->fd >= 0)
		close(st->fd);
	st->fd = -1;
}

int cfgfs_live_save(struct cfgfs_live *l, const char *path, struct cfgfs_stage *st,
		    const struct cfgfs_who *who)
{
	struct stat sb;
	char *buf = NULL;
	int rc = load_and_check(l, path, st->fd, &sb, &buf, who);
	if (rc < 0) {
		live_keep_old(l, path);
		return rc;
	}
	struct cfgfs_edit e = {.kind = CFGFS_EDIT_PUT, .path = path, .data = buf,
			       .len = (size_t)sb.st_size};
	meta_of(&e.meta, &sb);
	struct cfgfs_revision rev = {0};
	pthread_mutex_lock(&l->save_lock);
	bool existed = live_settle_take(l, path) || cfgfs_store_has(l->store, path, NULL);
	/* name the staged file after its target first, so that a crash between
	 * the commit and the publish is rolled forward at the next mount */
	char journal[NAME_MAX + 1];
	bool journaled = live_publish_name(journal, sizeof(journal), path) == 0 &&
			 renameat(l->rootfd, st->name, l->rootfd, journal) == 0;
	const char *staged = journaled ? journal : st->name;
	if (l->cfg->fsync && fsync(st->fd) < 0)
		rc = -errno;
	if (rc == 0)
		rc = live_commit(l, &e, 1, who, existed ? "modify" : "create", path, &rev);
	if (rc == 0 && renameat(l->rootfd, staged, l->rootfd, path) < 0) {
		rc = -errno;
		cfgfs_log(l->log, CFGFS_ERROR, "publish", "path", path, "error", strerror(errno),
			  NULL);
	}
	if (rc == 0)
		st->name[0] = '\0';
	else if (journaled)
		(void)renameat(l->rootfd, journal, l->rootfd, st->name);
	pthread_mutex_unlock(&l->save_lock);
	if (rc == 0 && rev.number)
		cfgfs_rejects_clear(&l->rejects, path); /* only a real new version clears */
	free(buf);
	return rc;
}

void live_keep_old(struct cfgfs_live *l, const char *path)
{
	/* A refused save of a path whose delete was pending (install, git
	 * checkout, mv unlink it first): the old version comes back. */
	pthread_mutex_lock(&l->save_lock);
	(void)live_settle_take(l, path);
	pthread_mutex_unlock(&l->save_lock);
}

int live_publish_name(char *out, size_t size, const char *path)
{
	size_t pos = (size_t)snprintf(out, size, "%s", CFGFS_PUBLISH_PREFIX);
	for (const char *c = path; *c; c++) {
		const char *piece = *c == '/' ? "%2F" : *c == '%' ? "%25" : NULL;
		size_t need = piece ? 3 : 1;
		if (pos + need >= size)
			return -ENAMETOOLONG;
		if (piece)
			memcpy(out + pos, piece, 3);
		else
			out[pos] = *c;
		pos += need;
	}
	out[pos] = '\0';
	return 0;
}

int cfgfs_live_stage_place(struct cfgfs_live *l, const char *path, struct cfgfs_stage *st)
{
	if (renameat(l->rootfd, st->name, l->rootfd, path) < 0)
		return -errno;
	st->name[0] = '\0';
	return 0;
}

/* Copy SOURCE entry FROM to scratch name TO, keeping mode, owner and times. */
static int copy_aside(struct cfgfs_live *l, const char *from, const char *to)
{
	int in = openat(l->rootfd, from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return -errno;
	struct stat st;
	int rc = 0, out = -1;
	if (fstat(in, &st) < 0) {
		rc = -errno;
		goto done;
	}
	(void)unlinkat(l->rootfd, to, 0);
	out = openat(l->rootfd, to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (out < 0) {
		rc = -errno;
		goto done;
	}
	off_t off = 0;
	while (off < st.st_size) {
		ssize_t n = sendfile(out, in, &off, (size_t)(st.st_size - off));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			goto done;
		}
	}
	struct timespec tv[2] = {st.st_atim, st.st_mtim};
	if (fchown(out, st.st_uid, st.st_gid) < 0 || fchmod(out, st.st_mode & 07777) < 0 ||
	    futimens(out, tv) < 0)
		rc = -errno;
done:
	if (out >= 0 && close(out) < 0 && rc == 0)
		rc = -errno;
	if (rc < 0 && out >= 0)
		(void)unlinkat(l->rootfd, to, 0);
	close(in);
	return rc;
}

static bool exists_in_view(struct cfgfs_live *l, const char *path)
{
	struct stat st;
	return fstatat(l->rootfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0 && !cfgfs_live_hidden(l, path);
}

/* scratch -> tracked: the content of FROM is a save of TO (sed -i, rsync,
 * Python os.replace, Ansible, JetBrains). */
static int rename_into(struct cfgfs_live *l, const char *from, const char *to,
		       const struct cfgfs_who *who)
{
	struct stat sb;
	char *buf = NULL;
	int fd = openat(l->rootfd, from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 && errno == ELOOP) {
		/* a symlink renamed into place */
		char target[4096];
		ssize_t n = readlinkat(l->rootfd, from, target, sizeof(target));
		if (n < 0 || fstatat(l->rootfd, from, &sb, AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
		struct cfgfs_edit e = {.kind = CFGFS_EDIT_PUT, .path = to, .data = target,
				       .len = (size_t)n};
		meta_of(&e.meta, &sb);
		pthread_mutex_lock(&l->save_lock);
		bool existed = live_settle_take(l, to) || cfgfs_store_has(l->store, to, NULL);
		int rc = live_commit(l, &e, 1, who, existed ? "modify" : "create", to, NULL);
		if (rc == 0 && renameat(l->rootfd, from, l->rootfd, to) < 0)
			rc = -errno;
		pthread_mutex_unlock(&l->save_lock);
		return rc;
	}
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0) {
		close(fd);
		return -errno;
	}
	if (S_ISDIR(sb.st_mode)) {
		close(fd);
		return live_rename_dir_in(l, from, to, who);
	}
	int rc = load_and_check(l, to, fd, &sb, &buf, who);
	close(fd);
	if (rc < 0) {
		live_keep_old(l, to);
		return rc;
	}
	struct cfgfs_edit e = {.kind = CFGFS_EDIT_PUT, .path = to, .data = buf,
			       .len = (size_t)sb.st_size};
	meta_of(&e.meta, &sb);
	struct cfgfs_revision rev = {0};
	pthread_mutex_lock(&l->save_lock);
	bool existed = live_settle_take(l, to) || cfgfs_store_has(l->store, to, NULL);
	rc = live_commit(l, &e, 1, who, existed ? "modify" : "create", to, &rev);
	if (rc == 0 && renameat(l->rootfd, from, l->rootfd, to) < 0)
		rc = -errno;
	pthread_mutex_unlock(&l->save_lock);
	if (rc == 0 && rev.number)
		cfgfs_rejects_clear(&l->rejects, to);
	free(buf);
	return rc;
}

/* tracked -> tracked: one `rename` revision. */
static int rename_tracked(struct cfgfs_live *l, const char *from, const char *to,
			  const struct cfgfs_who *who)
{
	struct stat sb;
	if (fstatat(l->rootfd, from, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (S_ISREG(sb.st_mode)) {
		/* the format may change with the name (notes.txt -> app.yaml) */
		int fd = openat(l->rootfd, from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		char *buf = NULL;
		int rc = load_and_check(l, to, fd, &sb, &buf, who);
		close(fd);
		free(buf);
		if (rc < 0)
			return rc;
	}
	struct cfgfs_edit e = {.kind = CFGFS_EDIT_MOVE, .path = to, .from = from};
	meta_of(&e.meta, &sb);
	pthread_mutex_lock(&l->save_lock);
	(void)live_settle_take(l, to);
	int rc = 0;
	if (renameat(l->rootfd, from, l->rootfd, to) < 0) {
		rc = -errno;
		goto out;
	}
	char *what = NULL;
	if (asprintf(&what, "%s -> %s", from, to) < 0) {
		rc = -ENOMEM;
	} else {
		rc = live_commit(l, &e, 1, who, "rename", what, NULL);
		free(what);
	}
	if (rc < 0)
		(void)renameat(l->rootfd, to, l->rootfd, from);
out:
	pthread_mutex_unlock(&l->save_lock);
	return rc;
}

int cfgfs_live_rename(struct cfgfs_live *l, const char *from, const char *to, unsigned flags,
		      const struct cfgfs_who *who)
{
	if (flags & ~RENAME_NOREPLACE)
		return -EINVAL; /* RENAME_EXCHANGE, RENAME_WHITEOUT */
	if ((flags & RENAME_NOREPLACE) && exists_in_view(l, to))
		return -EEXIST;
	bool from_scratch = cfgfs_live_scratch(l, from);
	bool to_scratch = cfgfs_live_scratch(l, to);
	if (from_scratch && to_scratch)
		return renameat(l->rootfd, from, l->rootfd, to) < 0 ? -errno : 0;
	if (from_scratch)
		return rename_into(l, from, to, who);
	if (!to_scratch)
		return rename_tracked(l, from, to, who);
	/* tracked -> scratch: vim's and emacs' backup. Keep FROM in SOURCE and
	 * let it settle; TO gets a copy. */
	struct stat st;
	if (fstatat(l->rootfd, from, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode)) {
		int rc = 0;
		pthread_mutex_lock(&l->save_lock);
		if (renameat(l->rootfd, from, l->rootfd, to) < 0)
			rc = -errno;
		struct cfgfs_edit e = {.kind = CFGFS_EDIT_REMOVE, .path = from};
		if (rc == 0)
			rc = live_commit(l, &e, 1, who, "delete", from, NULL);
		pthread_mutex_unlock(&l->save_lock);
		return rc;
	}
	int rc = copy_aside(l, from, to);
	if (rc < 0)
		return rc;
	return live_settle_add(l, from, who);
}

int cfgfs_live_unlink(struct cfgfs_live *l, const char *path, const struct cfgfs_who *who)
{
	if (cfgfs_live_scratch(l, path))
		return unlinkat(l->rootfd, path, 0) < 0 ? -errno : 0;
	struct stat st;
	if (fstatat(l->rootfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	return live_settle_add(l, path, who);
}

int cfgfs_live_rmdir(struct cfgfs_live *l, const char *path, const struct cfgfs_who *who)
{
	if (cfgfs_live_scratch(l, path))
		return unlinkat(l->rootfd, path, AT_REMOVEDIR) < 0 ? -errno : 0;
	pthread_mutex_lock(&l->save_lock);
	int rc = live_settle_flush_under(l, path);
	if (rc == 0 && unlinkat(l->rootfd, path, AT_REMOVEDIR) < 0)
		rc = -errno;
	struct cfgfs_edit e = {.kind = CFGFS_EDIT_REMOVE, .path = path};
	if (rc == 0)
		rc = live_commit(l, &e, 1, who, "rmdir", path, NULL);
	pthread_mutex_unlock(&l->save_lock);
	return rc;
}

/* A new entry at PATH: finalize a settling delete of the same name first. */
static int make_entry(struct cfgfs_live *l, const char *path, const struct cfgfs_who *who,
		      const char *verb, int (*make)(struct cfgfs_live *, const char *,
						    const void *),
		      const void *arg)
{
	pthread_mutex_lock(&l->save_lock);
	int rc = 0;
	if (live_settle_is(l, path))
		rc = live_settle_finish(l, path);
	if (rc == 0)
		rc = make(l, path, arg);
	struct stat st;
	if (rc == 0 && fstatat(l->rootfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
		rc = -errno;
	char target[4096];
	ssize_t tlen = 0;
	if (rc == 0 && S_ISLNK(st.st_mode) &&
	    (tlen = readlinkat(l->rootfd, path, target, sizeof(target))) < 0)
		rc = -errno;
	if (rc == 0) {
		struct cfgfs_edit e = {.kind = CFGFS_EDIT_PUT, .path = path, .data = target,
				       .len = (size_t)tlen};
		meta_of(&e.meta, &st);
		rc = live_commit(l, &e, 1, who, verb, path, NULL);
	}
	pthread_mutex_unlock(&l->save_lock);
	return rc;
}

struct mkdir_arg {
	mode_t mode;
	const struct cfgfs_who *who;
};

static int do_mkdir(struct cfgfs_live *l, const char *path, const void *arg)
{
	const struct mkdir_arg *a = arg;
	if (mkdirat(l->rootfd, path, a->mode) < 0)
		return -errno;
	if (fchownat(l->rootfd, path, a->who->uid, a->who->gid, AT_SYMLINK_NOFOLLOW) < 0) {
		int e = errno;
		(void)unlinkat(l->rootfd, path, AT_REMOVEDIR);
		return -e;
	}
	return 0;
}

int cfgfs_live_mkdir(struct cfgfs_live *l, const char *path, mode_t mode,
		     const struct cfgfs_who *who)
{
	struct mkdir_arg a = {mode, who};
	if (cfgfs_live_scratch(l, path))
		return do_mkdir(l, path, &a);
	return make_entry(l, path, who, "mkdir", do_mkdir, &a);
}

struct symlink_arg {
	const char *target;
	const struct cfgfs_who *who;
};

static int do_symlink(struct cfgfs_live *l, const char *path, const void *arg)
{
	const struct symlink_arg *a = arg;
	if (symlinkat(a->target, l->rootfd, path) < 0)
		return -errno;
	if (fchownat(l->rootfd, path, a->who->uid, a->who->gid, AT_SYMLINK_NOFOLLOW) < 0) {
		int e = errno;
		(void)unlinkat(l->rootfd, path, 0);
		return -e;
	}
	return 0;
}

int cfgfs_live_symlink(struct cfgfs_live *l, const char *target, const char *path,
		       const struct cfgfs_who *who)
{
	struct symlink_arg a = {target, who};
	if (cfgfs_live_scratch(l, path))
		return do_symlink(l, path, &a);
	return make_entry(l, path, who, "symlink", do_symlink, &a);
}

int cfgfs_live_link(struct cfgfs_live *l, const char *from, const char *to,
		    const struct cfgfs_who *who)
{
	if (cfgfs_live_scratch(l, to))
		return linkat(l->rootfd, from, l->rootfd, to, 0) < 0 ? -errno : 0;
	/* a hard link is committed as a second file with the same content */
	int fd = openat(l->rootfd, from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat sb;
	char *buf = NULL;
	int rc = load_and_check(l, to, fd, &sb, &buf, who);
	close(fd);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&l->save_lock);
	if (live_settle_is(l, to))
		rc = live_settle_finish(l, to);
	if (rc == 0 && linkat(l->rootfd, from, l->rootfd, to, 0) < 0)
		rc = -errno;
	if (rc == 0) {
		struct cfgfs_edit e = {.kind = CFGFS_EDIT_PUT, .path = to, .data = buf,
				       .len = (size_t)sb.st_size};
		meta_of(&e.meta, &sb);
		rc = live_commit(l, &e, 1, who, "link", to, NULL);
		if (rc < 0)
			(void)unlinkat(l->rootfd, to, 0);
	}
	pthread_mutex_unlock(&l->save_lock);
	free(buf);
	return rc;
}

int cfgfs_live_setmeta(struct cfgfs_live *l, const char *path, uint32_t mode, uint32_t uid,
		       uint32_t gid, const struct cfgfs_who *who)
{
	int rc = 0;
	bool scratch = cfgfs_live_scratch(l, path);
	if (!scratch)
		pthread_mutex_lock(&l->save_lock);
	if (mode != UINT32_MAX && fchmodat(l->rootfd, path, mode & 07777, 0) < 0)
		rc = -errno;
	if (rc == 0 && (uid != UINT32_MAX || gid != UINT32_MAX) &&
	    fchownat(l->rootfd, path, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		rc = -errno;
	struct stat st;
	if (rc == 0 && !scratch && fstatat(l->rootfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
		rc = -errno;
	if (rc == 0 && !scratch) {
		struct cfgfs_edit e = {.kind = CFGFS_EDIT_META, .path = path};
		meta_of(&e.meta, &st);
		/* a chmod or chown changes mode and owner, not the recorded mtime:
		 * one that changes nothing makes no revision */
		struct cfgfs_meta old;
		if (cfgfs_store_has(l->store, path, &old)) {
			e.meta.mtime_sec = old.mtime_sec;
			e.meta.mtime_nsec = old.mtime_nsec;
		}
		rc = live_commit(l, &e, 1, who, mode != UINT32_MAX ? "chmod" : "chown",
				 path[0] ? path : ".", NULL);
	}
	if (!scratch)
		pthread_mutex_unlock(&l->save_lock);
	return rc;
}

int cfgfs_live_utimens(struct cfgfs_live *l, const char *path, const struct timespec tv[2])
{
	return utimensat(l->rootfd, path[0] ? path : ".", tv, AT_SYMLINK_NOFOLLOW) < 0 ? -errno
										    : 0;
}

void cfgfs_live_refuse_size(struct cfgfs_live *l, const char *path, uint64_t size,
			    const struct cfgfs_who *who)
{
	char msg[PATH_MAX + 128];
	snprintf(msg, sizeof(msg), "%s: a write up to %llu bytes is over max_file_size (%zu)", path,
		 (unsigned long long)size, l->cfg->max_file_size);
	struct stat st = {.st_mode = S_IFREG | 0600, .st_uid = who->uid, .st_gid = who->gid};
	reject(l, path, who, "size", msg, "", 0, &st);
}

int cfgfs_live_errors_text(struct cfgfs_live *l, char **out, size_t *len)
{
	return cfgfs_rejects_text(&l->rejects, out, len);
}

void cfgfs_live_stats(struct cfgfs_live *l, struct cfgfs_live_stats *out)
{
	pthread_mutex_lock(&l->stats_lock);
	*out = l->stats;
	pthread_mutex_unlock(&l->stats_lock);
}
