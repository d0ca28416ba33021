/*
 * log.h — one line per event (mount, save, rejection, reconcile, ...), as
 * text ("TIME LEVEL EVENT key=value ...") or JSON, to stderr in the
 * foreground and to syslog otherwise.
 *
 * A logger is made once per mount and passed down; its only mutable state is
 * a count of error lines, under its own mutex, so tests can assert a clean
 * run. Fields are given as key/value string pairs ending with NULL.
 */
#ifndef CFGFS_LOG_H
#define CFGFS_LOG_H

#include <pthread.h>
#include <stdbool.h>

enum cfgfs_level { CFGFS_DEBUG, CFGFS_INFO, CFGFS_WARN, CFGFS_ERROR };

struct cfgfs_log {
	bool json;
	bool to_syslog;
	pthread_mutex_t lock; /* serializes lines, guards errors */
	unsigned long errors;
};

int cfgfs_log_init(struct cfgfs_log *lg, bool json, bool to_syslog);
void cfgfs_log_destroy(struct cfgfs_log *lg);

/* cfgfs_log(lg, CFGFS_INFO, "save", "path", "app.yaml", "revision", "3", NULL) */
void cfgfs_log(struct cfgfs_log *lg, enum cfgfs_level level, const char *event, ...)
	__attribute__((sentinel));

#endif
