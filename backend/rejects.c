/* rejects.c — see rejects.h. */
#include "backend/rejects.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int cfgfs_rejects_open(struct cfgfs_rejects *r, const char *gitdir, char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	r->dirfd = -1;
	char *p = NULL;
	if (asprintf(&p, "%s/%s", gitdir, CFGFS_REJECTED_DIR) < 0)
		return -ENOMEM;
	if (mkdir(p, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", p, strerror(errno));
		free(p);
		return -errno;
	}
	r->dirfd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int e = errno;
	if (r->dirfd < 0)
		snprintf(err, errlen, "%s: %s", p, strerror(e));
	free(p);
	if (r->dirfd < 0)
		return -e;
	return -pthread_mutex_init(&r->lock, NULL);
}

static void reject_free(struct cfgfs_reject *j)
{
	free(j->user);
	free(j->path);
	free(j->message);
	memset(j, 0, sizeof(*j));
}

void cfgfs_rejects_close(struct cfgfs_rejects *r)
{
	for (size_t i = 0; i < CFGFS_REJECTS_KEPT; i++)
		reject_free(&r->ring[i]);
	if (r->dirfd >= 0) {
		close(r->dirfd);
		pthread_mutex_destroy(&r->lock);
	}
	r->dirfd = -1;
}

/* mkdir -p for the parents of PATH under dirfd */
static int make_parents(int dirfd, const char *path)
{
	char *copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	for (char *s = strchr(copy, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdirat(dirfd, copy, 0700) < 0 && errno != EEXIST) {
			int e = errno;
			free(copy);
			return -e;
		}
		*s = '/';
	}
	free(copy);
	return 0;
}

static int keep_content(int dirfd, const char *path, const void *buf, size_t len, uint32_t mode,
			uint32_t uid, uint32_t gid)
{
	int rc = make_parents(dirfd, path);
	if (rc < 0)
		return rc;
	char *tmp = NULL;
	if (asprintf(&tmp, "%s.cfgfs-tmp", path) < 0)
		return -ENOMEM;
	int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	for (size_t done = 0; done < len;) {
		ssize_t w = write(fd, (const char *)buf + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			rc = -errno;
			break;
		}
		done += (size_t)w;
	}
	if (rc == 0 && (fchown(fd, uid, gid) < 0 || fchmod(fd, mode & 07777) < 0))
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && renameat(dirfd, tmp, dirfd, path) < 0)
		rc = -errno;
	if (rc < 0)
		(void)unlinkat(dirfd, tmp, 0);
out:
	free(tmp);
	return rc;
}

int cfgfs_rejects_add(struct cfgfs_rejects *r, const char *path, const char *user,
		      const char *message, const void *buf, size_t len, uint32_t mode,
		      uint32_t uid, uint32_t gid)
{
	pthread_mutex_lock(&r->lock);
	struct cfgfs_reject *j = &r->ring[r->next];
	reject_free(j);
	j->when = time(NULL);
	j->user = strdup(user);
	j->path = strdup(path);
	j->message = strdup(message);
	r->next = (r->next + 1) % CFGFS_REJECTS_KEPT;
	if (r->count < CFGFS_REJECTS_KEPT)
		r->count++;
	r->total++;
	int rc = keep_content(r->dirfd, path, buf, len, mode, uid, gid);
	pthread_mutex_unlock(&r->lock);
	return rc;
}

void cfgfs_rejects_clear(struct cfgfs_rejects *r, const char *path)
{
	pthread_mutex_lock(&r->lock);
	bool any = false;
	for (size_t i = 0; i < CFGFS_REJECTS_KEPT; i++)
		if (r->ring[i].path && strcmp(r->ring[i].path, path) == 0) {
			reject_free(&r->ring[i]);
			any = true;
		}
	if (any || faccessat(r->dirfd, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		(void)unlinkat(r->dirfd, path, 0);
	pthread_mutex_unlock(&r->lock);
}

int cfgfs_rejects_text(struct cfgfs_rejects *r, char **out, size_t *len)
{
	FILE *f = open_memstream(out, len);
	if (!f)
		return -ENOMEM;
	pthread_mutex_lock(&r->lock);
	for (size_t k = 1; k <= CFGFS_REJECTS_KEPT; k++) {
		const struct cfgfs_reject *j =
			&r->ring[(r->next + CFGFS_REJECTS_KEPT - k) % CFGFS_REJECTS_KEPT];
		if (!j->message)
			continue;
		struct tm tm;
		char when[32];
		gmtime_r(&j->when, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		fprintf(f, "%s %s %s %s\n", when, j->user ? j->user : "?",
			j->path ? j->path : "?", j->message);
	}
	pthread_mutex_unlock(&r->lock);
	return fclose(f) == 0 ? 0 : -ENOMEM;
}
