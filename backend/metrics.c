/* metrics.c — see metrics.h. */
#include "backend/metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#define NSEC_PER_SEC 1e9

static const struct {
	double bound;
	const char *le; /* as written in the le label */
} buckets[CFGFS_HISTOGRAM_BUCKETS] = {
    {0.0005, "0.0005"}, {0.001, "0.001"}, {0.0025, "0.0025"}, {0.005, "0.005"}, {0.01, "0.01"},
    {0.025, "0.025"},   {0.05, "0.05"},   {0.1, "0.1"},       {0.25, "0.25"},   {0.5, "0.5"},
    {1, "1"},           {2.5, "2.5"},     {5, "5"},           {10, "10"},
};

static const char *const reject_names[CFGFS_REJECT_REASONS] = {
    [CFGFS_REJECT_SYNTAX] = "syntax",
    [CFGFS_REJECT_SCHEMA] = "schema",
    [CFGFS_REJECT_CHECK] = "check",
    [CFGFS_REJECT_SIZE] = "size",
};

void cfgfs_histogram_init(struct cfgfs_histogram *h)
{
	for (size_t i = 0; i <= CFGFS_HISTOGRAM_BUCKETS; i++)
		atomic_init(&h->counts[i], 0);
	atomic_init(&h->sum_ns, 0);
}

double cfgfs_histogram_bound(size_t i)
{
	return buckets[i].bound;
}

void cfgfs_histogram_observe(struct cfgfs_histogram *h, double seconds)
{
	size_t i = 0;
	if (!(seconds > 0)) /* negative, or NaN */
		seconds = 0;
	while (i < CFGFS_HISTOGRAM_BUCKETS && seconds > buckets[i].bound)
		i++;
	atomic_fetch_add_explicit(&h->counts[i], 1, memory_order_relaxed);
	/* An observation above ~136 years is not a latency: left out of
	 * the sum rather than let it wrap the counter. */
	double ns = seconds * NSEC_PER_SEC;
	atomic_fetch_add_explicit(&h->sum_ns,
	                          ns < (double)UINT32_MAX * NSEC_PER_SEC ? (uint64_t)ns : 0,
	                          memory_order_relaxed);
}

static void put_label_value(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '"')
			fputs("\\\"", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void put_header(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void put_histogram(FILE *f, const char *name, const char *help,
                          const struct cfgfs_histogram *h)
{
	uint64_t cum = 0, sum_ns = 0;

	put_header(f, name, "histogram", help);
	if (h)
		sum_ns = atomic_load_explicit(&h->sum_ns, memory_order_relaxed);
	for (size_t i = 0; i <= CFGFS_HISTOGRAM_BUCKETS; i++) {
		if (h)
			cum += atomic_load_explicit(&h->counts[i], memory_order_relaxed);
		fprintf(f, "%s_bucket{le=\"%s\"} %" PRIu64 "\n", name,
		        i < CFGFS_HISTOGRAM_BUCKETS ? buckets[i].le : "+Inf", cum);
	}
	fprintf(f, "%s_sum %.9f\n%s_count %" PRIu64 "\n", name, (double)sum_ns / NSEC_PER_SEC, name,
	        cum);
}

static void put_hook_labels(FILE *f, const struct cfgfs_hook_state *s, size_t index)
{
	fputs("{hook=", f);
	put_label_value(f, s->match);
	fprintf(f, ",index=\"%zu\"", index);
}

static void put_hooks(FILE *f, const struct cfgfs_metrics_input *in)
{
	static const char *const results[] = {"ok", "failed", "timeout"};

	put_header(f, "cfgfs_hook_runs_total", "counter",
	           "Hook runs (every try) by hook and result.");
	for (size_t i = 0; i < in->nhooks; i++) {
		const struct cfgfs_hook_state *s = &in->hooks[i];
		const uint64_t counts[] = {s->runs_ok, s->runs_failed, s->timeouts};
		for (size_t r = 0; r < sizeof(results) / sizeof(*results); r++) {
			fputs("cfgfs_hook_runs_total", f);
			put_hook_labels(f, s, i);
			fprintf(f, ",result=\"%s\"} %" PRIu64 "\n", results[r], counts[r]);
		}
	}
	put_header(f, "cfgfs_hook_retries_total", "counter",
	           "Hook tries after a failed one, by hook.");
	for (size_t i = 0; i < in->nhooks; i++) {
		fputs("cfgfs_hook_retries_total", f);
		put_hook_labels(f, &in->hooks[i], i);
		fprintf(f, "} %" PRIu64 "\n", in->hooks[i].retries);
	}
	put_header(f, "cfgfs_hook_reverts_total", "counter",
	           "Revisions committed to revert a hook's failed change, by hook.");
	for (size_t i = 0; i < in->nhooks; i++) {
		fputs("cfgfs_hook_reverts_total", f);
		put_hook_labels(f, &in->hooks[i], i);
		fprintf(f, "} %" PRIu64 "\n", in->hooks[i].reverts);
	}
	put_header(f, "cfgfs_hook_last_run_timestamp_seconds", "gauge",
	           "When the hook's last try ended, 0 if never.");
	for (size_t i = 0; i < in->nhooks; i++) {
		fputs("cfgfs_hook_last_run_timestamp_seconds", f);
		put_hook_labels(f, &in->hooks[i], i);
		fprintf(f, "} %" PRId64 "\n", in->hooks[i].last_time);
	}
}

static void put_gauge(FILE *f, const char *name, const char *help, uint64_t v)
{
	put_header(f, name, "gauge", help);
	fprintf(f, "%s %" PRIu64 "\n", name, v);
}

int cfgfs_metrics_render(char **out, size_t *len, const struct cfgfs_metrics_input *in)
{
	FILE *f;

	*out = NULL;
	*len = 0;
	if (!(f = open_memstream(out, len)))
		return -ENOMEM;
	put_header(f, "cfgfs_saves_committed_total", "counter",
	           "Saves validated and committed as a revision.");
	fprintf(f, "cfgfs_saves_committed_total %" PRIu64 "\n", in->saves_committed);
	put_header(f, "cfgfs_saves_rejected_total", "counter", "Saves refused, by reason.");
	for (size_t i = 0; i < CFGFS_REJECT_REASONS; i++)
		fprintf(f, "cfgfs_saves_rejected_total{reason=\"%s\"} %" PRIu64 "\n",
		        reject_names[i], in->saves_rejected[i]);
	put_histogram(f, "cfgfs_commit_latency_seconds",
	              "Time from a save's request to its commit.", in->commit_latency);
	put_hooks(f, in);
	put_gauge(f, "cfgfs_head_revision", "The newest revision.", in->head_revision);
	put_gauge(f, "cfgfs_events_readers", "Open readers of .cfgfs/events.", in->events_readers);
	put_gauge(f, "cfgfs_store_size_bytes", "Bytes used by the git store on disk.",
	          in->store_size_bytes);
	bool failed = ferror(f) != 0;
	if (fclose(f) != 0 || failed) {
		free(*out);
		*out = NULL;
		*len = 0;
		return -ENOMEM;
	}
	return 0;
}
