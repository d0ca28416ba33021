/*
 * core_test.h — what the core unit tests share: a failure counter with
 * CHECK macros that print where they failed, a shell runner and small file
 * helpers for scratch directories.
 */
#ifndef CFGFS_CORE_TEST_H
#define CFGFS_CORE_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define C_CMD_LEN 8192

static int c_failures;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                     \
			c_failures++;                                                              \
		}                                                                                  \
	} while (0)

#define CHECK_RC(expr, want)                                                                       \
	do {                                                                                       \
		long long got_ = (long long)(expr);                                                \
		if (got_ != (long long)(want)) {                                           \
			printf("FAIL %s:%d: %s = %lld, want %lld\n", __FILE__, __LINE__, #expr,    \
			       got_, (long long)(want));                                           \
			c_failures++;                                                              \
		}                                                                                  \
	} while (0)

#define CHECK_STR(got, want)                                                                       \
	do {                                                                                       \
		const char *g_ = (got), *w_ = (want);                                              \
		if (!g_ || strcmp(g_, w_) != 0) {                                                  \
			printf("FAIL %s:%d: %s = \"%s\", want \"%s\"\n", __FILE__, __LINE__, #got, \
			       g_ ? g_ : "(null)", w_);                                            \
			c_failures++;                                                              \
		}                                                                                  \
	} while (0)

#define CHECK_HAS(hay, needle)                                                                     \
	do {                                                                                       \
		const char *h_ = (hay), *n_ = (needle);                                            \
		if (!h_ || !strstr(h_, n_)) {                                                      \
			printf("FAIL %s:%d: %s = \"%s\", want it to contain \"%s\"\n", __FILE__,   \
			       __LINE__, #hay, h_ ? h_ : "(null)", n_);                            \
			c_failures++;                                                              \
		}                                                                                  \
	} while (0)

/* Run a shell command; its exit status, or -1. */
static inline int c_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int c_sh(const char *fmt, ...)
{
	char cmd[C_CMD_LEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int st = system(cmd);
	return st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Run a shell command and capture its stdout (at most size-1 bytes,
 * trailing newline removed). Its exit status, or -1. */
static inline int c_sh_out(char *out, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static inline int c_sh_out(char *out, size_t size, const char *fmt, ...)
{
	char cmd[C_CMD_LEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	out[0] = '\0';
	FILE *p = popen(cmd, "r");
	if (!p)
		return -1;
	size_t got = fread(out, 1, size - 1, p);
	out[got] = '\0';
	while (got > 0 && out[got - 1] == '\n')
		out[--got] = '\0';
	int st = pclose(p);
	return st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Write TEXT to DIR/NAME with MODE; 0 or -1. */
static inline int c_write(const char *dir, const char *name, const char *text, mode_t mode)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -1;
	size_t len = strlen(text);
	ssize_t w = write(fd, text, len);
	int rc = close(fd);
	if (w != (ssize_t)len || rc < 0)
		return -1;
	return chmod(path, mode) < 0 ? -1 : 0;
}

static inline int c_done(const char *name)
{
	if (c_failures) {
		printf("%s: %d failure(s)\n", name, c_failures);
		return 1;
	}
	printf("%s: ok\n", name);
	return 0;
}

#endif
