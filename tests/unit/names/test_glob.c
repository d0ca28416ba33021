/*
 * Unit tests for backend/names/glob: a table of (pattern, path, is_dir,
 * expected) and the patterns that must be refused. The exhaustive check
 * against git itself is tests/test_glob_oracle.py.
 */
#include "backend/names/glob.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define ERR_LEN 256

struct match_case {
	const char *pattern;
	const char *path;
	bool is_dir;
	bool want;
};

static const struct match_case MATCH_CASES[] = {
	/* basename patterns match at any depth */
	{ "*.yaml", "app.yaml", false, true },
	{ "*.yaml", "a/b/app.yaml", false, true },
	{ "*.yaml", "app.yml", false, false },
	{ "*.y?ml", "app.yml", false, false },
	{ "*.y?ml", "app.yaml", false, true },
	{ "app.yaml", "x/app.yaml", false, true },
	{ "tmp*", "tmpfiles.conf", false, true },
	/* '/' anchors to the root */
	{ "/app.yaml", "app.yaml", false, true },
	{ "/app.yaml", "x/app.yaml", false, false },
	{ "a/app.yaml", "a/app.yaml", false, true },
	{ "a/app.yaml", "x/a/app.yaml", false, false },
	{ "a/*", "a/x", false, true },
	{ "a/*", "a/x/y", false, true }, /* through directory a/x, as git */
	{ "a/*.yaml", "a/x/y.yaml", false, false },
	/* ** forms */
	{ "**/*.yaml", "app.yaml", false, true },
	{ "**/*.yaml", "a/b/c/app.yaml", false, true },
	{ "**/b/*.yaml", "b/x.yaml", false, true },
	{ "**/b/*.yaml", "a/b/x.yaml", false, true },
	{ "nginx/**", "nginx", true, false },
	{ "nginx/**", "nginx/a", false, true },
	{ "nginx/**", "nginx/a/b/c.conf", false, true },
	{ "nginx/**/*.conf", "nginx/x.conf", false, true },
	{ "nginx/**/*.conf", "nginx/a/b/x.conf", false, true },
	{ "nginx/**/*.conf", "other/nginx/x.conf", false, false },
	{ "a**b", "a/b", false, false },
	{ "x/a**b", "x/ayyb", false, true },
	/* directories only */
	{ "build/", "build", true, true },
	{ "build/", "build", false, false },
	{ "build/", "x/build/y", false, true },
	{ "build/", "x/build", false, false },
	/* brackets */
	{ "[abc].conf", "b.conf", false, true },
	{ "[!abc].conf", "b.conf", false, false },
	{ "[^abc].conf", "d.conf", false, true },
	{ "[a-c]x", "bx", false, true },
	{ "[a-c]x", "dx", false, false },
	{ "[]]", "]", false, true },
	{ "[a-]", "-", false, true },
	{ "[[:digit:]]*", "4913", false, true },
	{ "a[/]b", "a/b", false, false },
	{ "a?b", "a/b", false, false },
	/* escapes and spaces */
	{ "\\*", "*", false, true },
	{ "\\*", "x", false, false },
	{ "\\#x", "#x", false, true },
	{ "#x#", "#x#", false, true },
	{ "a ", "a", false, true },
	{ "a\\ ", "a ", false, true },
	{ "a\\ ", "a", false, false },
	/* degenerate paths */
	{ "*", "", false, false },
};

static const char *const BAD_PATTERNS[] = {
	"[a", "a[", "[!", "[]", "x\\", "!x", "", "/", "   ", "[[:nope:]]",
};

static int check_matches(void)
{
	int failures = 0;
	for (size_t i = 0; i < sizeof(MATCH_CASES) / sizeof(MATCH_CASES[0]); i++) {
		const struct match_case *c = &MATCH_CASES[i];
		struct cfgfs_glob *g = NULL;
		char err[ERR_LEN];
		if (cfgfs_glob_compile(&g, c->pattern, err, sizeof(err)) != 0) {
			fprintf(stderr, "FAIL compile %s: %s\n", c->pattern, err);
			failures++;
			continue;
		}
		bool got = cfgfs_glob_match(g, c->path, c->is_dir);
		if (got != c->want) {
			fprintf(stderr, "FAIL %s ~ %s%s: got %d want %d\n", c->pattern,
				c->path, c->is_dir ? "/" : "", got, c->want);
			failures++;
		}
		if (strcmp(cfgfs_glob_pattern(g), c->pattern) != 0) {
			fprintf(stderr, "FAIL pattern text %s\n", c->pattern);
			failures++;
		}
		cfgfs_glob_free(g);
	}
	return failures;
}

static int check_refusals(void)
{
	int failures = 0;
	for (size_t i = 0; i < sizeof(BAD_PATTERNS) / sizeof(BAD_PATTERNS[0]); i++) {
		struct cfgfs_glob *g = NULL;
		char err[ERR_LEN] = "";
		int rc = cfgfs_glob_compile(&g, BAD_PATTERNS[i], err, sizeof(err));
		if (rc != -EINVAL || g != NULL || strncmp(err, "glob '", 6) != 0) {
			fprintf(stderr, "FAIL bad pattern '%s' accepted (rc %d, '%s')\n",
				BAD_PATTERNS[i], rc, err);
			failures++;
		}
		cfgfs_glob_free(g);
	}
	return failures;
}

static int check_long_path(void)
{
	static char path[CFGFS_GLOB_MAX_PATH + 2];
	struct cfgfs_glob *g = NULL;
	if (cfgfs_glob_compile(&g, "*", NULL, 0) != 0)
		return 1;
	memset(path, 'a', sizeof(path) - 1);
	bool too_long = cfgfs_glob_match(g, path, false);
	path[CFGFS_GLOB_MAX_PATH] = '\0';
	bool longest = cfgfs_glob_match(g, path, false);
	cfgfs_glob_free(g);
	if (too_long || !longest) {
		fprintf(stderr, "FAIL long paths: %d %d\n", too_long, longest);
		return 1;
	}
	return 0;
}

int main(void)
{
	int failures = check_matches() + check_refusals() + check_long_path();
	if (failures)
		fprintf(stderr, "%d failure(s)\n", failures);
	return failures ? 1 : 0;
}
