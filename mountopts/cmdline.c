/* cmdline.c — see cmdline.h. */
#include "mountopts/cmdline.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* mount(8) passes these generic options; libfuse knows them or they mean
 * nothing to a FUSE daemon, so they are dropped rather than refused. */
static const char *const ignored_mount_opts[] = {
	"defaults", "auto", "noauto", "user", "nouser", "users", "_netdev", "nofail", NULL,
};

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int parse_size(const char *s, size_t *out)
{
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -EINVAL;
	unsigned long long mul = 1;
	if (*end == 'k' || *end == 'K')
		mul = 1024ull, end++;
	else if (*end == 'm' || *end == 'M')
		mul = 1024ull * 1024, end++;
	else if (*end == 'g' || *end == 'G')
		mul = 1024ull * 1024 * 1024, end++;
	if (*end != '\0' || v == 0 || v > SIZE_MAX / mul)
		return -EINVAL;
	*out = (size_t)(v * mul);
	return 0;
}

static int parse_ms(const char *s, unsigned *out)
{
	char *end = NULL;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -EINVAL;
	if (strcmp(end, "ms") == 0 || *end == '\0')
		;
	else if (strcmp(end, "s") == 0)
		v *= 1000;
	else
		return -EINVAL;
	if (v > CFGFS_MAX_SETTLE_MS)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

static int keep_fuse_opt(struct cfgfs_config *cfg, const char *opt, char *err, size_t errlen)
{
	for (size_t i = 0; ignored_mount_opts[i]; i++)
		if (strcmp(opt, ignored_mount_opts[i]) == 0)
			return 0;
	if (strncmp(opt, "x-", 2) == 0 || strncmp(opt, "comment=", 8) == 0)
		return 0;
	if (cfg->n_fuse_opts >= CFGFS_MAX_FUSE_OPTS)
		return fail(err, errlen, "too many -o options");
	cfg->fuse_opts[cfg->n_fuse_opts] = strdup(opt);
	if (!cfg->fuse_opts[cfg->n_fuse_opts])
		return -ENOMEM;
	cfg->n_fuse_opts++;
	return 0;
}

static int set_path(char **slot, const char *val, const char *what, char *err, size_t errlen)
{
	if (*val == '\0')
		return fail(err, errlen, "option %s= needs a path", what);
	char *abs = NULL;
	if (val[0] == '/') {
		abs = strdup(val);
	} else {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof(cwd)))
			return fail(err, errlen, "cannot get the current directory: %s",
				    strerror(errno));
		if (asprintf(&abs, "%s/%s", cwd, val) < 0)
			abs = NULL;
	}
	if (!abs)
		return -ENOMEM;
	free(*slot);
	*slot = abs;
	return 0;
}

static int parse_one_opt(struct cfgfs_config *cfg, const char *opt, char *err, size_t errlen)
{
	const char *eq = strchr(opt, '=');
	size_t klen = eq ? (size_t)(eq - opt) : strlen(opt);
	const char *val = eq ? eq + 1 : NULL;
#define KEY(k) (klen == sizeof(k) - 1 && strncmp(opt, k, klen) == 0)
	if (KEY("gitdir")) {
		if (!val)
			return fail(err, errlen, "option gitdir needs a value: gitdir=PATH");
		return set_path(&cfg->gitdir, val, "gitdir", err, errlen);
	}
	if (KEY("policy")) {
		if (!val)
			return fail(err, errlen, "option policy needs a value: policy=FILE");
		return set_path(&cfg->policy, val, "policy", err, errlen);
	}
	if (KEY("fsync")) {
		if (val && strcmp(val, "on") == 0)
			cfg->fsync = true;
		else if (val && strcmp(val, "off") == 0)
			cfg->fsync = false;
		else
			return fail(err, errlen, "option fsync must be fsync=on or fsync=off");
		return 0;
	}
	if (KEY("max_file_size")) {
		if (!val || parse_size(val, &cfg->max_file_size) < 0)
			return fail(err, errlen,
				    "option max_file_size must be a positive byte count "
				    "(suffix K, M or G allowed), got '%s'",
				    val ? val : "");
		return 0;
	}
	if (KEY("settle")) {
		if (!val || parse_ms(val, &cfg->settle_ms) < 0)
			return fail(err, errlen,
				    "option settle must be a duration up to 60s such as 500ms or "
				    "1s, got '%s'",
				    val ? val : "");
		return 0;
	}
	if (KEY("log")) {
		if (val && strcmp(val, "text") == 0)
			cfg->log_format = CFGFS_LOG_TEXT;
		else if (val && strcmp(val, "json") == 0)
			cfg->log_format = CFGFS_LOG_JSON;
		else
			return fail(err, errlen, "option log must be log=text or log=json");
		return 0;
	}
#undef KEY
	if (strcmp(opt, "ro") == 0)
		cfg->read_only = true;
	if (strcmp(opt, "rw") == 0)
		return 0;
	return keep_fuse_opt(cfg, opt, err, errlen);
}

static int parse_opt_list(struct cfgfs_config *cfg, const char *list, char *err, size_t errlen)
{
	char *copy = strdup(list);
	if (!copy)
		return -ENOMEM;
	int rc = 0;
	char *save = NULL;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		rc = parse_one_opt(cfg, tok, err, errlen);
		if (rc < 0)
			break;
	}
	free(copy);
	return rc;
}

static int canonical_dir(char **out, const char *path, const char *what, char *err, size_t errlen)
{
	char *real = realpath(path, NULL);
	if (!real && errno == ENOTCONN) {
		/* the dead mount of a cfgfs that was killed: name it exactly */
		snprintf(err, errlen, "%s", path);
		return -ENOTCONN;
	}
	if (!real)
		return fail(err, errlen, "%s '%s': %s", what, path, strerror(errno));
	struct stat st;
	int rc = stat(real, &st);
	if (rc == 0) {
		/* a dead FUSE mount can still answer stat from the kernel */
		int fd = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0)
			close(fd);
		else if (errno == ENOTCONN)
			rc = -1;
	}
	if (rc < 0 && errno == ENOTCONN) {
		snprintf(err, errlen, "%s", real);
		free(real);
		return -ENOTCONN;
	}
	if (rc < 0 || !S_ISDIR(st.st_mode)) {
		free(real);
		return fail(err, errlen, "%s '%s' is not a directory", what, path);
	}
	*out = real;
	return 0;
}

int cfgfs_cmdline_parse(struct cfgfs_config *cfg, int argc, char **argv, char *err, size_t errlen)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->fsync = true;
	cfg->max_file_size = CFGFS_DEFAULT_MAX_FILE_SIZE;
	cfg->settle_ms = CFGFS_DEFAULT_SETTLE_MS;
	cfg->log_format = CFGFS_LOG_TEXT;
	const char *pos[2] = {NULL, NULL};
	int npos = 0;
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			cfg->cmd = CFGFS_CMD_HELP;
			return 0;
		}
		if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0) {
			cfg->cmd = CFGFS_CMD_VERSION;
			return 0;
		}
		if (strcmp(a, "-f") == 0) {
			cfg->foreground = true;
		} else if (strcmp(a, "-d") == 0) {
			cfg->debug = true;
			cfg->foreground = true;
		} else if (strcmp(a, "-s") == 0) {
			/* single-threaded: accepted for compatibility, ignored */
		} else if (strncmp(a, "-o", 2) == 0) {
			const char *list = a[2] ? a + 2 : (i + 1 < argc ? argv[++i] : NULL);
			if (!list) {
				rc = fail(err, errlen, "option -o needs a value");
				goto fail;
			}
			rc = parse_opt_list(cfg, list, err, errlen);
			if (rc < 0)
				goto fail;
		} else if (a[0] == '-' && a[1] != '\0') {
			rc = fail(err, errlen, "unknown option '%s' (see cfgfs --help)", a);
			goto fail;
		} else if (npos < 2) {
			pos[npos++] = a;
		} else {
			rc = fail(err, errlen, "unexpected argument '%s' (see cfgfs --help)", a);
			goto fail;
		}
	}
	if (npos < 2) {
		rc = fail(err, errlen, "usage: cfgfs [-f] [-d] [-o OPT[,OPT...]] SOURCE MOUNTPOINT");
		goto fail;
	}
	rc = canonical_dir(&cfg->source, pos[0], "SOURCE", err, errlen);
	if (rc < 0)
		goto fail;
	rc = canonical_dir(&cfg->mountpoint, pos[1], "MOUNTPOINT", err, errlen);
	if (rc < 0)
		goto fail;
	if (!cfg->gitdir && asprintf(&cfg->gitdir, "%s/.git", cfg->source) < 0) {
		cfg->gitdir = NULL;
		rc = -ENOMEM;
		goto fail;
	}
	if (cfg->policy && access(cfg->policy, R_OK) < 0) {
		rc = fail(err, errlen, "policy '%s': %s", cfg->policy, strerror(errno));
		goto fail;
	}
	return 0;
fail:
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	cfgfs_cmdline_free(cfg);
	return rc;
}

void cfgfs_cmdline_free(struct cfgfs_config *cfg)
{
	free(cfg->source);
	free(cfg->mountpoint);
	free(cfg->gitdir);
	free(cfg->policy);
	for (size_t i = 0; i < cfg->n_fuse_opts; i++)
		free(cfg->fuse_opts[i]);
	memset(cfg, 0, sizeof(*cfg));
}

void cfgfs_cmdline_usage(const char *prog)
{
	printf("usage: %s [-f] [-d] [-o OPT[,OPT...]] SOURCE MOUNTPOINT\n"
	       "       %s check [--policy FILE] [--as PATH] FILE...\n"
	       "       %s --version | --help\n"
	       "\n"
	       "Serve the configuration tree SOURCE at MOUNTPOINT (which may be SOURCE\n"
	       "itself). Every save is validated and committed to a git store before\n"
	       "it becomes visible; past versions are under MOUNTPOINT/.history/.\n"
	       "\n"
	       "  -f                 stay in the foreground, log to stderr\n"
	       "  -d                 FUSE debug output (implies -f)\n"
	       "  -o gitdir=PATH     the git store (default SOURCE/.git)\n"
	       "  -o policy=FILE     the policy file (rules, ignore, hooks)\n"
	       "  -o fsync=on|off    fsync the store before a save is acknowledged (on)\n"
	       "  -o max_file_size=N larger writes fail with EFBIG (16M)\n"
	       "  -o settle=DUR      how long a vanished file may wait for its re-save\n"
	       "                     before the delete is committed (1s)\n"
	       "  -o log=text|json   log line format (text)\n"
	       "  -o allow_other, default_permissions, ro, ...  the usual FUSE options\n",
	       prog, prog, prog);
}
