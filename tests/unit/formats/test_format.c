/*
 * test_format.c — a file's format from the name it is saved under.
 */
#include <stdio.h>
#include <string.h>

#include "backend/formats/format.h"

struct fcase {
	const char *path;
	enum cfgfs_format fmt;
};

static const struct fcase CASES[] = {
    {"app.yaml", CFGFS_FORMAT_YAML},   {"dir/app.yml", CFGFS_FORMAT_YAML},
    {"a/b/c.json", CFGFS_FORMAT_JSON}, {"APP.YAML", CFGFS_FORMAT_YAML},
    {".yaml", CFGFS_FORMAT_NONE},      {"dir/.json", CFGFS_FORMAT_NONE},
    {"app.yaml~", CFGFS_FORMAT_NONE},  {"app.yaml.swp", CFGFS_FORMAT_NONE},
    {"yaml", CFGFS_FORMAT_NONE},       {"dir.yaml/file", CFGFS_FORMAT_NONE},
    {"nginx.conf", CFGFS_FORMAT_NONE}, {"", CFGFS_FORMAT_NONE},
    {NULL, CFGFS_FORMAT_NONE},
};

int main(void)
{
	size_t i, n = sizeof(CASES) / sizeof(CASES[0]);
	int failures = 0;

	for (i = 0; i < n; i++) {
		enum cfgfs_format got = cfgfs_format_from_name(CASES[i].path);

		if (got != CASES[i].fmt) {
			printf("FAIL %s: want %s got %s\n",
			       CASES[i].path ? CASES[i].path : "(null)",
			       cfgfs_format_name(CASES[i].fmt), cfgfs_format_name(got));
			failures++;
		}
	}
	if (strcmp(cfgfs_format_name(CFGFS_FORMAT_JSON), "json") != 0 ||
	    strcmp(cfgfs_format_name(CFGFS_FORMAT_TEXT), "text") != 0)
		failures++;
	printf("%zu format cases, %d failures\n", n, failures);
	return failures == 0 ? 0 : 1;
}
