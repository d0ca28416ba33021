/*
 * Unit tests for backend/metrics: the histogram (buckets, sum, concurrent
 * observers) and the exposition text, read back by a small parser of the
 * Prometheus text format that checks what a scraper would: HELP/TYPE before
 * samples, valid names and label escapes, no duplicate series, cumulative
 * buckets ending in +Inf == _count; then the values themselves.
 */
#include "backend/metrics.h"

#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SAMPLES 512
#define MAX_FAMILIES 64
#define MAX_LABELS 4
#define MAX_TEXT 256
#define OBSERVERS 4
#define OBSERVATIONS 10000

static int failures;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: FAIL %s\n", __FILE__, __LINE__, #cond);            \
			failures++;                                                                \
		}                                                                                  \
	} while (0)

struct label {
	char name[MAX_TEXT], value[MAX_TEXT];
};

struct sample {
	char name[MAX_TEXT];
	struct label labels[MAX_LABELS];
	size_t nlabels;
	double value;
};

struct family {
	char name[MAX_TEXT], type[MAX_TEXT];
	bool help;
};

struct exposition {
	struct sample samples[MAX_SAMPLES];
	size_t nsamples;
	struct family families[MAX_FAMILIES];
	size_t nfamilies;
};

static bool name_char(int c, bool first)
{
	return isalpha(c) || c == '_' || c == ':' || (!first && isdigit(c));
}

/* A metric or label name at *P into OUT; false if there is none. */
static bool parse_name(const char **p, char *out)
{
	size_t n = 0;
	if (!name_char((unsigned char)**p, true))
		return false;
	while (name_char((unsigned char)**p, n == 0) && n + 1 < MAX_TEXT)
		out[n++] = *(*p)++;
	out[n] = '\0';
	return true;
}

static struct family *family_find(struct exposition *x, const char *name)
{
	for (size_t i = 0; i < x->nfamilies; i++)
		if (strcmp(x->families[i].name, name) == 0)
			return &x->families[i];
	return NULL;
}

/* The family a sample name belongs to (histogram suffixes included). */
static struct family *family_of(struct exposition *x, const char *name)
{
	static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
	struct family *f = family_find(x, name);
	if (f)
		return f;
	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(name), s = strlen(suffixes[i]);
		char base[MAX_TEXT];
		if (n <= s || strcmp(name + n - s, suffixes[i]) != 0)
			continue;
		snprintf(base, sizeof(base), "%.*s", (int)(n - s), name);
		if ((f = family_find(x, base)) && strcmp(f->type, "histogram") == 0)
			return f;
	}
	return NULL;
}

static bool parse_comment(struct exposition *x, const char *line)
{
	char kind[8], name[MAX_TEXT];
	const char *p = line + 2;
	if (strncmp(line, "# HELP ", 7) != 0 && strncmp(line, "# TYPE ", 7) != 0)
		return false;
	snprintf(kind, sizeof(kind), "%.4s", p);
	p += 5;
	if (!parse_name(&p, name) || *p != ' ' || !p[1])
		return false;
	struct family *f = family_find(x, name);
	if (!f) {
		if (x->nfamilies == MAX_FAMILIES)
			return false;
		f = &x->families[x->nfamilies++];
		snprintf(f->name, sizeof(f->name), "%s", name);
	}
	if (strcmp(kind, "HELP") == 0) {
		if (f->help)
			return false;
		f->help = true;
		return true;
	}
	if (f->type[0])
		return false;
	snprintf(f->type, sizeof(f->type), "%s", p + 1);
	return strcmp(f->type, "counter") == 0 || strcmp(f->type, "gauge") == 0 ||
	       strcmp(f->type, "histogram") == 0;
}

static bool parse_labels(const char **p, struct sample *s)
{
	if (**p != '{')
		return true;
	(*p)++;
	while (**p != '}') {
		struct label *l = &s->labels[s->nlabels];
		size_t n = 0;
		if (s->nlabels == MAX_LABELS || !parse_name(p, l->name) || *(*p)++ != '=' ||
		    *(*p)++ != '"')
			return false;
		for (; **p != '"'; (*p)++) {
			char c = **p;
			if (!c || c == '\n' || n + 1 >= MAX_TEXT)
				return false;
			if (c == '\\') {
				c = *++*p;
				if (c == 'n')
					c = '\n';
				else if (c != '\\' && c != '"')
					return false;
			}
			l->value[n++] = c;
		}
		l->value[n] = '\0';
		(*p)++;
		s->nlabels++;
		if (**p == ',')
			(*p)++;
	}
	(*p)++;
	return true;
}

static bool same_series(const struct sample *a, const struct sample *b)
{
	if (strcmp(a->name, b->name) != 0 || a->nlabels != b->nlabels)
		return false;
	for (size_t i = 0; i < a->nlabels; i++)
		if (strcmp(a->labels[i].name, b->labels[i].name) != 0 ||
		    strcmp(a->labels[i].value, b->labels[i].value) != 0)
			return false;
	return true;
}

static bool parse_sample(struct exposition *x, const char *line)
{
	struct sample *s = &x->samples[x->nsamples];
	const char *p = line;
	char *end;

	if (x->nsamples == MAX_SAMPLES)
		return false;
	memset(s, 0, sizeof(*s));
	if (!parse_name(&p, s->name) || !parse_labels(&p, s) || *p++ != ' ')
		return false;
	s->value = strtod(p, &end);
	if (end == p || *end)
		return false;
	struct family *f = family_of(x, s->name);
	if (!f || !f->help || !f->type[0])
		return false; /* HELP and TYPE come first */
	for (size_t i = 0; i < x->nsamples; i++)
		if (same_series(&x->samples[i], s))
			return false;
	x->nsamples++;
	return true;
}

/* Parse TEXT; false (with the line) at the first thing a scraper refuses. */
static bool parse(struct exposition *x, char *text, size_t len)
{
	memset(x, 0, sizeof(*x));
	if (len == 0 || text[len - 1] != '\n')
		return false;
	for (char *line = text, *nl; line < text + len; line = nl + 1) {
		nl = strchr(line, '\n');
		*nl = '\0';
		bool ok = line[0] == '#' ? parse_comment(x, line) : parse_sample(x, line);
		*nl = '\n';
		if (!ok) {
			fprintf(stderr, "refused line: %.*s\n", (int)(nl - line), line);
			return false;
		}
	}
	return true;
}

static const char *label(const struct sample *s, const char *name)
{
	for (size_t i = 0; i < s->nlabels; i++)
		if (strcmp(s->labels[i].name, name) == 0)
			return s->labels[i].value;
	return NULL;
}

/* The value of NAME with labels K1=V1 (and K2=V2, K3=V3 when given); NAN if absent. */
static double value(const struct exposition *x, const char *name, const char *k1, const char *v1,
                    const char *k2, const char *v2, const char *k3, const char *v3)
{
	for (size_t i = 0; i < x->nsamples; i++) {
		const struct sample *s = &x->samples[i];
		const char *l;
		if (strcmp(s->name, name) != 0)
			continue;
		if (k1 && (!(l = label(s, k1)) || strcmp(l, v1) != 0))
			continue;
		if (k2 && (!(l = label(s, k2)) || strcmp(l, v2) != 0))
			continue;
		if (k3 && (!(l = label(s, k3)) || strcmp(l, v3) != 0))
			continue;
		return s->value;
	}
	return NAN;
}

/* Buckets of histogram NAME: le ascending, counts cumulative, +Inf == _count. */
static bool histogram_valid(const struct exposition *x, const char *name)
{
	char bucket[MAX_TEXT], count[MAX_TEXT];
	double last_le = -INFINITY, last_v = 0;
	size_t n = 0;
	snprintf(bucket, sizeof(bucket), "%s_bucket", name);
	snprintf(count, sizeof(count), "%s_count", name);
	for (size_t i = 0; i < x->nsamples; i++) {
		const struct sample *s = &x->samples[i];
		const char *le = label(s, "le");
		if (strcmp(s->name, bucket) != 0)
			continue;
		if (!le)
			return false;
		double b = strcmp(le, "+Inf") == 0 ? INFINITY : strtod(le, NULL);
		if (b <= last_le || s->value < last_v)
			return false;
		last_le = b;
		last_v = s->value;
		n++;
	}
	return n == CFGFS_HISTOGRAM_BUCKETS + 1 && isinf(last_le) &&
	       last_v == value(x, count, NULL, NULL, NULL, NULL, NULL, NULL);
}

static void test_histogram(void)
{
	struct cfgfs_histogram h;
	cfgfs_histogram_init(&h);
	cfgfs_histogram_observe(&h, 0.0001);
	cfgfs_histogram_observe(&h, 0.0005); /* on the bound: le is inclusive */
	cfgfs_histogram_observe(&h, 0.003);
	cfgfs_histogram_observe(&h, 0.003);
	cfgfs_histogram_observe(&h, 20);
	cfgfs_histogram_observe(&h, -1);
	CHECK(h.counts[0] == 3); /* 0.0001, 0.0005, -1 as 0 */
	CHECK(h.counts[3] == 2); /* le 0.005 */
	CHECK(h.counts[CFGFS_HISTOGRAM_BUCKETS] == 1);
	CHECK(llabs((long long)h.sum_ns - 20006600000LL) < 10);
	for (size_t i = 1; i < CFGFS_HISTOGRAM_BUCKETS; i++)
		CHECK(cfgfs_histogram_bound(i) > cfgfs_histogram_bound(i - 1));
}

static void *observe_many(void *arg)
{
	for (int i = 0; i < OBSERVATIONS; i++)
		cfgfs_histogram_observe(arg, 0.002);
	return NULL;
}

static void test_render(void)
{
	static struct exposition x;
	struct cfgfs_histogram h;
	pthread_t th[OBSERVERS];
	struct cfgfs_hook_state hooks[] = {
	    {.match = "nginx/**",
	     .run0 = "systemctl",
	     .runs_ok = 3,
	     .runs_failed = 2,
	     .retries = 2,
	     .reverts = 1,
	     .timeouts = 1,
	     .last_time = 1795623601,
	     .last_result = "ok",
	     .last_revision = 9},
	    {.match = "we\"ird\\glob\n", .run0 = "x", .last_result = "never"},
	    {.match = "nginx/**", .run0 = "other", .runs_failed = 7, .last_result = "failed"},
	};
	struct cfgfs_metrics_input in = {
	    .saves_committed = 7,
	    .saves_rejected =
	        {[CFGFS_REJECT_SYNTAX] = 4, [CFGFS_REJECT_SCHEMA] = 2, [CFGFS_REJECT_SIZE] = 1},
	    .commit_latency = &h,
	    .hooks = hooks,
	    .nhooks = 3,
	    .head_revision = 12,
	    .events_readers = 2,
	    .store_size_bytes = 123456789,
	};
	char *text = NULL;
	size_t len;

	cfgfs_histogram_init(&h);
	for (int i = 0; i < OBSERVERS; i++)
		CHECK(pthread_create(&th[i], NULL, observe_many, &h) == 0);
	for (int i = 0; i < OBSERVERS; i++)
		CHECK(pthread_join(th[i], NULL) == 0);
	cfgfs_histogram_observe(&h, 0.3);

	CHECK(cfgfs_metrics_render(&text, &len, &in) == 0);
	CHECK(text && strlen(text) == len);
	CHECK(text && parse(&x, text, len));
	CHECK(value(&x, "cfgfs_saves_committed_total", 0, 0, 0, 0, 0, 0) == 7);
	CHECK(value(&x, "cfgfs_saves_rejected_total", "reason", "syntax", 0, 0, 0, 0) == 4);
	CHECK(value(&x, "cfgfs_saves_rejected_total", "reason", "schema", 0, 0, 0, 0) == 2);
	CHECK(value(&x, "cfgfs_saves_rejected_total", "reason", "check", 0, 0, 0, 0) == 0);
	CHECK(value(&x, "cfgfs_saves_rejected_total", "reason", "size", 0, 0, 0, 0) == 1);
	CHECK(histogram_valid(&x, "cfgfs_commit_latency_seconds"));
	CHECK(value(&x, "cfgfs_commit_latency_seconds_count", 0, 0, 0, 0, 0, 0) ==
	      OBSERVERS * OBSERVATIONS + 1);
	CHECK(value(&x, "cfgfs_commit_latency_seconds_bucket", "le", "0.001", 0, 0, 0, 0) == 0);
	CHECK(value(&x, "cfgfs_commit_latency_seconds_bucket", "le", "0.0025", 0, 0, 0, 0) ==
	      OBSERVERS * OBSERVATIONS);
	CHECK(value(&x, "cfgfs_commit_latency_seconds_bucket", "le", "0.5", 0, 0, 0, 0) ==
	      OBSERVERS * OBSERVATIONS + 1);
	CHECK(fabs(value(&x, "cfgfs_commit_latency_seconds_sum", 0, 0, 0, 0, 0, 0) -
	           (OBSERVERS * OBSERVATIONS * 0.002 + 0.3)) < 1e-6);
	CHECK(value(&x, "cfgfs_hook_runs_total", "hook", "nginx/**", "index", "0", "result",
	            "ok") == 3);
	CHECK(value(&x, "cfgfs_hook_runs_total", "hook", "nginx/**", "index", "0", "result",
	            "failed") == 2);
	CHECK(value(&x, "cfgfs_hook_runs_total", "hook", "nginx/**", "index", "0", "result",
	            "timeout") == 1);
	CHECK(value(&x, "cfgfs_hook_runs_total", "hook", "nginx/**", "index", "2", "result",
	            "failed") == 7);
	CHECK(value(&x, "cfgfs_hook_runs_total", "hook", "we\"ird\\glob\n", "index", "1", "result",
	            "ok") == 0);
	CHECK(value(&x, "cfgfs_hook_retries_total", "hook", "nginx/**", "index", "0", 0, 0) == 2);
	CHECK(value(&x, "cfgfs_hook_reverts_total", "hook", "nginx/**", "index", "0", 0, 0) == 1);
	CHECK(value(&x, "cfgfs_hook_last_run_timestamp_seconds", "index", "0", 0, 0, 0, 0) ==
	      1795623601);
	CHECK(value(&x, "cfgfs_head_revision", 0, 0, 0, 0, 0, 0) == 12);
	CHECK(value(&x, "cfgfs_events_readers", 0, 0, 0, 0, 0, 0) == 2);
	CHECK(value(&x, "cfgfs_store_size_bytes", 0, 0, 0, 0, 0, 0) == 123456789);
	for (size_t i = 0; i < x.nfamilies; i++) {
		const struct family *f = &x.families[i];
		size_t n = strlen(f->name);
		CHECK(strncmp(f->name, "cfgfs_", 6) == 0);
		if (strcmp(f->type, "counter") == 0)
			CHECK(n > 6 && strcmp(f->name + n - 6, "_total") == 0);
	}
	free(text);

	/* No histogram, no hooks: still valid. */
	struct cfgfs_metrics_input empty = {0};
	CHECK(cfgfs_metrics_render(&text, &len, &empty) == 0);
	CHECK(text && parse(&x, text, len));
	CHECK(histogram_valid(&x, "cfgfs_commit_latency_seconds"));
	CHECK(value(&x, "cfgfs_commit_latency_seconds_count", 0, 0, 0, 0, 0, 0) == 0);
	free(text);

	/* The parser itself refuses what it should. */
	char bad1[] = "cfgfs_x 1\n";                                  /* no TYPE */
	char bad2[] = "# HELP a h\n# TYPE a gauge\na{l=\"\\q\"} 1\n"; /* bad escape */
	char bad3[] = "# HELP a h\n# TYPE a gauge\na 1\na 2\n";       /* duplicate */
	CHECK(!parse(&x, bad1, strlen(bad1)));
	CHECK(!parse(&x, bad2, strlen(bad2)));
	CHECK(!parse(&x, bad3, strlen(bad3)));
}

int main(void)
{
	test_histogram();
	test_render();
	if (failures)
		fprintf(stderr, "%d failure(s)\n", failures);
	return failures ? 1 : 0;
}
