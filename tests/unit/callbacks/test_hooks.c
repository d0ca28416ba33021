/*
 * Unit tests for backend/hooks: real processes from tiny shell scripts
 * written to a temporary directory (argv `/bin/sh script ...` is the
 * policy's own choice, as a user could write it).
 *
 *   - a burst of 20 notifies runs the matching hook once, with the newest
 *     revision, the commit before the first, and every matching path;
 *     a non-matching hook never runs; hooks matching one change run in
 *     policy order; the daemon's environment is inherited, CFGFS_* set by us
 *     win; output reaches the log line by line;
 *   - a path "$(touch /tmp/pwned-PID); x.yaml" reaches the hook as data only;
 *   - retries happen the configured number of times with growing gaps;
 *   - a hanging hook is killed at its timeout with its background child,
 *     even when both ignore SIGTERM; a hook whose background child keeps its
 *     stdout open still finishes promptly;
 *   - on_failure: revert restores the last good commit (or the commit before
 *     the burst), runs once more, does not loop on the revert's revision
 *     whether its notify comes from inside the callback or after it;
 *   - stop drops a pending burst without waiting for its debounce.
 * Timing is asserted only loosely (lower bounds, generous upper bounds).
 */
#include "backend/hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ERR_LEN 512
#define PATH_LEN 512
#define WAIT_LIMIT_MS 15000
#define POLL_MS 20
#define QUIET_MS 400
#define BURST_SIZE 20
#define BURST_FIRST 101 /* BURST_FIRST - 1 has a commit */
#define MAX_STATES 8
#define MAX_REVERTS 8
#define MOUNTPOINT "/mnt/test dir"

static int failures;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: FAIL %s\n", __FILE__, __LINE__, #cond);            \
			failures++;                                                                \
		}                                                                                  \
	} while (0)

static char dir[] = "/tmp/cfgfs-hooks-XXXXXX";

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	usleep((useconds_t)ms * 1000);
}

static void path_in(char *out, const char *name)
{
	snprintf(out, PATH_LEN, "%s/%s", dir, name);
}

static void write_file(const char *name, const char *text)
{
	char path[PATH_LEN];
	path_in(path, name);
	FILE *f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		fprintf(stderr, "cannot write %s\n", path);
		exit(2);
	}
}

/* The file's text (caller frees), or NULL when it does not exist. */
static char *slurp(const char *name)
{
	char path[PATH_LEN], *text = NULL;
	size_t len = 0;
	path_in(path, name);
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	if (getdelim(&text, &len, '\0', f) < 0) {
		free(text);
		text = strdup("");
	}
	fclose(f);
	return text;
}

static size_t count_lines(const char *text)
{
	size_t n = 0;
	for (; text && *text; text++)
		n += *text == '\n';
	return n;
}

/* The policy TEXT with every "@D@" replaced by the temporary directory. */
static struct cfgfs_policy *load_policy(const char *text)
{
	char expanded[8192], err[ERR_LEN], path[PATH_LEN];
	size_t n = 0;
	struct cfgfs_policy *p = NULL;
	for (const char *s = text; *s && n + PATH_LEN < sizeof(expanded); s++) {
		if (strncmp(s, "@D@", 3) == 0) {
			n += (size_t)snprintf(expanded + n, sizeof(expanded) - n, "%s", dir);
			s += 2;
		} else {
			expanded[n++] = *s;
		}
	}
	expanded[n] = '\0';
	write_file("policy.yaml", expanded);
	path_in(path, "policy.yaml");
	if (cfgfs_policy_load(&p, path, err, sizeof(err)) != 0) {
		fprintf(stderr, "policy: %s\n", err);
		exit(2);
	}
	return p;
}

static void commit_of(char out[CFGFS_HOOKS_COMMIT_LEN], uint64_t rev)
{
	snprintf(out, CFGFS_HOOKS_COMMIT_LEN, "c%039" PRIu64, rev);
}

/* Notify revision REV changing PATHS, its previous commit that of REV-1. */
static void notify(struct cfgfs_hooks *hk, uint64_t rev, const char *const *paths, size_t n)
{
	char commit[CFGFS_HOOKS_COMMIT_LEN], prev[CFGFS_HOOKS_COMMIT_LEN];
	commit_of(commit, rev);
	commit_of(prev, rev - 1);
	struct cfgfs_hook_change c = {.revision = rev,
	                              .commit = commit,
	                              .previous_commit = rev > 1 ? prev : NULL,
	                              .paths = paths,
	                              .npaths = n};
	cfgfs_hooks_notify(hk, &c);
}

static void notify1(struct cfgfs_hooks *hk, uint64_t rev, const char *path)
{
	notify(hk, rev, &path, 1);
}

static struct cfgfs_hook_state state(struct cfgfs_hooks *hk, size_t i)
{
	struct cfgfs_hook_state st[MAX_STATES];
	size_t n = cfgfs_hooks_states(hk, st, MAX_STATES);
	if (i >= n) {
		fprintf(stderr, "no hook %zu\n", i);
		exit(2);
	}
	return st[i];
}

static uint64_t runs(const struct cfgfs_hook_state *s)
{
	return s->runs_ok + s->runs_failed + s->timeouts;
}

/* Wait until hook I has at least OK successes, FAILED failures, TIMEOUTS
 * timeouts; false after WAIT_LIMIT_MS. */
static bool wait_runs(struct cfgfs_hooks *hk, size_t i, uint64_t ok, uint64_t failed,
                      uint64_t timeouts)
{
	int64_t until = now_ms() + WAIT_LIMIT_MS;
	while (now_ms() < until) {
		struct cfgfs_hook_state s = state(hk, i);
		if (s.runs_ok >= ok && s.runs_failed >= failed && s.timeouts >= timeouts)
			return true;
		sleep_ms(POLL_MS);
	}
	fprintf(stderr, "timed out waiting for hook %zu\n", i);
	return false;
}

static const char record_sh[] =
    "{ echo \"REV=$CFGFS_REVISION\"; echo \"COMMIT=$CFGFS_COMMIT\";\n"
    "  echo \"PREV=$CFGFS_PREVIOUS_COMMIT\"; echo \"MOUNT=$CFGFS_MOUNT\";\n"
    "  echo \"CWD=$(pwd -P)\";\n"
    "  echo \"INHERIT=$CFGFS_TEST_INHERIT\"; echo \"TRUNC=${CFGFS_PATHS_TRUNCATED:-}\";\n"
    "  printf '%s\\n' \"$CFGFS_PATHS\"; echo END; } >> \"$1\"\n"
    "echo 'out line'; echo 'err line' >&2; printf 'no newline'\n";

static const char order_sh[] = "#!/bin/sh\nsleep 0.2; echo \"$2\" >> \"$1\"\n";

static void test_burst(struct cfgfs_log *lg)
{
	static const char policy[] = "hooks:\n"
	                             "  - match: \"**/*.yaml\"\n"
	                             "    run: [/bin/sh, \"@D@/record.sh\", \"@D@/burst.out\"]\n"
	                             "    debounce: 300ms\n"
	                             "  - match: \"nomatch/**\"\n"
	                             "    run: [/bin/sh, \"@D@/record.sh\", \"@D@/never.out\"]\n"
	                             "    debounce: 10ms\n"
	                             "  - match: \"order/**\"\n"
	                             "    run: [./order.sh, \"@D@/order.out\", first]\n"
	                             "    debounce: 50ms\n"
	                             "  - match: \"order/**\"\n"
	                             "    run: [./order.sh, \"@D@/order.out\", second]\n"
	                             "    debounce: 50ms\n";
	char pwned[64], pwned_name[PATH_LEN], names[BURST_SIZE][64];
	char want[PATH_LEN * 3], c[CFGFS_HOOKS_COMMIT_LEN];
	struct cfgfs_hooks *hk = NULL;

	snprintf(pwned, sizeof(pwned), "/tmp/pwned-%d", (int)getpid());
	snprintf(pwned_name, sizeof(pwned_name), "$(touch %s); x.yaml", pwned);
	unlink(pwned);
	write_file("record.sh", record_sh);
	write_file("order.sh", order_sh);
	char order_path[PATH_LEN];
	path_in(order_path, "order.sh");
	CHECK(chmod(order_path, 0700) == 0); /* run as ./order.sh, relative to the policy */
	struct cfgfs_policy *p = load_policy(policy);
	CHECK(cfgfs_hooks_start(&hk, p, MOUNTPOINT, lg, NULL, NULL) == 0);
	for (uint64_t r = 1; r <= BURST_SIZE; r++) {
		snprintf(names[r - 1], sizeof(names[r - 1]), "svc/f%02" PRIu64 ".yaml", r);
		const char *paths[] = {names[r - 1], "README.md", r == 7 ? pwned_name : names[0]};
		notify(hk, BURST_FIRST - 1 + r, paths, 3);
	}
	const char *order_paths[] = {"order/a", "order/b"};
	notify(hk, BURST_FIRST + BURST_SIZE, order_paths, 2);

	CHECK(wait_runs(hk, 0, 1, 0, 0));
	CHECK(wait_runs(hk, 2, 1, 0, 0));
	CHECK(wait_runs(hk, 3, 1, 0, 0));
	sleep_ms(QUIET_MS);
	struct cfgfs_hook_state s0 = state(hk, 0), s1 = state(hk, 1);
	CHECK(runs(&s0) == 1 && s0.runs_ok == 1 &&
	      s0.last_revision == BURST_FIRST + BURST_SIZE - 1);
	CHECK(strcmp(s0.last_result, "ok") == 0 && s0.last_time > 0);
	CHECK(strcmp(s0.match, "**/*.yaml") == 0 && strcmp(s0.run0, "/bin/sh") == 0);
	CHECK(runs(&s1) == 0 && strcmp(s1.last_result, "never") == 0 && s1.last_time == 0);

	char *out = slurp("burst.out");
	CHECK(out != NULL);
	if (out) {
		CHECK(strncmp(out, "REV=120\n", 8) == 0);
		commit_of(c, BURST_FIRST + BURST_SIZE - 1);
		snprintf(want, sizeof(want), "\nCOMMIT=%s\n", c);
		CHECK(strstr(out, want) != NULL);
		commit_of(c, BURST_FIRST - 1);
		snprintf(want, sizeof(want), "\nPREV=%s\n", c); /* before the first */
		CHECK(strstr(out, want) != NULL);
		CHECK(strstr(out, "\nMOUNT=" MOUNTPOINT "\n") != NULL);
		snprintf(want, sizeof(want), "\nCWD=%s\n", dir); /* the policy's directory */
		CHECK(strstr(out, want) != NULL);
		CHECK(strstr(out, "\nINHERIT=yes\n") != NULL);
		CHECK(strstr(out, "\nTRUNC=\n") != NULL);
		for (size_t i = 0; i < BURST_SIZE; i++) {
			snprintf(want, sizeof(want), "\n%s\n", names[i]);
			CHECK(strstr(out, want) != NULL);
		}
		snprintf(want, sizeof(want), "\n%s\n", pwned_name);
		CHECK(strstr(out, want) != NULL);
		CHECK(strstr(out, "README.md") == NULL);
		/* 7 variables, 21 distinct paths, END */
		CHECK(count_lines(out) == 7 + BURST_SIZE + 1 + 1);
		free(out);
	}
	CHECK(access(pwned, F_OK) != 0);
	out = slurp("never.out");
	CHECK(out == NULL);
	free(out);
	out = slurp("order.out");
	CHECK(out && strcmp(out, "first\nsecond\n") == 0);
	free(out);
	cfgfs_hooks_stop(hk);
	cfgfs_policy_free(p);
}

static const char fail_sh[] = "date +%s%N >> \"$1\"; exit 3\n";

static void test_retries(struct cfgfs_log *lg)
{
	static const char policy[] = "hooks:\n"
	                             "  - match: \"**\"\n"
	                             "    run: [/bin/sh, \"@D@/fail.sh\", \"@D@/retry.out\"]\n"
	                             "    debounce: 10ms\n"
	                             "    retries: 3\n"
	                             "    backoff: {initial: 100ms, max: 250ms}\n";
	struct cfgfs_hooks *hk = NULL;
	long long t[4];

	write_file("fail.sh", fail_sh);
	struct cfgfs_policy *p = load_policy(policy);
	CHECK(cfgfs_hooks_start(&hk, p, MOUNTPOINT, lg, NULL, NULL) == 0);
	notify1(hk, 1, "a.yaml");
	CHECK(wait_runs(hk, 0, 0, 4, 0));
	sleep_ms(QUIET_MS);
	struct cfgfs_hook_state s = state(hk, 0);
	CHECK(s.runs_failed == 4 && s.retries == 3 && s.runs_ok == 0 && s.reverts == 0);
	CHECK(strcmp(s.last_result, "failed") == 0 && s.last_revision == 1);
	char *out = slurp("retry.out");
	CHECK(out && count_lines(out) == 4);
	if (out && sscanf(out, "%lld\n%lld\n%lld\n%lld", &t[0], &t[1], &t[2], &t[3]) == 4) {
		long long g1 = (t[1] - t[0]) / 1000000, g2 = (t[2] - t[1]) / 1000000,
		          g3 = (t[3] - t[2]) / 1000000;
		fprintf(stderr, "retry gaps: %lld %lld %lld ms\n", g1, g2, g3);
		CHECK(g1 >= 90 && g2 >= 190 && g3 >= 240); /* 100, 200, 250 (capped) */
		CHECK(g2 > g1);
		CHECK(g3 < 2 * g2 + 1000); /* capped, not 400 + noise... loosely */
	} else {
		CHECK(!"four timestamps");
	}
	free(out);
	cfgfs_hooks_stop(hk);
	cfgfs_policy_free(p);
}

static const char hang_sh[] = "trap '' TERM\nsleep 100 &\necho $! > \"$1\"\nwait\nwait\n";
static const char bg_sh[] = "sleep 3 &\necho started\n";

/* Is PID running (a zombie is not)? */
static bool alive(pid_t pid)
{
	char path[PATH_LEN], stat[PATH_LEN];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	size_t n = fread(stat, 1, sizeof(stat) - 1, f);
	fclose(f);
	stat[n] = '\0';
	const char *paren = strrchr(stat, ')');
	return paren && paren[1] == ' ' && paren[2] != 'Z' && paren[2] != 'X';
}

static void test_timeout(struct cfgfs_log *lg)
{
	static const char policy[] = "hooks:\n"
	                             "  - match: hang\n"
	                             "    run: [/bin/sh, \"@D@/hang.sh\", \"@D@/hang.pid\"]\n"
	                             "    debounce: 10ms\n"
	                             "    timeout: 300ms\n"
	                             "  - match: bg\n"
	                             "    run: [/bin/sh, \"@D@/bg.sh\"]\n"
	                             "    debounce: 10ms\n"
	                             "    timeout: 10s\n";
	struct cfgfs_hooks *hk = NULL;

	write_file("hang.sh", hang_sh);
	write_file("bg.sh", bg_sh);
	struct cfgfs_policy *p = load_policy(policy);
	CHECK(cfgfs_hooks_start(&hk, p, MOUNTPOINT, lg, NULL, NULL) == 0);
	int64_t t0 = now_ms();
	notify1(hk, 1, "hang");
	CHECK(wait_runs(hk, 0, 0, 0, 1));
	int64_t took = now_ms() - t0;
	fprintf(stderr, "hang hook ended after %" PRId64 " ms\n", took);
	CHECK(took >= 300); /* never before its timeout; no upper bound on a shared machine */
	struct cfgfs_hook_state s = state(hk, 0);
	CHECK(s.timeouts == 1 && s.runs_failed == 0 && strcmp(s.last_result, "timeout") == 0);
	char *pidtext = slurp("hang.pid");
	pid_t child = pidtext ? (pid_t)atoi(pidtext) : 0;
	free(pidtext);
	CHECK(child > 0);
	if (child > 0) {
		int64_t until = now_ms() + 2000; /* let it be reaped */
		while (alive(child) && now_ms() < until)
			sleep_ms(POLL_MS);
		CHECK(!alive(child));
	}

	/* A finished hook's background child holding stdout does not hold us. */
	t0 = now_ms();
	notify1(hk, 2, "bg");
	CHECK(wait_runs(hk, 1, 1, 0, 0));
	took = now_ms() - t0;
	fprintf(stderr, "background-child hook ended after %" PRId64 " ms\n", took);
	cfgfs_hooks_stop(hk);
	cfgfs_policy_free(p);
}

/* What the revert callback saw and what it should do. */
struct revert_ctx {
	pthread_mutex_t lock;
	struct cfgfs_hooks *hk;
	int calls;
	char good[MAX_REVERTS][CFGFS_HOOKS_COMMIT_LEN];
	size_t npaths[MAX_REVERTS];
	uint64_t next_rev;  /* revision the callback "commits" */
	bool notify_inside; /* notify it from inside the callback */
	bool unbreak;       /* remove the "broken" marker: the final try succeeds */
};

static int revert_cb(void *arg, const struct cfgfs_hook *hook, const char *good_commit,
                     const char *const *paths, size_t npaths, uint64_t *new_revision,
                     char new_commit[CFGFS_HOOKS_COMMIT_LEN])
{
	struct revert_ctx *ctx = arg;
	char broken[PATH_LEN];
	(void)hook;
	pthread_mutex_lock(&ctx->lock);
	int i = ctx->calls;
	if (i < MAX_REVERTS) {
		snprintf(ctx->good[i], CFGFS_HOOKS_COMMIT_LEN, "%s", good_commit);
		ctx->npaths[i] = npaths;
	}
	uint64_t rev = ctx->next_rev;
	bool inside = ctx->notify_inside, unbreak = ctx->unbreak;
	pthread_mutex_unlock(&ctx->lock);
	if (unbreak) {
		path_in(broken, "broken");
		unlink(broken);
	}
	*new_revision = rev;
	commit_of(new_commit, rev);
	if (inside)
		notify(ctx->hk, rev, paths, npaths);
	pthread_mutex_lock(&ctx->lock);
	ctx->calls++;
	pthread_mutex_unlock(&ctx->lock);
	return 0;
}

static int calls(struct revert_ctx *ctx)
{
	pthread_mutex_lock(&ctx->lock);
	int n = ctx->calls;
	pthread_mutex_unlock(&ctx->lock);
	return n;
}

static const char gate_sh[] = "echo \"$CFGFS_REVISION\" >> \"$1\"; test ! -e \"$2\"\n";
static const char revert_policy[] =
    "hooks:\n"
    "  - match: \"conf/**\"\n"
    "    run: [/bin/sh, \"@D@/gate.sh\", \"@D@/gate.out\", \"@D@/broken\"]\n"
    "    debounce: 10ms\n"
    "    retries: 1\n"
    "    backoff: {initial: 10ms, max: 10ms}\n"
    "    on_failure: revert\n"
    "  - match: \"conf/**\"\n"
    "    run: [/bin/true]\n"
    "    debounce: 10ms\n";

static void test_revert(struct cfgfs_log *lg)
{
	struct revert_ctx ctx = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct cfgfs_hooks *hk = NULL;
	char c[CFGFS_HOOKS_COMMIT_LEN];
	const char *two[] = {"conf/a.yaml", "conf/b.yaml"};

	write_file("gate.sh", gate_sh);
	struct cfgfs_policy *p = load_policy(revert_policy);
	CHECK(cfgfs_hooks_start(&hk, p, MOUNTPOINT, lg, revert_cb, &ctx) == 0);
	ctx.hk = hk;

	/* 1: succeeds; commit 1 is now good. */
	notify1(hk, 1, "conf/a.yaml");
	CHECK(wait_runs(hk, 0, 1, 0, 0));

	/* 2: fails twice, reverted to 1 as revision 3 (notified from inside
	 * the callback), the final try fails too: stop there. */
	write_file("broken", "");
	ctx.next_rev = 3;
	ctx.notify_inside = true;
	notify(hk, 2, two, 2);
	CHECK(wait_runs(hk, 0, 1, 3, 0));
	sleep_ms(QUIET_MS);
	/* 3 again, as an integrator notifying after the callback would. */
	notify(hk, 3, two, 2);
	sleep_ms(QUIET_MS);
	struct cfgfs_hook_state s = state(hk, 0);
	CHECK(calls(&ctx) == 1);
	commit_of(c, 1);
	CHECK(strcmp(ctx.good[0], c) == 0 && ctx.npaths[0] == 2);
	CHECK(s.runs_ok == 1 && s.runs_failed == 3 && s.retries == 1 && s.reverts == 1);
	CHECK(s.last_revision == 3);
	char *out = slurp("gate.out");
	CHECK(out && strcmp(out, "1\n2\n2\n3\n") == 0);
	free(out);
	/* The other hook matching conf/ ran for the revert revision as usual. */
	struct cfgfs_hook_state other = state(hk, 1);
	CHECK(other.last_revision == 3 && other.reverts == 0);

	/* 4: fails; the last success is still 1; the callback repairs things,
	 * so the final try on 5 succeeds; 5 is notified after the callback. */
	pthread_mutex_lock(&ctx.lock);
	ctx.next_rev = 5;
	ctx.notify_inside = false;
	ctx.unbreak = true;
	pthread_mutex_unlock(&ctx.lock);
	notify1(hk, 4, "conf/a.yaml");
	CHECK(wait_runs(hk, 0, 2, 5, 0));
	notify1(hk, 5, "conf/a.yaml");
	sleep_ms(QUIET_MS);
	CHECK(calls(&ctx) == 2);
	CHECK(strcmp(ctx.good[1], c) == 0 && ctx.npaths[1] == 1);
	s = state(hk, 0);
	CHECK(s.runs_ok == 2 && s.runs_failed == 5 && s.reverts == 2 && s.last_revision == 5);

	/* 6: fails; 5 (the successful final try) is now the good commit. */
	pthread_mutex_lock(&ctx.lock);
	ctx.next_rev = 7;
	ctx.unbreak = false;
	pthread_mutex_unlock(&ctx.lock);
	write_file("broken", "");
	notify1(hk, 6, "conf/a.yaml");
	CHECK(wait_runs(hk, 0, 2, 8, 0));
	sleep_ms(QUIET_MS);
	CHECK(calls(&ctx) == 3);
	commit_of(c, 5);
	CHECK(strcmp(ctx.good[2], c) == 0);
	s = state(hk, 0);
	CHECK(s.runs_failed == 8 && s.reverts == 3);
	cfgfs_hooks_stop(hk);

	/* A hook that never succeeded: revision 1 has nothing before it (no
	 * revert); later the commit before the burst is restored. */
	CHECK(cfgfs_hooks_start(&hk, p, MOUNTPOINT, lg, revert_cb, &ctx) == 0);
	ctx.hk = hk;
	ctx.next_rev = 11;
	notify1(hk, 1, "conf/a.yaml");
	CHECK(wait_runs(hk, 0, 0, 2, 0));
	sleep_ms(QUIET_MS);
	CHECK(calls(&ctx) == 3);
	CHECK(state(hk, 0).reverts == 0);
	notify1(hk, 10, "conf/a.yaml");
	CHECK(wait_runs(hk, 0, 0, 5, 0));
	sleep_ms(QUIET_MS);
	CHECK(calls(&ctx) == 4);
	commit_of(c, 9);
	CHECK(strcmp(ctx.good[3], c) == 0);
	cfgfs_hooks_stop(hk);
	cfgfs_policy_free(p);
}

static void test_stop(struct cfgfs_log *lg)
{
	static const char policy[] = "hooks:\n"
	                             "  - match: \"**\"\n"
	                             "    run: [/bin/sh, \"@D@/record.sh\", \"@D@/stop.out\"]\n"
	                             "    debounce: 5s\n";
	struct cfgfs_hooks *hk = NULL;
	struct cfgfs_policy *p = load_policy(policy);
	CHECK(cfgfs_hooks_start(&hk, p, MOUNTPOINT, lg, NULL, NULL) == 0);
	notify1(hk, 1, "a.yaml");
	int64_t t0 = now_ms();
	cfgfs_hooks_stop(hk); /* returns without running the pending burst */
	fprintf(stderr, "stop took %" PRId64 " ms\n", now_ms() - t0);
	char *out = slurp("stop.out");
	CHECK(out == NULL);
	free(out);

	/* argv[0] that cannot run: the hook's failure, not an internal error. */
	static const char missing[] = "hooks:\n"
	                              "  - match: \"**\"\n"
	                              "    run: [/nonexistent/cfgfs-hook]\n"
	                              "    debounce: 10ms\n";
	struct cfgfs_policy *pm = load_policy(missing);
	CHECK(cfgfs_hooks_start(&hk, pm, MOUNTPOINT, lg, NULL, NULL) == 0);
	notify1(hk, 1, "a.yaml");
	CHECK(wait_runs(hk, 0, 0, 1, 0));
	CHECK(strcmp(state(hk, 0).last_result, "failed") == 0);
	cfgfs_hooks_stop(hk);
	cfgfs_policy_free(pm);

	/* No hooks at all: start, notify and stop still work. */
	struct cfgfs_policy *none = cfgfs_policy_default();
	CHECK(none != NULL);
	CHECK(cfgfs_hooks_start(&hk, none, MOUNTPOINT, lg, NULL, NULL) == 0);
	notify1(hk, 1, "a.yaml");
	CHECK(cfgfs_hooks_states(hk, NULL, 0) == 0);
	cfgfs_hooks_stop(hk);
	cfgfs_policy_free(none);
	cfgfs_policy_free(p);
}

/* Run FN with stderr (where the log goes) captured into NAME as well. */
static void capture_log(void (*fn)(struct cfgfs_log *), struct cfgfs_log *lg, const char *name)
{
	char path[PATH_LEN];
	path_in(path, name);
	int saved = dup(STDERR_FILENO);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (saved < 0 || fd < 0 || dup2(fd, STDERR_FILENO) < 0) {
		fprintf(stderr, "cannot capture stderr\n");
		exit(2);
	}
	close(fd);
	fn(lg);
	dup2(saved, STDERR_FILENO);
	close(saved);
	char *log = slurp(name);
	if (log)
		fputs(log, stderr); /* keep it in the test's output too */
	CHECK(log && strstr(log, " hook-output hook=**/*.yaml stream=stdout line=\"out line\"\n"));
	CHECK(log && strstr(log, " hook-output hook=**/*.yaml stream=stderr line=\"err line\"\n"));
	CHECK(log &&
	      strstr(log, " hook-output hook=**/*.yaml stream=stdout line=\"no newline\"\n"));
	CHECK(log &&
	      strstr(log, " info hook hook=**/*.yaml revision=120 try=1/1 result=ok exit=0"));
	free(log);
}

int main(void)
{
	struct cfgfs_log lg;
	char cmd[PATH_LEN + 16];

	if (!mkdtemp(dir) || cfgfs_log_init(&lg, false, false) != 0) {
		perror("setup");
		return 2;
	}
	/* Inherited by hooks; a stale CFGFS_* value must not win over ours. */
	if (setenv("CFGFS_TEST_INHERIT", "yes", 1) != 0 ||
	    setenv("CFGFS_REVISION", "bogus", 1) != 0 ||
	    setenv("CFGFS_PATHS_TRUNCATED", "bogus", 1) != 0) {
		perror("setenv");
		return 2;
	}
	capture_log(test_burst, &lg, "burst.log");
	test_retries(&lg);
	test_timeout(&lg);
	test_revert(&lg);
	test_stop(&lg);
	CHECK(lg.errors == 0);
	cfgfs_log_destroy(&lg);
	if (failures == 0) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	} else {
		fprintf(stderr, "%d failure(s); files kept in %s\n", failures, dir);
	}
	return failures ? 1 : 0;
}
