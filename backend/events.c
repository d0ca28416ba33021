/* events.c — see events.h. */
#include "backend/events.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* First capacity of the list; it doubles from there. */
#define EVENTS_INITIAL_CAP 64
#define NSEC_PER_SEC 1000000000L
#define NSEC_PER_MSEC 1000000L

/* One revision, rendered once at append. */
struct line {
	uint64_t revision;
	char *text; /* the JSON line with its '\n' */
	size_t len;
};

struct cfgfs_events {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* CLOCK_MONOTONIC; broadcast on append and shutdown */
	struct line *lines;  /* revisions strictly increasing */
	size_t n, cap;
	bool shutdown;
	void (*on_append)(void *arg, uint64_t revision);
	void *on_append_arg;
};

int cfgfs_events_init(struct cfgfs_events **out)
{
	struct cfgfs_events *ev = NULL;
	pthread_condattr_t attr;
	bool attr_ok = false, lock_ok = false;
	int rc;

	*out = NULL;
	if (!(ev = calloc(1, sizeof(*ev))))
		return -ENOMEM;
	if ((rc = -pthread_condattr_init(&attr)) < 0)
		goto cleanup;
	attr_ok = true;
	if ((rc = -pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)) < 0)
		goto cleanup;
	if ((rc = -pthread_mutex_init(&ev->lock, NULL)) < 0)
		goto cleanup;
	lock_ok = true;
	if ((rc = -pthread_cond_init(&ev->cond, &attr)) < 0)
		goto cleanup;
	*out = ev;
	ev = NULL;
cleanup:
	if (attr_ok)
		pthread_condattr_destroy(&attr);
	if (ev) {
		if (lock_ok)
			pthread_mutex_destroy(&ev->lock);
		free(ev);
	}
	return rc;
}

void cfgfs_events_free(struct cfgfs_events *ev)
{
	if (!ev)
		return;
	for (size_t i = 0; i < ev->n; i++)
		free(ev->lines[i].text);
	free(ev->lines);
	pthread_cond_destroy(&ev->cond);
	pthread_mutex_destroy(&ev->lock);
	free(ev);
}

/* Length of the valid UTF-8 sequence at S (at least one byte there), or 0. */
static size_t utf8_seq_len(const unsigned char *s)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0; /* overlong */
		else if (c == 0xed)
			hi = 0x9f; /* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90; /* overlong */
		else if (c == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

/* S as a JSON string, quotes included. */
static void put_json_string(FILE *f, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *c = (const unsigned char *)(s ? s : "");

	fputc('"', f);
	while (*c) {
		size_t n = utf8_seq_len(c);
		if (n == 0) {
			fputs("\\ufffd", f);
			c++;
		} else if (n > 1) {
			fwrite(c, 1, n, f);
			c += n;
		} else {
			switch (*c) {
			case '"':
				fputs("\\\"", f);
				break;
			case '\\':
				fputs("\\\\", f);
				break;
			case '\n':
				fputs("\\n", f);
				break;
			case '\r':
				fputs("\\r", f);
				break;
			case '\t':
				fputs("\\t", f);
				break;
			default:
				if (*c < 0x20)
					fprintf(f, "\\u00%c%c", hex[*c >> 4], hex[*c & 0xf]);
				else
					fputc(*c, f);
			}
			c++;
		}
	}
	fputc('"', f);
}

static int render(const struct cfgfs_event *e, char **text, size_t *len)
{
	char when[32];
	struct tm tm;
	time_t t = (time_t)e->time;
	FILE *f;

	*text = NULL;
	*len = 0;
	if (!gmtime_r(&t, &tm) || strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return -EINVAL;
	if (!(f = open_memstream(text, len)))
		return -ENOMEM;
	fprintf(f, "{\"revision\":%llu,\"commit\":", (unsigned long long)e->revision);
	put_json_string(f, e->commit);
	fprintf(f, ",\"time\":\"%s\",\"author\":", when);
	put_json_string(f, e->author);
	fputs(",\"paths\":[", f);
	for (size_t i = 0; i < e->npaths; i++) {
		const struct cfgfs_event_path *p = &e->paths[i];
		fputs(i ? ",{\"path\":" : "{\"path\":", f);
		put_json_string(f, p->path);
		if (p->from) {
			fputs(",\"from\":", f);
			put_json_string(f, p->from);
		}
		fputs(",\"op\":", f);
		put_json_string(f, p->op);
		fputc('}', f);
	}
	fputs("]}\n", f);
	if (ferror(f) | fclose(f)) {
		free(*text);
		*text = NULL;
		*len = 0;
		return -ENOMEM;
	}
	return 0;
}

static bool event_valid(const struct cfgfs_event *e)
{
	if (!memchr(e->commit, '\0', sizeof(e->commit)) || (e->npaths && !e->paths))
		return false;
	for (size_t i = 0; i < e->npaths; i++)
		if (!e->paths[i].path || !e->paths[i].op)
			return false;
	return true;
}

int cfgfs_events_append(struct cfgfs_events *ev, const struct cfgfs_event *e)
{
	char *text = NULL;
	size_t len;
	void (*fn)(void *, uint64_t) = NULL;
	void *arg = NULL;
	int rc;

	if (!event_valid(e))
		return -EINVAL;
	if ((rc = render(e, &text, &len)) < 0)
		return rc;
	pthread_mutex_lock(&ev->lock);
	if (ev->n && e->revision <= ev->lines[ev->n - 1].revision) {
		rc = -EINVAL;
		goto unlock;
	}
	if (e->revision == 0) {
		rc = -EINVAL;
		goto unlock;
	}
	if (ev->n == ev->cap) {
		size_t cap = ev->cap ? ev->cap * 2 : EVENTS_INITIAL_CAP;
		struct line *grown = realloc(ev->lines, cap * sizeof(*grown));
		if (!grown) {
			rc = -ENOMEM;
			goto unlock;
		}
		ev->lines = grown;
		ev->cap = cap;
	}
	ev->lines[ev->n++] = (struct line){.revision = e->revision, .text = text, .len = len};
	text = NULL;
	fn = ev->on_append;
	arg = ev->on_append_arg;
	pthread_cond_broadcast(&ev->cond);
unlock:
	pthread_mutex_unlock(&ev->lock);
	free(text);
	if (rc == 0 && fn)
		fn(arg, e->revision);
	return rc;
}

/* Index of the first line with a revision greater than AFTER (n if none).
 * Called with the lock held. */
static size_t first_after(const struct cfgfs_events *ev, uint64_t after)
{
	size_t lo = 0, hi = ev->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ev->lines[mid].revision <= after)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int cfgfs_events_read(struct cfgfs_events *ev, uint64_t after, size_t max, char **out, size_t *len,
                      uint64_t *next)
{
	char *buf = NULL;
	size_t total = 0, first, end;
	int rc = 0;

	*out = NULL;
	*len = 0;
	*next = after;
	pthread_mutex_lock(&ev->lock);
	first = first_after(ev, after);
	end = first;
	while (end < ev->n && (end == first || total + ev->lines[end].len <= max))
		total += ev->lines[end++].len;
	if (end == first)
		goto unlock;
	if (!(buf = malloc(total))) {
		rc = -ENOMEM;
		goto unlock;
	}
	total = 0;
	for (size_t i = first; i < end; i++) {
		memcpy(buf + total, ev->lines[i].text, ev->lines[i].len);
		total += ev->lines[i].len;
	}
	*out = buf;
	*len = total;
	*next = ev->lines[end - 1].revision;
unlock:
	pthread_mutex_unlock(&ev->lock);
	return rc;
}

static bool has_after(const struct cfgfs_events *ev, uint64_t after)
{
	return ev->n && ev->lines[ev->n - 1].revision > after;
}

int cfgfs_events_wait(struct cfgfs_events *ev, uint64_t after, int timeout_ms)
{
	struct timespec deadline;
	int rc = 0;

	if (timeout_ms >= 0) {
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += timeout_ms / 1000;
		deadline.tv_nsec += (long)(timeout_ms % 1000) * NSEC_PER_MSEC;
		if (deadline.tv_nsec >= NSEC_PER_SEC) {
			deadline.tv_sec++;
			deadline.tv_nsec -= NSEC_PER_SEC;
		}
	}
	pthread_mutex_lock(&ev->lock);
	while (!has_after(ev, after)) {
		if (ev->shutdown) {
			rc = -ESHUTDOWN;
			break;
		}
		int w = timeout_ms < 0 ? pthread_cond_wait(&ev->cond, &ev->lock)
		                       : pthread_cond_timedwait(&ev->cond, &ev->lock, &deadline);
		if (w == ETIMEDOUT && !has_after(ev, after)) {
			rc = -ETIMEDOUT;
			break;
		}
	}
	pthread_mutex_unlock(&ev->lock);
	return rc;
}

uint64_t cfgfs_events_last(struct cfgfs_events *ev)
{
	pthread_mutex_lock(&ev->lock);
	uint64_t last = ev->n ? ev->lines[ev->n - 1].revision : 0;
	pthread_mutex_unlock(&ev->lock);
	return last;
}

void cfgfs_events_on_append(struct cfgfs_events *ev, void (*fn)(void *arg, uint64_t revision),
                            void *arg)
{
	pthread_mutex_lock(&ev->lock);
	ev->on_append = fn;
	ev->on_append_arg = arg;
	pthread_mutex_unlock(&ev->lock);
}

void cfgfs_events_shutdown(struct cfgfs_events *ev)
{
	pthread_mutex_lock(&ev->lock);
	ev->shutdown = true;
	pthread_cond_broadcast(&ev->cond);
	pthread_mutex_unlock(&ev->lock);
}
