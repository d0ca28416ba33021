/*
 * check.c — `cfgfs check`: read each file, validate it, print the problems.
 */
#include "mountopts/check.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/formats/format.h"
#include "backend/formats/validate.h"
#include "backend/verdict.h"
#include "mountopts/policy.h"

#define CHECK_USAGE "usage: cfgfs check [--policy FILE] [--as PATH] FILE..."
#define CHECK_READ_CHUNK ((size_t)64 * 1024)
#define CHECK_STDIN_NAME "-"

struct check_args {
	const char *as; /* NULL: each FILE's own name decides its format */
	const char *policy; /* NULL: no policy, syntax checks by suffix */
	char **files;   /* points into argv */
	int nfiles;
};

static int usage_error(const char *problem, const char *arg)
{
	if (arg != NULL)
		(void)fprintf(stderr, "cfgfs check: %s '%s'; %s\n", problem, arg, CHECK_USAGE);
	else
		(void)fprintf(stderr, "cfgfs check: %s; %s\n", problem, CHECK_USAGE);
	return CFGFS_CHECK_EXIT_USAGE;
}

/* Options may come before or among the files; "--" ends them. */
static int parse_args(struct check_args *a, int argc, char **argv)
{
	bool options = true;
	int i;

	a->as = NULL;
	a->policy = NULL;
	a->nfiles = 0;
	a->files = calloc((size_t)(argc > 0 ? argc : 1), sizeof(*a->files));
	if (a->files == NULL)
		return usage_error("out of memory", NULL);
	for (i = 1; i < argc; i++) {
		const char *arg = argv[i];
		const char *value = NULL;

		if (options && strcmp(arg, "--") == 0) {
			options = false;
			continue;
		}
		if (options && (strcmp(arg, "--policy") == 0 || strncmp(arg, "--policy=", 9) == 0)) {
			if (arg[8] == '=')
				a->policy = arg + 9;
			else if (i + 1 < argc)
				a->policy = argv[++i];
			else
				return usage_error("missing FILE after", arg);
			if (a->policy[0] == '\0')
				return usage_error("empty FILE after", "--policy");
			continue;
		}
		if (options && strcmp(arg, "--as") == 0) {
			if (i + 1 >= argc)
				return usage_error("missing PATH after", arg);
			value = argv[++i];
		} else if (options && strncmp(arg, "--as=", 5) == 0) {
			value = arg + 5;
		} else if (options && arg[0] == '-' && arg[1] != '\0') {
			return usage_error("unknown option", arg);
		} else {
			a->files[a->nfiles++] = argv[i];
			continue;
		}
		if (a->as != NULL)
			return usage_error("--as given more than once", NULL);
		if (value[0] == '\0')
			return usage_error("empty PATH after", "--as");
		a->as = value;
	}
	if (a->nfiles == 0)
		return usage_error("no FILE given", NULL);
	return CFGFS_CHECK_EXIT_OK;
}

/* Reads up to CAP bytes of FD into *OUT (malloc'd). 0 or -errno. */
static int read_fd(char **out, size_t *out_len, int fd, size_t cap)
{
	char *buf = NULL;
	size_t len = 0, size = 0;
	int rc = 0;

	*out = NULL;
	*out_len = 0;
	while (len < cap) {
		ssize_t n;

		if (len == size) {
			size_t want = size + CHECK_READ_CHUNK;
			char *grown;

			if (want > cap)
				want = cap;
			grown = realloc(buf, want > 0 ? want : 1);
			if (grown == NULL) {
				rc = -ENOMEM;
				goto cleanup;
			}
			buf = grown;
			size = want;
		}
		n = read(fd, buf + len, size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto cleanup;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*out = buf;
	*out_len = len;
	buf = NULL;

cleanup:
	free(buf);
	return rc;
}

/* Reads at most CAP bytes of PATH ("-" is stdin). 0 or -errno. */
static int read_input(char **out, size_t *out_len, const char *path, size_t cap)
{
	int fd, rc;

	if (strcmp(path, CHECK_STDIN_NAME) == 0)
		return read_fd(out, out_len, STDIN_FILENO, cap);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	rc = read_fd(out, out_len, fd, cap);
	if (close(fd) != 0 && rc == 0) {
		rc = -errno;
		free(*out);
		*out = NULL;
	}
	return rc;
}

/* Checks one file; returns true when it passed. *IO_FAILED on a print error. */
static bool check_one(const char *file, const char *as, const struct cfgfs_policy *policy,
                      const struct cfgfs_verdict *verdict, const struct cfgfs_limits *lim,
                      bool *io_failed)
{
	const char *tree_path = as != NULL ? as : file;
	/* the same decision a mount makes (backend/verdict): scratch names are
	 * never validated; format, syntax, schema and check command */
	if (cfgfs_verdict_ignored(verdict, tree_path))
		return true;
	enum cfgfs_format fmt = cfgfs_policy_format_for(policy, tree_path);
	struct cfgfs_diag diag;
	char *buf = NULL;
	size_t len = 0;
	int rc, printed = 0;
	bool ok = false;

	/* One byte past the limit is enough to know the file is too large. */
	rc = read_input(&buf, &len, file, lim->max_size + 1);
	if (rc != 0) {
		printed = printf("%s: cannot read: %s\n", file, strerror(-rc));
		goto cleanup;
	}
	if (len > lim->max_size && (fmt == CFGFS_FORMAT_NONE || fmt == CFGFS_FORMAT_TEXT)) {
		printed =
		    printf("%s: file is larger than the limit of %zu bytes\n", file, lim->max_size);
		goto cleanup;
	}
	rc = cfgfs_verdict_check(verdict, tree_path, buf, len, &diag);
	if (rc == 0) {
		ok = true;
	} else if (rc == -EINVAL || rc == -EFBIG) {
		if (diag.line > 0)
			printed = printf("%s:%u:%u: %s\n", file, diag.line, diag.col, diag.message);
		else
			printed = printf("%s: %s\n", file, diag.message);
	} else {
		printed = printf("%s: cannot check: %s\n", file, strerror(-rc));
	}

cleanup:
	if (printed < 0)
		*io_failed = true;
	free(buf);
	return ok;
}

int cfgfs_check_main(int argc, char **argv)
{
	const struct cfgfs_limits lim = CFGFS_LIMITS_DEFAULT;
	struct check_args args = {0};
	struct cfgfs_policy *policy = NULL;
	struct cfgfs_verdict *verdict = NULL;
	bool all_ok = true, io_failed = false;
	int status, i;
	char err[1024];

	status = parse_args(&args, argc, argv);
	if (status != CFGFS_CHECK_EXIT_OK)
		goto cleanup;
	if (args.policy != NULL) {
		if (cfgfs_policy_load(&policy, args.policy, err, sizeof(err)) < 0) {
			(void)fprintf(stderr, "cfgfs check: %s\n", err);
			status = CFGFS_CHECK_EXIT_USAGE;
			goto cleanup;
		}
	} else if ((policy = cfgfs_policy_default()) == NULL) {
		status = usage_error("out of memory", NULL);
		goto cleanup;
	}
	if (cfgfs_verdict_new(&verdict, policy, lim.max_size, err, sizeof(err)) < 0) {
		(void)fprintf(stderr, "cfgfs check: %s\n", err);
		status = CFGFS_CHECK_EXIT_USAGE;
		goto cleanup;
	}
	for (i = 0; i < args.nfiles; i++)
		if (!check_one(args.files[i], args.as, policy, verdict, &lim, &io_failed))
			all_ok = false;
	status = all_ok ? CFGFS_CHECK_EXIT_OK : CFGFS_CHECK_EXIT_PROBLEM;
	if (fflush(stdout) != 0 || io_failed) {
		(void)fprintf(stderr, "cfgfs check: cannot write the report: %s\n",
		              strerror(errno));
		status = CFGFS_CHECK_EXIT_USAGE;
	}

cleanup:
	cfgfs_verdict_free(verdict);
	cfgfs_policy_free(policy);
	free(args.files);
	return status;
}
