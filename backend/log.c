/* log.c — see log.h. */
#include "backend/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

static const char *const level_names[] = {"debug", "info", "warn", "error"};

int cfgfs_log_init(struct cfgfs_log *lg, bool json, bool to_syslog)
{
	lg->json = json;
	lg->to_syslog = to_syslog;
	lg->errors = 0;
	if (to_syslog)
		openlog("cfgfs", LOG_PID, LOG_DAEMON);
	return -pthread_mutex_init(&lg->lock, NULL);
}

void cfgfs_log_destroy(struct cfgfs_log *lg)
{
	if (lg->to_syslog)
		closelog();
	pthread_mutex_destroy(&lg->lock);
}

static void put_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\')
			fprintf(f, "\\%c", *c);
		else if (*c == '\n')
			fputs("\\n", f);
		else if (*c < 0x20)
			fprintf(f, "\\u%04x", *c);
		else
			fputc(*c, f);
	}
	fputc('"', f);
}

static void put_text_value(FILE *f, const char *s)
{
	if (*s && !strpbrk(s, " \t\n\"=")) {
		fputs(s, f);
		return;
	}
	put_json_string(f, s); /* quoted, with the same escapes */
}

void cfgfs_log(struct cfgfs_log *lg, enum cfgfs_level level, const char *event, ...)
{
	char *line = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&line, &len);
	if (!f)
		return;
	struct timespec ts;
	struct tm tm;
	char when[40];
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	va_list ap;
	va_start(ap, event);
	if (lg->json) {
		fprintf(f, "{\"time\":\"%s.%03ldZ\",\"level\":\"%s\",\"event\":", when,
			ts.tv_nsec / 1000000, level_names[level]);
		put_json_string(f, event);
		for (const char *k; (k = va_arg(ap, const char *)) != NULL;) {
			const char *v = va_arg(ap, const char *);
			fputc(',', f);
			put_json_string(f, k);
			fputc(':', f);
			put_json_string(f, v ? v : "");
		}
		fputc('}', f);
	} else {
		fprintf(f, "%s.%03ldZ %s %s", when, ts.tv_nsec / 1000000, level_names[level], event);
		for (const char *k; (k = va_arg(ap, const char *)) != NULL;) {
			const char *v = va_arg(ap, const char *);
			fprintf(f, " %s=", k);
			put_text_value(f, v ? v : "");
		}
	}
	va_end(ap);
	if (fclose(f) != 0) {
		free(line);
		return;
	}
	pthread_mutex_lock(&lg->lock);
	if (level == CFGFS_ERROR)
		lg->errors++;
	if (lg->to_syslog) {
		static const int prio[] = {LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR};
		syslog(prio[level], "%s", line);
	} else {
		fprintf(stderr, "%s\n", line);
		fflush(stderr);
	}
	pthread_mutex_unlock(&lg->lock);
	free(line);
}
