/*
 * metrics.h — .cfgfs/metrics in the Prometheus text exposition format
 * (version 0.0.4), and the latency histogram behind it.
 *
 * Owns the metric names, their HELP/TYPE lines, label escaping and the
 * histogram's fixed buckets. Rendering is a pure function of the input
 * snapshot: the caller gathers the numbers (counters it keeps, hook states
 * from cfgfs_hooks_states, ...) and gets text back. Names, all prefixed
 * cfgfs_:
 *
 *   saves_committed_total                         counter
 *   saves_rejected_total{reason}                  counter; reason syntax|schema|check|size
 *   commit_latency_seconds                        histogram (_bucket{le}, _sum, _count)
 *   hook_runs_total{hook,index,result}            counter; result ok|failed|timeout
 *                                                 (every try is a run)
 *   hook_retries_total{hook,index}                counter
 *   hook_reverts_total{hook,index}                counter
 *   hook_last_run_timestamp_seconds{hook,index}   gauge; 0 = never
 *   head_revision, events_readers, store_size_bytes   gauges
 *
 * `hook` is the hook's match glob and `index` its place in the policy
 * (0-based), so two hooks with the same glob stay two series.
 *
 * A histogram is a fixed set of atomic counters: observe from any thread
 * without a lock; a render reads a consistent-enough copy (each bucket and
 * the count come from the same read, so buckets never exceed _count).
 * No locks, no globals.
 */
#ifndef CFGFS_METRICS_H
#define CFGFS_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/hooks.h"

/* Upper bounds, in seconds: 0.5 ms ... 10 s, then +Inf. */
#define CFGFS_HISTOGRAM_BUCKETS 14

struct cfgfs_histogram {
	atomic_uint_fast64_t counts[CFGFS_HISTOGRAM_BUCKETS + 1]; /* per bucket, last = +Inf */
	atomic_uint_fast64_t sum_ns;
};

/* Zero H (a zeroed struct is also a valid empty histogram). */
void cfgfs_histogram_init(struct cfgfs_histogram *h);

/* Record one observation of SECONDS (negative values count as 0). */
void cfgfs_histogram_observe(struct cfgfs_histogram *h, double seconds);

/* The upper bound of bucket I (I < CFGFS_HISTOGRAM_BUCKETS). */
double cfgfs_histogram_bound(size_t i);

enum cfgfs_reject_reason {
	CFGFS_REJECT_SYNTAX,
	CFGFS_REJECT_SCHEMA,
	CFGFS_REJECT_CHECK,
	CFGFS_REJECT_SIZE,
	CFGFS_REJECT_REASONS /* count */
};

struct cfgfs_metrics_input {
	uint64_t saves_committed;
	uint64_t saves_rejected[CFGFS_REJECT_REASONS];
	const struct cfgfs_histogram *commit_latency; /* NULL: an empty histogram */
	const struct cfgfs_hook_state *hooks;         /* policy order */
	size_t nhooks;
	uint64_t head_revision;
	uint64_t events_readers;
	uint64_t store_size_bytes;
};

/* Render IN as exposition text into *OUT (caller frees; NUL-terminated,
 * *LEN without the NUL). 0 or -ENOMEM; *OUT NULL on failure. */
int cfgfs_metrics_render(char **out, size_t *len, const struct cfgfs_metrics_input *in);

#endif
