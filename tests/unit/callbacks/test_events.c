/*
 * Unit tests for backend/events: exact JSON lines (escaping, renames),
 * cursors and whole-line reads, wait timeout and shutdown, the append
 * callback, and two concurrent readers (one slow) that must both see every
 * revision in order while appends never wait for them.
 */
#include "backend/events.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MANY_REVISIONS 2000
#define FAST_READ_MAX 65536
#define SLOW_READ_MAX 300
#define SLOW_READER_NAP_US 200
#define WAIT_TIMEOUT_MS 50

static int failures;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: FAIL %s\n", __FILE__, __LINE__, #cond);            \
			failures++;                                                                \
		}                                                                                  \
	} while (0)

#define COMMIT_A "9fceb02d0ae598e95dc970b74767f19372d61af8"

static int append_simple(struct cfgfs_events *ev, uint64_t rev, const char *path)
{
	struct cfgfs_event_path p = {.path = (char *)path, .op = "modify"};
	struct cfgfs_event e = {
	    .revision = rev, .time = 0, .author = "bob", .paths = &p, .npaths = 1};
	snprintf(e.commit, sizeof(e.commit), "%040" PRIu64, rev);
	return cfgfs_events_append(ev, &e);
}

static void test_format(void)
{
	struct cfgfs_events *ev = NULL;
	char *out = NULL;
	size_t len;
	uint64_t next;

	CHECK(cfgfs_events_init(&ev) == 0);
	CHECK(cfgfs_events_read(ev, 0, 4096, &out, &len, &next) == 0);
	CHECK(out == NULL && len == 0 && next == 0);
	CHECK(cfgfs_events_last(ev) == 0);

	struct cfgfs_event_path paths[] = {
	    {.path = "app.yaml", .op = "modify"},
	    {.path = "new.yaml", .from = "old.yaml", .op = "rename"},
	    {.path = "we\"ird\\na\nme\x01\t.yaml", .op = "create"},
	    {.path = "caf\xc3\xa9 \xff\xc0\xaf.json", .op = "delete"},
	    {.path = "bin/run", .op = "mode"},
	};
	struct cfgfs_event e = {.revision = 42,
	                        .commit = COMMIT_A,
	                        .time = 1795623601,
	                        .author = "alice",
	                        .paths = paths,
	                        .npaths = 5};
	CHECK(cfgfs_events_append(ev, &e) == 0);
	CHECK(cfgfs_events_read(ev, 0, 4096, &out, &len, &next) == 0);
	const char *want =
	    "{\"revision\":42,\"commit\":\"" COMMIT_A "\",\"time\":\"2026-11-25T16:20:01Z\","
	    "\"author\":\"alice\",\"paths\":[{\"path\":\"app.yaml\",\"op\":\"modify\"},"
	    "{\"path\":\"new.yaml\",\"from\":\"old.yaml\",\"op\":\"rename\"},"
	    "{\"path\":\"we\\\"ird\\\\na\\nme\\u0001\\t.yaml\",\"op\":\"create\"},"
	    "{\"path\":\"caf\xc3\xa9 \\ufffd\\ufffd\\ufffd.json\",\"op\":\"delete\"},"
	    "{\"path\":\"bin/run\",\"op\":\"mode\"}]}\n";
	CHECK(out && len == strlen(want) && memcmp(out, want, len) == 0);
	if (out && (len != strlen(want) || memcmp(out, want, len) != 0))
		fprintf(stderr, "got:  %.*s\nwant: %s", (int)len, out, want);
	CHECK(next == 42);
	free(out);

	/* Revisions strictly increase; bad events are refused. */
	CHECK(append_simple(ev, 42, "x") == -EINVAL);
	CHECK(append_simple(ev, 41, "x") == -EINVAL);
	struct cfgfs_event_path noop = {.path = "x"};
	struct cfgfs_event bad = {.revision = 50, .paths = &noop, .npaths = 1};
	CHECK(cfgfs_events_append(ev, &bad) == -EINVAL);
	memset(bad.commit, 'a', sizeof(bad.commit)); /* no NUL */
	noop.op = "modify";
	CHECK(cfgfs_events_append(ev, &bad) == -EINVAL);
	CHECK(cfgfs_events_last(ev) == 42);

	/* No author, no paths. */
	struct cfgfs_event empty = {.revision = 43, .commit = COMMIT_A, .time = 0};
	CHECK(cfgfs_events_append(ev, &empty) == 0);
	CHECK(cfgfs_events_read(ev, 42, 4096, &out, &len, &next) == 0);
	want = "{\"revision\":43,\"commit\":\"" COMMIT_A
	       "\",\"time\":\"1970-01-01T00:00:00Z\",\"author\":\"\",\"paths\":[]}\n";
	CHECK(out && len == strlen(want) && memcmp(out, want, len) == 0);
	CHECK(next == 43);
	free(out);
	cfgfs_events_free(ev);
}

static void test_cursor(void)
{
	struct cfgfs_events *ev = NULL;
	char *out = NULL;
	size_t len, one;
	uint64_t next;

	CHECK(cfgfs_events_init(&ev) == 0);
	for (uint64_t r = 1; r <= 5; r++)
		CHECK(append_simple(ev, r * 10, "a.yaml") == 0);
	/* All lines have the same length here. */
	CHECK(cfgfs_events_read(ev, 0, 1, &out, &len, &next) == 0);
	CHECK(out && next == 10 && len > 0 && out[len - 1] == '\n');
	CHECK(out && memchr(out, '\n', len) == out + len - 1); /* one line, though > max */
	one = len;
	free(out);

	CHECK(cfgfs_events_read(ev, 10, 2 * one, &out, &len, &next) == 0);
	CHECK(len == 2 * one && next == 30);
	CHECK(out && strncmp(out, "{\"revision\":20,", 15) == 0);
	free(out);
	CHECK(cfgfs_events_read(ev, 10, 2 * one + one - 1, &out, &len, &next) == 0);
	CHECK(len == 2 * one && next == 30); /* whole lines only */
	free(out);
	/* A cursor between revisions. */
	CHECK(cfgfs_events_read(ev, 35, 1 << 20, &out, &len, &next) == 0);
	CHECK(len == 2 * one && next == 50);
	CHECK(out && strncmp(out, "{\"revision\":40,", 15) == 0);
	free(out);
	CHECK(cfgfs_events_read(ev, 50, 1 << 20, &out, &len, &next) == 0);
	CHECK(out == NULL && len == 0 && next == 50);
	CHECK(cfgfs_events_read(ev, 99, 1 << 20, &out, &len, &next) == 0);
	CHECK(out == NULL && len == 0 && next == 99);
	cfgfs_events_free(ev);
}

struct appended {
	pthread_mutex_t lock;
	uint64_t last;
	int calls;
};

static void on_append(void *arg, uint64_t revision)
{
	struct appended *a = arg;
	pthread_mutex_lock(&a->lock);
	a->last = revision;
	a->calls++;
	pthread_mutex_unlock(&a->lock);
}

static void *wait_forever(void *arg)
{
	return (void *)(intptr_t)cfgfs_events_wait(arg, 1000, -1);
}

static void test_wait(void)
{
	struct cfgfs_events *ev = NULL;
	struct appended a = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pthread_t th;
	void *res;

	CHECK(cfgfs_events_init(&ev) == 0);
	cfgfs_events_on_append(ev, on_append, &a);
	CHECK(cfgfs_events_wait(ev, 0, WAIT_TIMEOUT_MS) == -ETIMEDOUT);
	CHECK(append_simple(ev, 1, "a") == 0);
	CHECK(append_simple(ev, 2, "a") == 0);
	CHECK(a.calls == 2 && a.last == 2);
	CHECK(cfgfs_events_wait(ev, 1, WAIT_TIMEOUT_MS) == 0);
	CHECK(cfgfs_events_wait(ev, 2, 0) == -ETIMEDOUT);

	/* A waiter blocked without limit is woken by shutdown. */
	CHECK(pthread_create(&th, NULL, wait_forever, ev) == 0);
	usleep(WAIT_TIMEOUT_MS * 1000);
	cfgfs_events_shutdown(ev);
	CHECK(pthread_join(th, &res) == 0);
	CHECK((intptr_t)res == -ESHUTDOWN);
	/* After shutdown: what exists is still given, then -ESHUTDOWN. */
	CHECK(cfgfs_events_wait(ev, 1, WAIT_TIMEOUT_MS) == 0);
	CHECK(cfgfs_events_wait(ev, 2, WAIT_TIMEOUT_MS) == -ESHUTDOWN);
	cfgfs_events_on_append(ev, NULL, NULL);
	CHECK(append_simple(ev, 3, "a") == 0);
	CHECK(a.calls == 2);
	cfgfs_events_free(ev);
}

struct reader {
	struct cfgfs_events *ev;
	size_t max;
	bool slow;
	uint64_t seen; /* last revision seen; all before it were seen in order */
	bool in_order;
};

static void *read_all(void *arg)
{
	struct reader *r = arg;
	uint64_t cursor = 0;

	r->in_order = true;
	for (;;) {
		int rc = cfgfs_events_wait(r->ev, cursor, -1);
		if (rc == -ESHUTDOWN)
			break;
		char *out = NULL;
		size_t len;
		uint64_t next;
		if (cfgfs_events_read(r->ev, cursor, r->max, &out, &len, &next) != 0)
			break;
		for (char *line = out; line < out + len;) {
			unsigned long long rev;
			char *nl = memchr(line, '\n', (size_t)(out + len - line));
			if (!nl || sscanf(line, "{\"revision\":%llu,", &rev) != 1 ||
			    rev != r->seen + 1)
				r->in_order = false;
			r->seen = rev;
			line = nl ? nl + 1 : out + len;
		}
		if (next != r->seen)
			r->in_order = false;
		cursor = next;
		free(out);
		if (r->slow)
			usleep(SLOW_READER_NAP_US);
	}
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_readers(void)
{
	struct cfgfs_events *ev = NULL;
	struct reader fast = {.max = FAST_READ_MAX}, slow = {.max = SLOW_READ_MAX, .slow = true};
	pthread_t tf, ts;

	CHECK(cfgfs_events_init(&ev) == 0);
	fast.ev = slow.ev = ev;
	CHECK(pthread_create(&tf, NULL, read_all, &fast) == 0);
	CHECK(pthread_create(&ts, NULL, read_all, &slow) == 0);
	double t0 = now_s();
	for (uint64_t r = 1; r <= MANY_REVISIONS; r++)
		CHECK(append_simple(ev, r, "svc/app.yaml") == 0);
	double appends = now_s() - t0;
	/* The slow reader needs at least MANY_REVISIONS / lines-per-read naps:
	 * appends did not wait for it. */
	CHECK(appends < (double)MANY_REVISIONS * SLOW_READER_NAP_US / 1e6 / 4);
	/* Readers drain what is there before they see the shutdown. */
	cfgfs_events_shutdown(ev);
	CHECK(pthread_join(tf, NULL) == 0);
	CHECK(pthread_join(ts, NULL) == 0);
	CHECK(fast.in_order && fast.seen == MANY_REVISIONS);
	CHECK(slow.in_order && slow.seen == MANY_REVISIONS);
	cfgfs_events_free(ev);
}

int main(void)
{
	test_format();
	test_cursor();
	test_wait();
	test_readers();
	if (failures)
		fprintf(stderr, "%d failure(s)\n", failures);
	return failures ? 1 : 0;
}
