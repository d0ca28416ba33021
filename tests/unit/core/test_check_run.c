/*
 * test_check_run.c — backend/check_run: exit statuses, the first output
 * line as the reason, "{}" substitution, the private copy's content and
 * name, timeouts that kill the whole process group (a child that ignores
 * SIGTERM included), leftovers of a passing command killed, a missing
 * binary, and the private directory removed every time.
 */
#include "core_test.h"

#include <signal.h>
#include <time.h>

#include "backend/check_run.h"

#define MSG_LEN 512
#define SLOW_BOUND_MS 5000 /* only a bound that fails a hung run */

static char g_dir[256];

static int run(const char *const *argv, uint64_t timeout_ms, const char *path, const char *buf,
	       size_t len, char *msg)
{
	msg[0] = '\0';
	return cfgfs_check_run(argv, timeout_ms, path, buf, len, msg, MSG_LEN);
}

static void read_file(const char *path, char *out, size_t size)
{
	out[0] = '\0';
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	size_t got = fread(out, 1, size - 1, f);
	out[got] = '\0';
	while (got > 0 && out[got - 1] == '\n')
		out[--got] = '\0';
	fclose(f);
}

/* A process is gone once kill(0) fails or it is a zombie waiting for a
 * reaper that is not us. Waits up to a generous bound for the kill to land. */
static bool pid_gone(pid_t pid)
{
	for (int i = 0; i < 250; i++) {
		if (kill(pid, 0) < 0 && errno == ESRCH)
			return true;
		char path[64], stat[512];
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		read_file(path, stat, sizeof(stat));
		const char *rp = strrchr(stat, ')');
		if (rp && rp[1] == ' ' && rp[2] == 'Z')
			return true;
		struct timespec ts = {0, 20 * 1000000L};
		nanosleep(&ts, NULL);
	}
	return false;
}

/* The private copy's directory, as the command recorded it, is gone. */
static void check_copy_removed(const char *record)
{
	char dir[512];
	read_file(record, dir, sizeof(dir));
	CHECK(strncmp(dir, "/tmp/cfgfs-check.", 17) == 0);
	if (dir[0]) {
		struct stat st;
		if (stat(dir, &st) == 0) {
			printf("FAIL %s:%d: private directory %s left behind\n", __FILE__, __LINE__,
			       dir);
			c_failures++;
		}
	}
	unlink(record);
}

static void test_status(void)
{
	char msg[MSG_LEN];
	CHECK_RC(run((const char *[]){"/bin/true", NULL}, SLOW_BOUND_MS, "a.yaml", "x", 1, msg),
		 0);
	CHECK_RC(run((const char *[]){"/bin/false", NULL}, SLOW_BOUND_MS, "a.yaml", "x", 1, msg),
		 -EINVAL);
	CHECK_HAS(msg, "exit 1");
	CHECK_HAS(msg, "/bin/false");
	/* found on PATH */
	CHECK_RC(run((const char *[]){"true", NULL}, SLOW_BOUND_MS, "a.yaml", "x", 1, msg), 0);

	/* the first line of output is the reason */
	CHECK_RC(run((const char *[]){"/bin/sh", "-c",
				      "echo 'line one: bad key' >&2; echo 'line two' >&2; exit 3",
				      NULL},
		     SLOW_BOUND_MS, "a.yaml", "x", 1, msg),
		 -EINVAL);
	CHECK_HAS(msg, "exit 3");
	CHECK_HAS(msg, "line one: bad key");
	CHECK(strstr(msg, "line two") == NULL);
	CHECK(strchr(msg, '\n') == NULL);
	/* stdout counts too, blank leading lines skipped */
	CHECK_RC(run((const char *[]){"/bin/sh", "-c", "printf '\\n\\nfrom stdout\\n'; exit 4",
				      NULL},
		     SLOW_BOUND_MS, "a.yaml", "x", 1, msg),
		 -EINVAL);
	CHECK_HAS(msg, "exit 4");
	CHECK_HAS(msg, "from stdout");

	/* killed by a signal */
	CHECK_RC(run((const char *[]){"/bin/sh", "-c", "kill -9 $$", NULL}, SLOW_BOUND_MS,
		     "a.yaml", "x", 1, msg),
		 -EINVAL);
	CHECK_HAS(msg, "signal 9");

	/* a lot of output, passing and failing: no deadlock, bounded message */
	CHECK_RC(run((const char *[]){"/bin/sh", "-c", "head -c 300000 /dev/zero | tr '\\0' a",
				      NULL},
		     SLOW_BOUND_MS * 2, "a.yaml", "x", 1, msg),
		 0);
	CHECK_RC(run((const char *[]){"/bin/sh", "-c",
				      "head -c 300000 /dev/zero | tr '\\0' a; exit 1", NULL},
		     SLOW_BOUND_MS * 2, "a.yaml", "x", 1, msg),
		 -EINVAL);
	CHECK_HAS(msg, "exit 1");
	CHECK(strlen(msg) < MSG_LEN);

	/* stdin is /dev/null: a command that reads it does not hang */
	CHECK_RC(run((const char *[]){"/bin/cat", NULL}, SLOW_BOUND_MS, "a.yaml", "x", 1, msg), 0);
}

static void test_substitution(void)
{
	char msg[MSG_LEN], rec[512], got[512];
	snprintf(rec, sizeof(rec), "%s/rec", g_dir);

	/* "{}" replaced in every argument, several times in one */
	const char *both[] = {"/bin/sh", "-c", "test -f {} && grep -q x {}", NULL};
	CHECK_RC(run(both, SLOW_BOUND_MS, "conf/app.yaml", "has x\n", 6, msg), 0);
	CHECK_RC(run(both, SLOW_BOUND_MS, "conf/app.yaml", "nope\n", 5, msg), -EINVAL);

	/* the copy keeps the base name, lives in a private directory, is
	 * readable by its owner; "{}" inside a longer argument */
	char script[4096];
	snprintf(script, sizeof(script),
		 "f=\"$1\"; f=${f#--file=}; echo \"$f\" > '%s'; dirname \"$f\" > '%s.dir';"
		 " test -r \"$f\"",
		 rec, rec);
	const char *argv[] = {"/bin/sh", "-c", script, "sh", "--file={}", NULL};
	CHECK_RC(run(argv, SLOW_BOUND_MS, "deep/dir/app.yaml", "k: v\n", 5, msg), 0);
	read_file(rec, got, sizeof(got));
	CHECK_HAS(got, "/tmp/cfgfs-check.");
	size_t n = strlen(got);
	CHECK(n > 9 && strcmp(got + n - 9, "/app.yaml") == 0);
	CHECK(strstr(got, "deep/dir") == NULL);
	char dirrec[600];
	snprintf(dirrec, sizeof(dirrec), "%s.dir", rec);
	check_copy_removed(dirrec);
	unlink(rec);

	/* an argument without "{}" is passed unchanged, "{" and "}" alone too */
	snprintf(script, sizeof(script), "printf '%%s|%%s|%%s' \"$1\" \"$2\" \"$3\" > '%s'", rec);
	const char *plain[] = {"/bin/sh", "-c", script, "sh", "x", "{", "a}{b", NULL};
	CHECK_RC(run(plain, SLOW_BOUND_MS, "a.yaml", "", 0, msg), 0);
	read_file(rec, got, sizeof(got));
	CHECK_STR(got, "x|{|a}{b");
	unlink(rec);
}

static void test_content(void)
{
	char msg[MSG_LEN], ref[512], rec[512];
	snprintf(ref, sizeof(ref), "%s/ref", g_dir);
	snprintf(rec, sizeof(rec), "%s/rec", g_dir);
	/* bytes with a NUL, no final newline */
	static const char content[] = "first: 1\n\0binary\xff tail";
	const size_t len = sizeof(content) - 1;
	FILE *f = fopen(ref, "wb");
	CHECK(f != NULL);
	if (!f)
		return;
	fwrite(content, 1, len, f);
	fclose(f);
	char script[4096];
	snprintf(script, sizeof(script), "dirname \"$1\" > '%s'; cmp -s \"$1\" '%s'", rec, ref);
	const char *argv[] = {"/bin/sh", "-c", script, "sh", "{}", NULL};
	CHECK_RC(run(argv, SLOW_BOUND_MS, "x.bin", content, len, msg), 0);
	check_copy_removed(rec);
	CHECK_RC(run(argv, SLOW_BOUND_MS, "x.bin", content, len - 1, msg), -EINVAL);
	check_copy_removed(rec);
	/* empty content: an empty file */
	snprintf(script, sizeof(script), "dirname \"$1\" > '%s'; test -f \"$1\" && ! test -s \"$1\"",
		 rec);
	CHECK_RC(run(argv, SLOW_BOUND_MS, "empty.yaml", "", 0, msg), 0);
	check_copy_removed(rec);
	/* the copy is private: mode 0600 */
	snprintf(script, sizeof(script),
		 "dirname \"$1\" > '%s'; test \"$(stat -c %%a \"$1\")\" = 600", rec);
	CHECK_RC(run(argv, SLOW_BOUND_MS, "m.yaml", "x", 1, msg), 0);
	check_copy_removed(rec);
	unlink(ref);
}

static void test_timeout(void)
{
	char msg[MSG_LEN], pidfile[512], rec[512], got[64];
	snprintf(pidfile, sizeof(pidfile), "%s/pid", g_dir);
	snprintf(rec, sizeof(rec), "%s/rec", g_dir);

	/* the shell and its child sleep are both killed at the timeout */
	char script[4096];
	snprintf(script, sizeof(script),
		 "dirname \"$1\" > '%s'; sleep 30 & echo $! > '%s.tmp'; mv '%s.tmp' '%s'; wait",
		 rec, pidfile, pidfile, pidfile);
	const char *argv[] = {"/bin/sh", "-c", script, "sh", "{}", NULL};
	CHECK_RC(run(argv, 300, "slow.yaml", "x", 1, msg), -EINVAL);
	CHECK_HAS(msg, "timed out");
	CHECK_HAS(msg, "300 ms");
	read_file(pidfile, got, sizeof(got));
	pid_t child = (pid_t)atoi(got);
	CHECK(child > 1);
	if (child > 1 && !pid_gone(child)) {
		printf("FAIL %s:%d: the check's child sleep (pid %d) survived the timeout\n",
		       __FILE__, __LINE__, (int)child);
		c_failures++;
		kill(child, SIGKILL);
	}
	unlink(pidfile);
	check_copy_removed(rec);

	/* a command that ignores SIGTERM is killed after the grace period */
	snprintf(script, sizeof(script),
		 "trap '' TERM; echo $$ > '%s.tmp'; mv '%s.tmp' '%s'; while :; do sleep 1; done",
		 pidfile, pidfile, pidfile);
	const char *stubborn[] = {"/bin/sh", "-c", script, NULL};
	CHECK_RC(run(stubborn, 300, "slow.yaml", "x", 1, msg), -EINVAL);
	CHECK_HAS(msg, "timed out");
	read_file(pidfile, got, sizeof(got));
	pid_t sh = (pid_t)atoi(got);
	CHECK(sh > 1);
	if (sh > 1 && !pid_gone(sh)) {
		printf("FAIL %s:%d: a check ignoring SIGTERM (pid %d) survived\n", __FILE__,
		       __LINE__, (int)sh);
		c_failures++;
		kill(sh, SIGKILL);
	}
	unlink(pidfile);

	/* a passing command's leftovers in its group are killed too */
	snprintf(script, sizeof(script),
		 "sleep 30 >/dev/null 2>&1 & echo $! > '%s.tmp'; mv '%s.tmp' '%s'; exit 0",
		 pidfile, pidfile, pidfile);
	const char *leaver[] = {"/bin/sh", "-c", script, NULL};
	CHECK_RC(run(leaver, SLOW_BOUND_MS, "a.yaml", "x", 1, msg), 0);
	read_file(pidfile, got, sizeof(got));
	child = (pid_t)atoi(got);
	CHECK(child > 1);
	if (child > 1 && !pid_gone(child)) {
		printf("FAIL %s:%d: a passing check's background child (pid %d) survived\n",
		       __FILE__, __LINE__, (int)child);
		c_failures++;
		kill(child, SIGKILL);
	}
	unlink(pidfile);
}

static void test_missing(void)
{
	char msg[MSG_LEN];
	int rc = run((const char *[]){"/nonexistent/cfgfs-no-such-check", "{}", NULL},
		     SLOW_BOUND_MS, "a.yaml", "x", 1, msg);
	CHECK(rc < 0);
	CHECK(msg[0] != '\0');
	CHECK_HAS(msg, "/nonexistent/cfgfs-no-such-check");
	rc = run((const char *[]){"cfgfs-no-such-check-on-path", NULL}, SLOW_BOUND_MS, "a.yaml",
		 "x", 1, msg);
	CHECK(rc < 0);
	CHECK(msg[0] != '\0');
	/* not executable */
	char path[512];
	snprintf(path, sizeof(path), "%s/noexec.sh", g_dir);
	CHECK_RC(c_write(g_dir, "noexec.sh", "#!/bin/sh\nexit 0\n", 0644), 0);
	rc = run((const char *[]){path, NULL}, SLOW_BOUND_MS, "a.yaml", "x", 1, msg);
	CHECK(rc < 0);
	CHECK(msg[0] != '\0');
}

int main(void)
{
	snprintf(g_dir, sizeof(g_dir), "/tmp/cfgfs-core-check-XXXXXX");
	if (!mkdtemp(g_dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_status();
	test_substitution();
	test_content();
	test_timeout();
	test_missing();
	if (c_failures == 0)
		c_sh("rm -rf '%s'", g_dir);
	else
		printf("scratch directory kept: %s\n", g_dir);
	return c_done("test_check_run");
}
