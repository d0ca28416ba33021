/*
 * cmdline.h — the command line and -o options, turned into one immutable
 * configuration.
 *
 * Owns argv parsing for the mount form `cfgfs [-f] [-d] [-o OPT,...] SOURCE
 * MOUNTPOINT`. cfgfs's own options (gitdir=, policy=, fsync=, max_file_size=,
 * log=, settle=) are consumed here; every other -o option is kept, in order,
 * for libfuse. The result is filled once and never changed afterwards, so any
 * thread may read it without a lock. Errors are one line in `err`; the caller
 * prints it and exits 2.
 */
#ifndef CFGFS_CMDLINE_H
#define CFGFS_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>

#define CFGFS_DEFAULT_MAX_FILE_SIZE (16u * 1024 * 1024)
#define CFGFS_DEFAULT_SETTLE_MS 1000
#define CFGFS_MAX_SETTLE_MS 60000
#define CFGFS_MAX_FUSE_OPTS 64

enum cfgfs_log_format { CFGFS_LOG_TEXT, CFGFS_LOG_JSON };

enum cfgfs_cmd { CFGFS_CMD_MOUNT, CFGFS_CMD_HELP, CFGFS_CMD_VERSION };

struct cfgfs_config {
	enum cfgfs_cmd cmd;
	bool foreground;
	bool debug;
	char *source;     /* absolute, canonical */
	char *mountpoint; /* absolute, canonical */
	char *gitdir;     /* absolute; default SOURCE/.git */
	char *policy;     /* absolute or NULL */
	bool fsync;
	size_t max_file_size;
	unsigned settle_ms;
	enum cfgfs_log_format log_format;
	bool read_only;
	/* options for libfuse, each "-o" "opt" pair flattened to "opt" */
	char *fuse_opts[CFGFS_MAX_FUSE_OPTS];
	size_t n_fuse_opts;
};

/* Parse argv. 0, or -EINVAL with a one-line reason in err; -ENOTCONN with
 * just the path in err when SOURCE or MOUNTPOINT is a dead FUSE mount (a
 * daemon that was killed): the caller may clear it and parse again. */
int cfgfs_cmdline_parse(struct cfgfs_config *out, int argc, char **argv, char *err, size_t errlen);

void cfgfs_cmdline_free(struct cfgfs_config *cfg);

/* Usage text for --help. */
void cfgfs_cmdline_usage(const char *prog);

#endif
