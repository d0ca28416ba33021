/*
 * glob-probe PATTERN PATH... — print 1 or 0 per PATH: does PATTERN match it?
 *
 * A PATH ending in '/' names a directory (the '/' is dropped before
 * matching). Exists so tests/test_glob_oracle.py can compare the matcher
 * with `git check-ignore --no-index`. Exit 2 when PATTERN does not compile.
 */
#include "backend/names/glob.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROBE_ERR_LEN 256

int main(int argc, char **argv)
{
	struct cfgfs_glob *g = NULL;
	char err[PROBE_ERR_LEN];
	int status = 2;

	if (argc < 2) {
		fprintf(stderr, "usage: glob-probe PATTERN PATH...\n");
		return 2;
	}
	if (cfgfs_glob_compile(&g, argv[1], err, sizeof(err)) < 0) {
		fprintf(stderr, "glob-probe: %s\n", err);
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		char *path = strdup(argv[i]);
		if (!path) {
			fprintf(stderr, "glob-probe: out of memory\n");
			goto cleanup;
		}
		size_t len = strlen(path);
		bool is_dir = len > 0 && path[len - 1] == '/';
		if (is_dir)
			path[len - 1] = '\0';
		bool m = cfgfs_glob_match(g, path, is_dir);
		free(path);
		if (printf("%d\n", m ? 1 : 0) < 0)
			goto cleanup;
	}
	if (fflush(stdout) != 0)
		goto cleanup;
	status = 0;
cleanup:
	cfgfs_glob_free(g);
	return status;
}
