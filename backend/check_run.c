/* check_run.c — see check_run.h. */
#include "backend/check_run.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define CHECK_TMP_TEMPLATE "/tmp/cfgfs-check.XXXXXX"
#define CHECK_POLL_MS 20

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int write_copy(char *dir, size_t dirlen, char **file, const char *path, const char *buf,
		      size_t len)
{
	snprintf(dir, dirlen, "%s", CHECK_TMP_TEMPLATE);
	if (!mkdtemp(dir))
		return -errno;
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (asprintf(file, "%s/%s", dir, base) < 0) {
		*file = NULL;
		rmdir(dir);
		return -ENOMEM;
	}
	int fd = open(*file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int rc = fd < 0 ? -errno : 0;
	for (size_t done = 0; rc == 0 && done < len;) {
		ssize_t w = write(fd, buf + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			rc = -errno;
		else
			done += (size_t)w;
	}
	if (fd >= 0 && close(fd) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

/* ARG with every "{}" replaced by FILE. */
static char *substitute(const char *arg, const char *file)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	if (!f)
		return NULL;
	for (const char *a = arg; *a;) {
		const char *at = strstr(a, "{}");
		if (!at) {
			fputs(a, f);
			break;
		}
		fwrite(a, 1, (size_t)(at - a), f);
		fputs(file, f);
		a = at + 2;
	}
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

static char **expand(const char *const *argv, const char *file)
{
	size_t n = 0;
	while (argv[n])
		n++;
	char **out = calloc(n + 1, sizeof(*out));
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		out[i] = substitute(argv[i], file);
		if (!out[i]) {
			for (size_t j = 0; j < i; j++)
				free(out[j]);
			free(out);
			return NULL;
		}
	}
	return out;
}

/* Run and wait, collecting output; *status is the wait status, or -1 on
 * timeout (the group was killed). */
static int spawn_wait(char **argv, uint64_t timeout_ms, int *status, char *out, size_t outlen)
{
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	int rc = posix_spawn_file_actions_init(&fa);
	if (rc == 0)
		rc = posix_spawnattr_init(&at);
	if (rc != 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return -rc;
	}
	(void)posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	(void)posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	(void)posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
	(void)posix_spawnattr_setpgroup(&at, 0);
	(void)posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
	pid_t pid;
	rc = posix_spawnp(&pid, argv[0], &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(pipefd[1]);
	if (rc != 0) {
		close(pipefd[0]);
		return -rc;
	}
	size_t got = 0;
	int64_t deadline = now_ms() + (int64_t)timeout_ms;
	bool open_pipe = true, timed_out = false;
	*status = 0;
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0) {
			timed_out = true;
			break;
		}
		if (open_pipe) {
			struct pollfd p = {pipefd[0], POLLIN, 0};
			int pr = poll(&p, 1, left < CHECK_POLL_MS ? (int)left : CHECK_POLL_MS);
			if (pr > 0) {
				char tmp[512];
				ssize_t r = read(pipefd[0], tmp, sizeof(tmp));
				if (r <= 0)
					open_pipe = false;
				for (ssize_t i = 0; i < r && got + 1 < outlen; i++)
					out[got++] = tmp[i];
			}
		} else {
			struct timespec ts = {0, CHECK_POLL_MS * 1000000L};
			nanosleep(&ts, NULL);
		}
		pid_t w = waitpid(pid, status, WNOHANG);
		if (w == pid)
			break;
	}
	if (timed_out) {
		(void)kill(-pid, SIGTERM);
		struct timespec ts = {0, CFGFS_CHECK_KILL_GRACE_MS * 1000000L};
		nanosleep(&ts, NULL);
		(void)kill(-pid, SIGKILL);
		(void)waitpid(pid, status, 0);
		*status = -1;
	} else {
		(void)kill(-pid, SIGKILL); /* anything it left behind */
	}
	close(pipefd[0]);
	out[got] = '\0';
	return 0;
}

int cfgfs_check_run(const char *const *argv, uint64_t timeout_ms, const char *path,
		    const char *buf, size_t len, char *msg, size_t msglen)
{
	char dir[sizeof(CHECK_TMP_TEMPLATE)];
	char *file = NULL;
	char **args = NULL;
	char out[CFGFS_CHECK_OUTPUT_MAX];
	int status = 0;
	int rc = write_copy(dir, sizeof(dir), &file, path, buf, len);
	if (rc < 0) {
		snprintf(msg, msglen, "check %s could not run: %s", argv[0], strerror(-rc));
		goto out;
	}
	args = expand(argv, file);
	if (!args) {
		rc = -ENOMEM;
		goto out;
	}
	rc = spawn_wait(args, timeout_ms, &status, out, sizeof(out));
	if (rc < 0) {
		snprintf(msg, msglen, "check %s could not run: %s", argv[0], strerror(-rc));
		goto out;
	}
	if (status == -1) {
		snprintf(msg, msglen, "check %s timed out after %llu ms", argv[0],
			 (unsigned long long)timeout_ms);
		rc = -EINVAL;
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		char *line = out;
		while (*line == '\n' || *line == ' ')
			line++;
		line[strcspn(line, "\n")] = '\0';
		if (WIFEXITED(status))
			snprintf(msg, msglen, "check %s failed (exit %d)%s%s", argv[0],
				 WEXITSTATUS(status), *line ? ": " : "", line);
		else
			snprintf(msg, msglen, "check %s killed by signal %d%s%s", argv[0],
				 WTERMSIG(status), *line ? ": " : "", line);
		rc = -EINVAL;
	}
out:
	if (args) {
		for (size_t i = 0; args[i]; i++)
			free(args[i]);
		free(args);
	}
	if (file) {
		unlink(file);
		rmdir(dir);
	}
	free(file);
	return rc;
}
