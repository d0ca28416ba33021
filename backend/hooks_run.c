/* hooks_run.c — one try of one hook as a process; see hooks_run.h. */
#include "backend/hooks_run.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backend/hooks.h"

/* Poll period when pidfd_open is not available to wake us at exit. */
#define RUN_POLL_TICK_MS 20
/* Bytes read from a pipe at a time. */
#define RUN_READ_CHUNK 4096

/* Inherited variables the runner always replaces or removes. */
static const char *const reserved_env[] = {
    "CFGFS_REVISION", "CFGFS_COMMIT", "CFGFS_PREVIOUS_COMMIT",
    "CFGFS_MOUNT",    "CFGFS_PATHS",  "CFGFS_PATHS_TRUNCATED",
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool is_reserved(const char *entry)
{
	size_t len = strcspn(entry, "=");
	for (size_t i = 0; i < sizeof(reserved_env) / sizeof(*reserved_env); i++)
		if (strlen(reserved_env[i]) == len && memcmp(entry, reserved_env[i], len) == 0)
			return true;
	return false;
}

void cfgfs_hooks_env_free(char **env)
{
	if (!env)
		return;
	for (char **e = env; *e; e++)
		free(*e);
	free(env);
}

int cfgfs_hooks_env(char ***out, const char *const *vars, size_t nvars)
{
	size_t n = 0, count = 0;
	char **env = NULL;
	int rc = -ENOMEM;

	*out = NULL;
	for (char **e = environ; e && *e; e++)
		count++;
	if (!(env = calloc(count + nvars + 1, sizeof(*env))))
		goto cleanup;
	for (size_t i = 0; i < count; i++)
		if (!is_reserved(environ[i]) && !(env[n++] = strdup(environ[i])))
			goto cleanup;
	for (size_t i = 0; i < nvars; i++)
		if (!(env[n++] = strdup(vars[i])))
			goto cleanup;
	*out = env;
	env = NULL;
	rc = 0;
cleanup:
	cfgfs_hooks_env_free(env);
	return rc;
}

/* One of the hook's output pipes, cut into lines for the log. */
struct stream {
	int fd; /* -1 once closed */
	const char *name;
	char line[CFGFS_HOOKS_MAX_LINE + 1];
	size_t len;
};

/* Shared by both streams of one try. */
struct output {
	const struct cfgfs_hook *hook;
	struct cfgfs_log *log;
	size_t logged;
	bool truncated;
};

static void emit_line(struct output *o, struct stream *s)
{
	if (o->logged >= CFGFS_HOOKS_MAX_OUTPUT) {
		if (!o->truncated)
			cfgfs_log(o->log, CFGFS_WARN, "hook-output-truncated", "hook",
			          o->hook->match, NULL);
		o->truncated = true;
	} else {
		s->line[s->len] = '\0';
		cfgfs_log(o->log, CFGFS_INFO, "hook-output", "hook", o->hook->match, "stream",
		          s->name, "line", s->line, NULL);
		o->logged += s->len + 1;
	}
	s->len = 0;
}

/* Read what S has; close it at end of file or on error. */
static void stream_read(struct output *o, struct stream *s)
{
	char buf[RUN_READ_CHUNK];
	ssize_t got = read(s->fd, buf, sizeof(buf));

	if (got < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (got <= 0) {
		if (s->len)
			emit_line(o, s);
		close(s->fd);
		s->fd = -1;
		return;
	}
	for (ssize_t i = 0; i < got; i++) {
		if (buf[i] == '\n') {
			emit_line(o, s);
			continue;
		}
		s->line[s->len++] = buf[i];
		if (s->len == CFGFS_HOOKS_MAX_LINE)
			emit_line(o, s);
	}
}

static void stream_close(struct output *o, struct stream *s)
{
	if (s->fd < 0)
		return;
	if (s->len)
		emit_line(o, s);
	close(s->fd);
	s->fd = -1;
}

/* Has PID exited? Leaves it unreaped, so its pid (the group id) stays ours. */
static bool leader_exited(pid_t pid)
{
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0)
		return errno == ECHILD;
	return si.si_pid == pid;
}

static int spawn(pid_t *pid, const struct cfgfs_hook *hook, char *const *envp, const char *workdir,
                 int out_w, int err_w)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	bool fa_ok = false, attr_ok = false;
	int rc;

	if ((rc = posix_spawn_file_actions_init(&fa)) != 0)
		goto cleanup;
	fa_ok = true;
	if ((rc = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0)) ||
	    (rc = posix_spawn_file_actions_adddup2(&fa, out_w, STDOUT_FILENO)) ||
	    (rc = posix_spawn_file_actions_adddup2(&fa, err_w, STDERR_FILENO)) ||
	    (rc = posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1)) ||
	    (workdir && (rc = posix_spawn_file_actions_addchdir_np(&fa, workdir))))
		goto cleanup;
	if ((rc = posix_spawnattr_init(&attr)) != 0)
		goto cleanup;
	attr_ok = true;
	/* Own process group (so a timeout can kill it whole), no signal
	 * blocked or ignored because the daemon had it so. */
	sigemptyset(&none);
	sigfillset(&all);
	if ((rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
	                                              POSIX_SPAWN_SETSIGDEF)) ||
	    (rc = posix_spawnattr_setpgroup(&attr, 0)) ||
	    (rc = posix_spawnattr_setsigmask(&attr, &none)) ||
	    (rc = posix_spawnattr_setsigdefault(&attr, &all)))
		goto cleanup;
	rc = posix_spawnp(pid, hook->run[0], &fa, &attr, (char *const *)hook->run, envp);
cleanup:
	if (attr_ok)
		posix_spawnattr_destroy(&attr);
	if (fa_ok)
		posix_spawn_file_actions_destroy(&fa);
	return rc;
}

/* The phases of a try, in order. */
enum phase { RUNNING, TERM_SENT, KILLED };

/*
 * Watch PID until it exits, reading both streams, enforcing the timeout.
 * Returns the phase reached (RUNNING: it ended on its own).
 */
static enum phase supervise(pid_t pid, const struct cfgfs_hook *hook, struct output *o,
                            struct stream *streams)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	int64_t deadline = mono_ms() + (int64_t)hook->timeout_ms, drain_until = -1;
	enum phase phase = RUNNING;

	for (;;) {
		int64_t now = mono_ms(), wake;
		bool exited = leader_exited(pid);

		if (exited && drain_until < 0) {
			if (phase != RUNNING) {
				kill(-pid, SIGKILL); /* whatever of the group is left */
				phase = KILLED;
			}
			drain_until = now + CFGFS_HOOKS_DRAIN_MS;
		}
		if (exited && ((streams[0].fd < 0 && streams[1].fd < 0) || now >= drain_until))
			break;
		if (!exited && phase == RUNNING && now >= deadline) {
			kill(-pid, SIGTERM);
			phase = TERM_SENT;
			deadline = now + CFGFS_HOOKS_KILL_GRACE_MS;
		} else if (!exited && phase == TERM_SENT && now >= deadline) {
			kill(-pid, SIGKILL);
			phase = KILLED;
			deadline = INT64_MAX;
		}
		wake = exited ? drain_until : deadline;
		if (pidfd < 0 && !exited && wake > now + RUN_POLL_TICK_MS)
			wake = now + RUN_POLL_TICK_MS; /* nothing else tells us it exited */

		struct pollfd fds[3] = {
		    {.fd = streams[0].fd, .events = POLLIN},
		    {.fd = streams[1].fd, .events = POLLIN},
		    {.fd = exited ? -1 : pidfd, .events = POLLIN},
		};
		int64_t wait = wake - now;
		if (wait < 0)
			wait = 0;
		if (wait > INT32_MAX)
			wait = INT32_MAX;
		if (poll(fds, 3, (int)wait) < 0) {
			/* EINTR, or ENOMEM: look again a tick later; the
			 * deadlines above still hold. */
			if (errno != EINTR)
				usleep(RUN_POLL_TICK_MS * 1000);
			continue;
		}
		for (int i = 0; i < 2; i++)
			if (fds[i].fd >= 0 && (fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
				stream_read(o, &streams[i]);
	}
	if (pidfd >= 0)
		close(pidfd);
	return phase;
}

static void fill_result(struct cfgfs_hooks_try *out, enum phase phase, int status)
{
	if (phase != RUNNING)
		out->result = CFGFS_HOOKS_TIMEOUT;
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		out->result = CFGFS_HOOKS_OK;
	else
		out->result = CFGFS_HOOKS_FAILED;
	if (WIFEXITED(status))
		out->exit_code = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		out->signal = WTERMSIG(status);
}

int cfgfs_hooks_run_try(struct cfgfs_hooks_try *out, const struct cfgfs_hook *hook,
                        char *const *envp, const char *workdir, struct cfgfs_log *log)
{
	int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
	struct output o = {.hook = hook, .log = log};
	struct stream streams[2] = {{.fd = -1, .name = "stdout"}, {.fd = -1, .name = "stderr"}};
	int64_t start = mono_ms();
	enum phase phase;
	pid_t pid = -1;
	int status = 0, rc = 0, err;

	*out = (struct cfgfs_hooks_try){.result = CFGFS_HOOKS_FAILED, .exit_code = -1};
	if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
		rc = -errno;
		cfgfs_log(log, CFGFS_ERROR, "hook-error", "hook", hook->match, "error",
		          strerror(-rc), NULL);
		goto cleanup;
	}
	err = spawn(&pid, hook, envp, workdir, out_pipe[1], err_pipe[1]);
	close(out_pipe[1]);
	close(err_pipe[1]);
	out_pipe[1] = err_pipe[1] = -1;
	if (err == ENOENT || err == EACCES || err == ENOEXEC || err == ENOTDIR || err == ELOOP ||
	    err == ENAMETOOLONG || err == EISDIR) {
		/* The policy names something that cannot run: the hook's failure. */
		out->spawn_error = err;
		goto cleanup;
	}
	if (err != 0) {
		rc = -err;
		cfgfs_log(log, CFGFS_ERROR, "hook-error", "hook", hook->match, "error",
		          strerror(err), NULL);
		goto cleanup;
	}
	streams[0].fd = out_pipe[0];
	streams[1].fd = err_pipe[0];
	out_pipe[0] = err_pipe[0] = -1;
	phase = supervise(pid, hook, &o, streams);
	while ((err = waitpid(pid, &status, 0) < 0 ? errno : 0) == EINTR)
		;
	if (err != 0) {
		/* Reaped by someone else (SIGCHLD ignored?): its status is lost. */
		rc = -err;
		cfgfs_log(log, CFGFS_ERROR, "hook-error", "hook", hook->match, "error",
		          strerror(err), NULL);
		goto cleanup;
	}
	fill_result(out, phase, status);
cleanup:
	stream_close(&o, &streams[0]);
	stream_close(&o, &streams[1]);
	for (int i = 0; i < 2; i++) {
		if (out_pipe[i] >= 0)
			close(out_pipe[i]);
		if (err_pipe[i] >= 0)
			close(err_pipe[i]);
	}
	out->duration_ms = mono_ms() - start;
	return rc;
}
